//! The db that goes with the benchmark's WAL: every put of the WAL applied as etcd applies
//! it (revision = index + 1, create revision and version per key), the `meta` bucket at
//! the WAL's last index, one member — written with etcd-snap's bolt writer while the WAL is
//! read (a scan thread feeds the bulk tree builder; memory stays bounded).

use std::collections::HashMap;
use std::path::Path;
use std::sync::mpsc::sync_channel;

use prost::Message;

use etcd_proto::pb::etcdserverpb::InternalRaftRequest;
use etcd_snap::bolt::Db;
use etcd_snap::bolt::write::{LeafItem, Patcher, bucket_value};
use etcd_snap::mvcc::{KeyValue, Revision, RevisionKey};
use etcd_wal::scan::Event;

/// Make sure `member` holds the WAL of `wal` (its segments hard-linked into `member/wal`)
/// and `member/snap/db` for it (once; marked complete by `member/snap/.complete`). Returns
/// the db's size in bytes.
pub fn ensure_db(member: &Path, wal: &Path, node: u64) -> Result<u64, Box<dyn std::error::Error>> {
    let snap = member.join("snap");
    let path = snap.join("db");
    let done = snap.join(".complete");
    if done.exists() {
        return Ok(std::fs::metadata(&path)?.len());
    }
    if member.exists() {
        std::fs::remove_dir_all(member)?;
    }
    let linked = member.join("wal");
    std::fs::create_dir_all(&linked)?;
    for e in std::fs::read_dir(wal)? {
        let e = e?;
        std::fs::hard_link(e.path(), linked.join(e.file_name()))?;
    }
    std::fs::create_dir_all(&snap)?;
    crate::snapgen::fresh_db(&path)?;
    let db = Db::open(&path)?;
    let mut p = Patcher::open(&db)?;
    let wal = linked;
    let (tx, rx) = sync_channel::<(u64, Vec<u8>, Vec<u8>)>(256);
    let scanner = std::thread::spawn(move || {
        etcd_wal::scan::scan_dir_with(&wal, &mut |e| {
            if let Event::Record(r) = e {
                if let Some(entry) = r.entry {
                    if let Ok(irr) = InternalRaftRequest::decode(entry.data) {
                        if let Some(put) = irr.put {
                            let _ = tx.send((entry.index, put.key, put.value));
                        }
                    }
                }
            }
        })
        .map(|_| ())
        .map_err(|e| e.to_string())
    });
    let mut keys: HashMap<Vec<u8>, (i64, i64)> = HashMap::new();
    let mut last = 0u64;
    let items = rx.into_iter().map(|(index, key, value)| {
        last = index;
        let rev = index as i64 + 1;
        let (create, version) = keys.entry(key.clone()).or_insert((rev, 0));
        *version += 1;
        let kv = KeyValue {
            key,
            create_revision: *create,
            mod_revision: rev,
            version: *version,
            value,
            lease: 0,
        };
        let k = RevisionKey {
            rev: Revision { main: rev, sub: 0 },
            tombstone: false,
        };
        Ok(LeafItem::kv(k.encode(), kv.encode_to_vec()))
    });
    let key_root = p.write_tree(items)?;
    scanner.join().map_err(|_| "WAL scan thread panicked")??;
    let member_json = format!(
        "{{\"id\":{node},\"peerURLs\":[\"http://127.0.0.1:2380\"],\"name\":\"bench\",\"clientURLs\":[\"http://127.0.0.1:2379\"]}}"
    );
    let mut root = Vec::new();
    for (name, value) in [
        (&b"key"[..], bucket_value(key_root, 0)),
        (
            b"members",
            p.bucket_from_items(
                0,
                vec![LeafItem::kv(
                    format!("{node:x}").into_bytes(),
                    member_json.into_bytes(),
                )],
            )?,
        ),
        (b"members_removed", p.bucket_from_items(0, Vec::new())?),
        (
            b"meta",
            p.bucket_from_items(
                0,
                vec![
                    LeafItem::kv(b"consistent_index".to_vec(), last.to_be_bytes().to_vec()),
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
    std::fs::File::create(&done)?;
    Ok(std::fs::metadata(&path)?.len())
}
