//! The cross-check's apply model, reached directly: the input is a program that writes a
//! well-formed WAL (every record framed and CRC-chained by `SegmentBuilder`, so nothing dies
//! in framing) of structured requests — puts, deletes, nested txns with compares, leases,
//! alarms, auth, compactions, raw entry payloads — with commits, raft overwrites, holes and
//! segment breaks, plus the db records (`key` bucket) and `meta`/`auth`/`alarm` buckets of a
//! small bolt file to compare with. Then the CLI's path: scan → `observe` → `compare`.
//!
//! Input: byte 0 flags (bit 0 auth on in the db, 1 alarm in the db, 2 set the check up with
//! `ValueCheck::new` instead of `for_db`, 3 consistent index `u64::MAX`), byte 1 first index
//! − 1, byte 2 consistent index − first index, then ops (one byte each, followed by their
//! operands; see `op`). Keys come from a small alphabet so that operations meet.
#![no_main]

use etcd_snap::bolt::Db;
use etcd_snap::bolt::write::LeafItem;
use etcd_member::crosscheck::ValueCheck;
use etcd_snap::mvcc::{KeyValue, Revision, RevisionKey};
use etcd_proto::pb::etcdserverpb::{
    AlarmRequest, AuthDisableRequest, AuthEnableRequest, CompactionRequest, Compare,
    DeleteRangeRequest, InternalAuthenticateRequest, InternalRaftRequest, LeaseGrantRequest,
    LeaseRevokeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest, compare::TargetUnion,
    request_op::Request as Op,
};
use etcd_proto::pb::raftpb::{Entry, HardState};
use etcd_wal::writer::SegmentBuilder;
use libfuzzer_sys::fuzz_target;
use prost::Message;
use wal_inspect_fuzz::{Budget, fresh_dir, put, small_db};

struct Src<'a>(&'a [u8]);

impl Src<'_> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    fn bytes(&mut self) -> Vec<u8> {
        let n = (self.u8() as usize).min(self.0.len());
        let (b, rest) = self.0.split_at(n);
        self.0 = rest;
        b.to_vec()
    }
    fn int(&mut self) -> i64 {
        // Mostly small (revisions, versions, lease IDs that meet), sometimes extreme.
        match self.u8() {
            0xff => i64::MAX,
            0xfe => i64::MIN,
            0xfd => -1,
            b => i64::from(b % 32),
        }
    }
    fn key(&mut self) -> Vec<u8> {
        let b = self.u8();
        match b {
            0xff => self.bytes(),
            0xfe => Vec::new(),
            _ => vec![b'a' + b % 6; 1 + (b / 6 % 2) as usize],
        }
    }
    /// A range end: the key only, every key from it, or up to another key.
    fn end(&mut self) -> Vec<u8> {
        match self.u8() % 4 {
            0 | 1 => Vec::new(),
            2 => b"\0".to_vec(),
            _ => self.key(),
        }
    }
    fn value(&mut self) -> Vec<u8> {
        match self.u8() {
            0xff => vec![b'v'; 100], // longer than the kept head
            0xfe => self.bytes(),
            b => vec![b'0' + b % 4],
        }
    }
    fn put(&mut self) -> PutRequest {
        let flags = self.u8();
        PutRequest {
            key: self.key(),
            value: self.value(),
            lease: if flags & 1 != 0 { self.int() } else { 0 },
            prev_kv: false,
            ignore_value: flags & 2 != 0,
            ignore_lease: flags & 4 != 0,
        }
    }
    fn txn(&mut self, depth: u32) -> TxnRequest {
        let n = self.u8();
        let mut t = TxnRequest::default();
        for _ in 0..n % 4 {
            let c = self.u8();
            let target = i32::from(c % 6); // 5: not a target
            t.compare.push(Compare {
                result: i32::from(c / 6 % 5), // 4: not a result
                target,
                key: self.key(),
                target_union: match target {
                    0 => Some(TargetUnion::Version(self.int())),
                    1 => Some(TargetUnion::CreateRevision(self.int())),
                    2 => Some(TargetUnion::ModRevision(self.int())),
                    3 => Some(TargetUnion::Value(self.value())),
                    4 => Some(TargetUnion::Lease(self.int())),
                    _ => None,
                },
                range_end: self.end(),
            });
        }
        for branch in 0..2 {
            let m = self.u8();
            for _ in 0..m % 4 {
                let op = match self.u8() % 4 {
                    0 => Op::RequestPut(self.put()),
                    1 => Op::RequestDeleteRange(DeleteRangeRequest {
                        key: self.key(),
                        range_end: self.end(),
                        prev_kv: false,
                    }),
                    2 if depth < 4 => Op::RequestTxn(self.txn(depth + 1)),
                    _ => Op::RequestRange(RangeRequest {
                        key: self.key(),
                        revision: self.int(),
                        ..RangeRequest::default()
                    }),
                };
                let op = RequestOp { request: Some(op) };
                if branch == 0 {
                    t.success.push(op);
                } else {
                    t.failure.push(op);
                }
            }
        }
        t
    }
}

