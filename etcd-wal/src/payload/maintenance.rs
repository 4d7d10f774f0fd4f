//! Summaries of compaction, lease (grant, revoke, checkpoint) and alarm requests.

use std::fmt::{self, Write as _};

use etcd_proto::names::enum_str;
use etcd_proto::text::lease_id;

use crate::pb::etcdserverpb::{AlarmAction, AlarmType, InternalRaftRequest};

use super::EntryKind;

/// The fields of a compaction, lease or alarm IRR (`kind` is one of those).
pub(super) fn write_maintenance(
    s: &mut String,
    r: &InternalRaftRequest,
    kind: EntryKind,
) -> fmt::Result {
    use EntryKind as K;
    match kind {
        K::Compaction => match &r.compaction {
            Some(c) => write!(s, " revision={} physical={}", c.revision, c.physical),
            None => Ok(()),
        },
        K::LeaseGrant => match &r.lease_grant {
            Some(l) => write!(s, " id={} ttl={}", lease_id(l.id), l.ttl),
            None => Ok(()),
        },
        K::LeaseRevoke => match &r.lease_revoke {
            Some(l) => write!(s, " id={}", lease_id(l.id)),
            None => Ok(()),
        },
        K::LeaseCheckpoint => match &r.lease_checkpoint {
            Some(l) => {
                for c in &l.checkpoints {
                    write!(s, " {}:remaining_ttl={}", lease_id(c.id), c.remaining_ttl)?;
                }
                Ok(())
            }
            None => Ok(()),
        },
        K::Alarm => match &r.alarm {
            Some(a) => write!(
                s,
                " action={} alarm={} member={:016x}",
                enum_str::<AlarmAction>(a.action),
                enum_str::<AlarmType>(a.alarm),
                a.member_id
            ),
            None => Ok(()),
        },
        _ => Ok(()),
    }
}
