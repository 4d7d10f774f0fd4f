//! Do the members of one cluster hold the same keyspace? etcd's HashKV (`etcdctl endpoint
//! hashkv --rev R`), computed offline from each member's db at one revision every member
//! still holds; the members outside the majority named; the first record where an odd
//! member differs from the majority (its key and revision).
//!
//! ```no_run
//! use etcd_member::consistency::{self, MemberDb};
//! use etcd_snap::hashkv::Rules;
//! let dbs = ["m1", "m2", "m3"].map(|m| MemberDb {
//!     db: format!("{m}/member/snap/db").into(),
//!     rules: Rules::ETCD_3_5_1,
//! });
//! let c = consistency::compare(&dbs, None);
//! println!("revision {:?}: consistent {:?}, odd {:?}", c.revision, c.consistent, c.odd);
//! ```
//!
//! The hash is [`etcd_snap::hashkv`]'s (checked against `etcdctl endpoint hashkv` of real
//! etcd 3.4.23 and 3.5.1 there, and across a live 3-member cluster in the CLI's tests).

use std::path::PathBuf;

use etcd_snap::bolt::Db;
use etcd_snap::hashkv::{self, HashKv, HashedRecord, Rules};
use etcd_snap::mvcc::Revision;

/// One member's db, and the HashKV rules of the etcd release that serves it.
#[derive(Debug, Clone)]
pub struct MemberDb {
    /// The bolt db file (`member/snap/db`).
    pub db: PathBuf,
    /// Its release's [`Rules`] (e.g. `Rules::for_version("3.5.1")`).
    pub rules: Rules,
}

/// The members compared.
#[derive(Debug, Clone)]
pub struct Consistency {
    /// The revision every member was hashed at: the one asked for, else the highest one
    /// every member holds (the lowest current revision). `None` when no db could be read.
    pub revision: Option<i64>,
    /// Per member, in input order: its HashKV at [`Consistency::revision`], or why there is
    /// none (etcd's own words for a compacted or future revision, else the damaged page).
    pub members: Vec<Result<HashKv, String>>,
    /// Every hashed member has the same hash; `None` with fewer than two hashes.
    pub consistent: Option<bool>,
    /// Indexes of the members outside the majority (empty when consistent, or when no
    /// hash is held by more than half of the hashed members: see `no_majority`).
    pub odd: Vec<usize>,
    /// The hashes differ and none is held by more than half of the hashed members: the
    /// odd ones cannot be named.
    pub no_majority: bool,
    /// Where the first odd member (or, without a majority, the second hashed member)
    /// first differs from the majority (the first hashed member), in revision order.
    pub first_difference: Option<FirstDifference>,
}

/// The first record where two members' hashed records differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstDifference {
    /// The member that differs (index into the input).
    pub member: usize,
    /// The member it was compared with (a majority member).
    pub reference: usize,
    /// The user key.
    pub key: Vec<u8>,
    /// The revision of the record.
    pub revision: Revision,
    /// The differing member's record there (`None`: it hashes none at that revision).
    pub member_record: Option<HashedRecord>,
    /// The reference member's record there.
    pub reference_record: Option<HashedRecord>,
}

/// Hash every member at `rev` (`None`: the highest revision all of them hold) and compare.
/// Never fails as a whole: a member whose db cannot be read or hashed gets its error and is
/// left out of the comparison.
pub fn compare(members: &[MemberDb], rev: Option<i64>) -> Consistency {
    let dbs: Vec<Result<Db, String>> = members
        .iter()
        .map(|m| Db::open(&m.db).map_err(|e| e.to_string()))
        .collect();
    // The latest hash of each, which also tells its current revision.
    let latest: Vec<Result<HashKv, String>> = dbs
        .iter()
        .zip(members)
        .map(|(db, m)| {
            let db = db.as_ref().map_err(Clone::clone)?;
            hashkv::hash_kv_with(db, rev.unwrap_or(0), m.rules).map_err(|e| e.to_string())
        })
        .collect();
    let revision = rev.or_else(|| {
        latest
            .iter()
            .filter_map(|h| h.as_ref().ok())
            .map(|h| h.current_revision)
            .min()
    });
    let hashes: Vec<Result<HashKv, String>> = match (rev, revision) {
        (None, Some(r)) => latest
            .into_iter()
            .zip(dbs.iter().zip(members))
            .map(|(h, (db, m))| match h {
                Ok(h) if h.hash_revision == r => Ok(h),
                Ok(_) => {
                    let db = db.as_ref().map_err(Clone::clone)?;
                    hashkv::hash_kv_with(db, r, m.rules).map_err(|e| e.to_string())
                }
                Err(e) => Err(e),
            })
            .collect(),
        _ => latest,
    };
    let hashed: Vec<(usize, u32)> = hashes
        .iter()
        .enumerate()
        .filter_map(|(i, h)| h.as_ref().ok().map(|h| (i, h.hash)))
        .collect();
    let mut c = Consistency {
        revision,
        members: hashes,
        consistent: None,
        odd: Vec::new(),
        no_majority: false,
        first_difference: None,
    };
    let (Some(&(first, first_hash)), true) = (hashed.first(), hashed.len() >= 2) else {
        return c;
    };
    let consistent = hashed.iter().all(|(_, h)| *h == first_hash);
    c.consistent = Some(consistent);
    if consistent {
        return c;
    }
    // The hash more than half of the hashed members hold.
    let majority = hashed
        .iter()
        .map(|(_, h)| *h)
        .find(|h| hashed.iter().filter(|(_, x)| x == h).count() * 2 > hashed.len());
    let pair = match majority {
        Some(m) => {
            c.odd = hashed
                .iter()
                .filter(|(_, h)| *h != m)
                .map(|(i, _)| *i)
                .collect();
            let reference = hashed.iter().find(|(_, h)| *h == m).map(|(i, _)| *i);
            c.odd.first().copied().zip(reference)
        }
        None => {
            c.no_majority = true;
            hashed
                .iter()
                .find(|(_, h)| *h != first_hash)
                .map(|&(i, _)| (i, first))
        }
    };
    let Some((member, reference)) = pair else {
        return c;
    };
    let found = match (
        revision,
        dbs.get(reference),
        dbs.get(member),
        members.get(reference),
    ) {
        (Some(r), Some(Ok(a)), Some(Ok(b)), Some(m)) => {
            hashkv::first_difference(a, b, r, m.rules).ok().flatten()
        }
        _ => None,
    };
    if let Some(d) = found {
        let record = d.a.as_ref().or(d.b.as_ref());
        c.first_difference = record.map(|rec| FirstDifference {
            member,
            reference,
            key: d.key().to_vec(),
            revision: rec.rev.rev,
            member_record: d.b.clone(),
            reference_record: d.a.clone(),
        });
    }
    c
}