struct Wal {
    segments: Vec<Vec<u8>>,
    seg: SegmentBuilder,
    index: u64,
    term: u64,
}

impl Wal {
    fn entry(&mut self, entry_type: i32, data: Vec<u8>) {
        self.index = self.index.wrapping_add(1);
        self.seg.entry(&Entry {
            r#type: entry_type,
            term: self.term,
            index: self.index,
            data,
        });
    }
    fn request(&mut self, irr: InternalRaftRequest) {
        self.entry(0, irr.encode_to_vec());
    }
}

fn kv_item(main: i64, tombstone: bool, kv: &KeyValue) -> LeafItem {
    let rk = RevisionKey {
        rev: Revision { main, sub: 0 },
        tombstone,
    };
    LeafItem::kv(rk.encode(), kv.encode_to_vec())
}

fuzz_target!(|data: &[u8]| {
    let mut src = Src(data);
    let flags = src.u8();
    let first = u64::from(src.u8()) + 1;
    let ci = if flags & 8 != 0 {
        u64::MAX
    } else {
        first + u64::from(src.u8())
    };
    let mut wal = Wal {
        segments: Vec::new(),
        seg: SegmentBuilder::new(0),
        index: first - 1,
        term: 1,
    };
    wal.seg.metadata(1, 1);
    let mut keys: Vec<LeafItem> = Vec::new();
    let mut compact: Option<i64> = None;
    let mut ops = 0;
    while !src.0.is_empty() && ops < 2048 {
        ops += 1;
        let mut irr = InternalRaftRequest {
            id: ops,
            ..InternalRaftRequest::default()
        };
        match src.u8() % 18 {
            0..=2 => irr.put = Some(src.put()),
            3 => {
                irr.delete_range = Some(DeleteRangeRequest {
                    key: src.key(),
                    range_end: src.end(),
                    prev_kv: false,
                })
            }
            4 | 5 => irr.txn = Some(src.txn(0)),
            6 => {
                irr.lease_grant = Some(LeaseGrantRequest {
                    ttl: 60,
                    id: src.int(),
                })
            }
            7 => irr.lease_revoke = Some(LeaseRevokeRequest { id: src.int() }),
            8 => {
                let b = src.u8();
                irr.alarm = Some(AlarmRequest {
                    action: i32::from(b % 4),
                    member_id: u64::from(b / 4 % 2),
                    alarm: i32::from(b / 8 % 4),
                })
            }
            9 => match src.u8() % 3 {
                0 => irr.auth_enable = Some(AuthEnableRequest {}),
                1 => irr.auth_disable = Some(AuthDisableRequest {}),
                _ => irr.authenticate = Some(InternalAuthenticateRequest::default()),
            },
            10 => {
                irr.compaction = Some(CompactionRequest {
                    revision: src.int(),
                    physical: false,
                })
            }
            11 => {
                // A raw entry: any type, any data.
                let ty = i32::from(src.u8() % 4);
                let d = src.bytes();
                wal.entry(ty, d);
                continue;
            }
            12 => {
                // A HardState: commit at, before or after the last entry.
                let d = src.u8();
                let commit = match d {
                    0xff => u64::MAX,
                    _ => wal.index.saturating_sub(u64::from(d % 4)) + u64::from(d / 64),
                };
                wal.seg.hard_state(&HardState {
                    term: wal.term,
                    vote: 1,
                    commit,
                });
                continue;
            }
            13 => {
                // The next entry overwrites earlier ones (new term) or leaves a hole.
                let d = src.u8();
                if d & 0x80 != 0 {
                    wal.index = wal.index.saturating_sub(u64::from(d & 0x7f));
                    wal.term += 1;
                } else {
                    wal.index = wal.index.saturating_add(u64::from(d));
                }
                continue;
            }
            14 => {
                // Next segment, continuing the CRC chain.
                let crc = wal.seg.crc();
                let done = std::mem::replace(&mut wal.seg, SegmentBuilder::new(crc));
                wal.segments.push(done.finish(None));
                continue;
            }
            15 | 16 => {
                // A db record of the `key` bucket.
                let b = src.u8();
                let kv = KeyValue {
                    key: src.key(),
                    create_revision: src.int(),
                    mod_revision: src.int(),
                    version: src.int(),
                    value: src.value(),
                    lease: if b & 1 != 0 { src.int() } else { 0 },
                };
                let main = src.int();
                let mut item = kv_item(main, b & 2 != 0, &kv);
                if b & 4 != 0 {
                    // Damage the record's KeyValue.
                    item.value
                        .truncate(usize::from(b >> 3) % (item.value.len() + 1));
                }
                keys.push(item);
                continue;
            }
            _ => {
                if src.u8() & 1 == 0 {
                    irr.range = Some(RangeRequest::default());
                } else {
                    compact = Some(src.int());
                    continue;
                }
            }
        }
        wal.request(irr);
    }
    wal.segments.push(wal.seg.finish(None));

    keys.sort_by(|a, b| a.key.cmp(&b.key));
    keys.dedup_by(|a, b| a.key == b.key);
    keys.truncate(0xfff0);
    let mut meta = vec![LeafItem::kv(b"consistent_index".to_vec(), ci.to_be_bytes())];
    if let Some(c) = compact {
        let rk = RevisionKey {
            rev: Revision { main: c, sub: 0 },
            tombstone: false,
        };
        meta.push(LeafItem::kv(b"finishedCompactRev".to_vec(), rk.encode()));
    }
    let mut buckets: Vec<(&[u8], Vec<LeafItem>)> = Vec::new();
    if flags & 2 != 0 {
        // etcdserverpb.AlarmMember {member_id: 1, alarm: NOSPACE}
        buckets.push((b"alarm", vec![LeafItem::kv(vec![8, 1, 16, 1], Vec::new())]));
    }
    if flags & 1 != 0 {
        buckets.push((b"auth", vec![LeafItem::kv(b"authEnabled".to_vec(), [1u8])]));
    }
    buckets.push((b"key", keys));
    buckets.push((b"meta", meta));

    let wal_dir = fresh_dir("value_model_wal");
    for (i, s) in wal.segments.iter().enumerate() {
        put(
            &wal_dir,
            &format!("{i:016x}-{:016x}.wal", first + i as u64),
            s,
        );
    }
    let snap_dir = fresh_dir("value_model_snap");
    let db_path = put(&snap_dir, "db", &small_db(&buckets));

    // The WAL and the db are at most a few times the program's size; the bound is the
    // other targets' for the bytes actually read.
    let n = data.len() + wal.segments.iter().map(Vec::len).sum::<usize>();
    let _budget = Budget::new(n);
    let db = Db::open(&db_path).expect("small_db writes a valid db");
    let mut check = if flags & 4 != 0 {
        ValueCheck::new(ci, flags & 1 != 0, flags & 2 != 0)
    } else {
        ValueCheck::for_db(&db)
            .expect("small_db's buckets read")
            .expect("small_db has a consistent index")
    };
    etcd_wal::scan::scan_dir_with(&wal_dir, &mut |e| check.observe(&e))
        .expect("readable segments scan");
    let report = check.compare(&db).expect("small_db's key bucket reads");
    assert!(report.mismatches.len() as u64 <= report.keys_mismatched);
    for m in &report.mismatches {
        assert!(
            !m.diffs.is_empty(),
            "a mismatch without a difference: {m:?}"
        );
    }
    if std::env::var_os("FUZZ_REPORT").is_some() {
        eprintln!("{report:#?}");
    } else {
        let _ = format!("{report:?}");
    }
});
