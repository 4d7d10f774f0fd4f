//! Benchmark input: a synthetic `snapshot save` file of about `mib` MiB — a bolt db with
//! etcd's buckets, a `key` bucket of mvccpb.KeyValue revisions with 1–100 KiB values, and
//! the SHA-256 trailer — written with etcd-snap's bolt writer.

use std::io::Write;
use std::path::Path;

use prost::Message;

use etcd_snap::bolt::Db;
use etcd_snap::bolt::write::{LeafItem, Patcher};
use etcd_snap::mvcc::{KeyValue, Revision, RevisionKey};
use sha2::{Digest, Sha256};

/// bbolt's fresh file (4 KiB pages), as etcd-snap's salvage and restore create it.
pub fn fresh_db(path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    if path.exists() {
        std::fs::remove_file(path)?;
    }
    Ok(etcd_snap::bolt::salvage::create_empty(path, 4096)?)
}

/// Write the snapshot to `path` (once; an existing file is kept). Returns its size.
pub fn ensure_snapshot(path: &Path, mib: u64) -> Result<u64, Box<dyn std::error::Error>> {
    if let Ok(m) = std::fs::metadata(path) {
        if m.len() % 512 == 32 {
            return Ok(m.len());
        }
    }
    fresh_db(path)?;
    let db = Db::open(path)?;
    let mut p = Patcher::open(&db)?;
    // Revisions until about `mib` MiB of values: Kubernetes-sized objects (1-100 KiB).
    let target = mib << 20;
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut total = 0u64;
    let mut n = 0u64;
    let keys = std::iter::from_fn(|| {
        if total >= target {
            return None;
        }
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        n += 1;
        let len = 1024 + (rng % (99 * 1024)) as usize;
        total += len as u64;
        let k = RevisionKey {
            rev: Revision {
                main: n as i64,
                sub: 0,
            },
            tombstone: false,
        };
        let kv = KeyValue {
            key: format!("/registry/pods/default/pod-{}", n % 10_000).into_bytes(),
            create_revision: n as i64,
            mod_revision: n as i64,
            version: 1,
            value: vec![(n % 251) as u8; len],
            lease: 0,
        };
        Some(Ok(LeafItem::kv(k.encode(), kv.encode_to_vec())))
    });
    let key_root = p.write_tree(keys)?;
    let mut root = Vec::new();
    for (name, value) in [
        (
            &b"key"[..],
            etcd_snap::bolt::write::bucket_value(key_root, 0),
        ),
        (b"members", p.bucket_from_items(0, Vec::new())?),
        (b"members_removed", p.bucket_from_items(0, Vec::new())?),
        (
            b"meta",
            p.bucket_from_items(
                0,
                vec![
                    LeafItem::kv(b"consistent_index".to_vec(), n.to_be_bytes().to_vec()),
                    LeafItem::kv(b"term".to_vec(), 2u64.to_be_bytes().to_vec()),
                ],
            )?,
        ),
    ] {
        root.push(Ok(LeafItem {
            flags: etcd_snap::bolt::LEAF_FLAG_BUCKET,
            key: name.to_vec(),
            value,
        }));
    }
    let root = p.write_tree(root)?;
    p.commit(root)?;
    // Like `snapshot save`: exactly pgid pages, then the SHA-256 of them.
    let db = Db::open(path)?;
    let len = db.size();
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)?;
    f.set_len(len)?;
    let mut h = Sha256::new();
    let mut r = std::io::Read::take(&f, len);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let k = std::io::Read::read(&mut r, &mut buf)?;
        if k == 0 {
            break;
        }
        h.update(buf.get(..k).unwrap_or_default());
    }
    let mut f = f;
    std::io::Seek::seek(&mut f, std::io::SeekFrom::End(0))?;
    f.write_all(&h.finalize())?;
    f.sync_all()?;
    Ok(len + 32)
}
