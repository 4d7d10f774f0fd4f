//! Benchmark input: write a synthetic `snapshot save` file of about SIZE MiB (default 1024)
//! — a bolt db with etcd's buckets, a `key` bucket of SIZE MiB of 1 KiB values, and the
//! SHA-256 trailer — to time `wal-inspect snapshot restore` against `cp` + `sync`:
//!
//! ```text
//! cargo run --release -p etcd-snap --example gen_snapshot -- /tmp/big.db 1024
//! /usr/bin/time -v wal-inspect snapshot restore /tmp/big.db --data-dir /tmp/r
//! time (cp /tmp/big.db /tmp/copy && sync /tmp/copy)
//! ```

use std::io::Write;

use etcd_snap::bolt::Db;
use etcd_snap::bolt::write::{LeafItem, MetaFields, Patcher, encode_leaf, encode_meta};
use etcd_snap::mvcc::{Revision, RevisionKey};
use sha2::{Digest, Sha256};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: gen_snapshot PATH [SIZE_MIB]")?;
    let mib: u64 = args.next().map_or(Ok(1024), |s| s.parse())?;
    let ps = 4096u32;
    // bbolt's fresh file: metas (txid 0, 1) with root page 3, page 2 unused, empty root leaf.
    let mut f = std::fs::File::create(&path)?;
    for slot in 0..2u64 {
        let m = MetaFields {
            page_size: ps,
            root: 3,
            sequence: 0,
            freelist: u64::MAX,
            pgid: 4,
            txid: slot,
        };
        f.write_all(&encode_meta(slot, &m))?;
    }
    f.write_all(&vec![0u8; ps as usize])?;
    f.write_all(&encode_leaf(3, &[], ps))?;
    drop(f);
    let db = Db::open(&path)?;
    let mut p = Patcher::open(&db)?;
    let n = mib * 1024;
    let keys = (1..=n).map(|i| {
        let k = RevisionKey {
            rev: Revision {
                main: i as i64,
                sub: 0,
            },
            tombstone: false,
        };
        Ok(LeafItem::kv(k.encode(), vec![(i % 251) as u8; 1000]))
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
    let db = Db::open(&path)?;
    let len = db.size();
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)?;
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
    println!("{path}: {} bytes, {n} revisions", len + 32);
    Ok(())
}
