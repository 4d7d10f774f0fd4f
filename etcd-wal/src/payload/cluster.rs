//! Summaries of the cluster requests of the 3.5+ schema: cluster version, member
//! attributes, downgrade info and the downgrade test request.

use std::fmt::{self, Write as _};

use crate::pb::etcdserverpb::InternalRaftRequest;

use super::EntryKind;
use super::escape::{bytes_list, opt_name, q};

/// The fields of a cluster_* or downgrade_* IRR (`kind` is one of those).
pub(super) fn write_cluster(
    s: &mut String,
    r: &InternalRaftRequest,
    kind: EntryKind,
) -> fmt::Result {
    use EntryKind as K;
    match kind {
        K::ClusterVersionSet => opt_name(s, "ver", r.cluster_version_set.as_ref().map(|a| &a.ver)),
        K::ClusterMemberAttrSet => match &r.cluster_member_attr_set {
            Some(a) => {
                write!(s, " member={:016x}", a.member_id)?;
                if let Some(attr) = &a.member_attributes {
                    write!(
                        s,
                        " name={} client_urls={}",
                        q(&attr.name),
                        bytes_list(&attr.client_urls)
                    )?;
                }
                Ok(())
            }
            None => Ok(()),
        },
        K::DowngradeInfoSet => match &r.downgrade_info_set {
            Some(a) => write!(s, " enabled={} ver={}", a.enabled, q(&a.ver)),
            None => Ok(()),
        },
        K::DowngradeVersionTest => {
            opt_name(s, "ver", r.downgrade_version_test.as_ref().map(|a| &a.ver))
        }
        _ => Ok(()),
    }
}
