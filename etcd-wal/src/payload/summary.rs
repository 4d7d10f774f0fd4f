//! One-line summaries of payloads ([`Payload::summary`]): the kind name, then the fields of
//! the request, each request family written by its own module.

use std::fmt::{self, Write as _};

use etcd_proto::text::escape_bytes;

use crate::pb::etcdserverpb::InternalRaftRequest;

use super::auth::write_auth;
use super::cluster::write_cluster;
use super::conf_change::{write_conf_change, write_conf_change_v2};
use super::kind::irr_kind;
use super::kv::write_kv;
use super::maintenance::write_maintenance;
use super::v2::write_v2;
use super::{EntryKind, Payload};

impl Payload {
    /// One human-readable line, e.g. `put key="foo" value="bar" lease=0`.
    ///
    /// Keys and values are escaped with [`escape_bytes`] and quoted. Values longer than
    /// `max_value` bytes are cut: `value="abc"…(1234 bytes)`; `Some(0)` prints only the size
    /// (`value=<1234 bytes>`); `None` prints values in full. Secrets are never printed, redacted
    /// or not (`password=<redacted>`).
    pub fn summary(&self, max_value: Option<usize>) -> String {
        let mut s = String::new();
        // Writing into a String cannot fail.
        let _ = self.write_summary(&mut s, max_value);
        s
    }

    fn write_summary(&self, s: &mut String, max: Option<usize>) -> fmt::Result {
        match self {
            Payload::NoOp => s.write_str("noop"),
            Payload::Request(r) => {
                let kind = irr_kind(r);
                s.write_str(kind.as_str())?;
                write_irr(s, r, kind, max)?;
                if let Some(h) = &r.header {
                    if !h.username.is_empty() {
                        write!(s, " user=\"{}\"", escape_bytes(&h.username))?;
                    }
                }
                Ok(())
            }
            Payload::V2(r) => {
                s.write_str("v2_request")?;
                write_v2(s, r, max)
            }
            Payload::ConfChange { change, member } => {
                write_conf_change(s, change, member.as_ref(), max)
            }
            Payload::ConfChangeV2(cc) => write_conf_change_v2(s, cc, max),
            Payload::Undecodable { reason } => write!(s, "unknown: {reason}"),
        }
    }
}

/// The fields of an IRR whose kind is `kind`, written by the module of its request family.
fn write_irr(
    s: &mut String,
    r: &InternalRaftRequest,
    kind: EntryKind,
    max: Option<usize>,
) -> fmt::Result {
    use EntryKind as K;
    match kind {
        K::V2Request => match &r.v2 {
            Some(v2) => write_v2(s, v2, max),
            None => Ok(()),
        },
        K::Put | K::Range | K::DeleteRange | K::Txn => write_kv(s, r, kind, max),
        K::Compaction | K::LeaseGrant | K::LeaseRevoke | K::LeaseCheckpoint | K::Alarm => {
            write_maintenance(s, r, kind)
        }
        K::Authenticate
        | K::AuthUserAdd
        | K::AuthUserChangePassword
        | K::AuthUserDelete
        | K::AuthUserGet
        | K::AuthUserGrantRole
        | K::AuthUserRevokeRole
        | K::AuthRoleAdd
        | K::AuthRoleDelete
        | K::AuthRoleGet
        | K::AuthRoleGrantPermission
        | K::AuthRoleRevokePermission => write_auth(s, r, kind),
        K::ClusterVersionSet
        | K::ClusterMemberAttrSet
        | K::DowngradeInfoSet
        | K::DowngradeVersionTest => write_cluster(s, r, kind),
        // auth_enable, auth_disable, auth_status, auth_user_list, auth_role_list: no fields.
        _ => Ok(()),
    }
}
