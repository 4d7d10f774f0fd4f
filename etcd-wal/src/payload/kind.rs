//! Entry kinds: the stable snake_case name of what an entry does ([`EntryKind`]), and how
//! a payload is classified into one.

use std::fmt;

use crate::pb::etcdserverpb::InternalRaftRequest;

use super::Payload;

macro_rules! entry_kinds {
    ($( $(#[$doc:meta])* $variant:ident => $name:literal, )*) => {
        /// Stable snake_case name of what an entry does; used by `dump --type` and in JSON.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum EntryKind {
            $( $(#[$doc])* $variant, )*
        }

        impl EntryKind {
            /// Every kind, in documentation order.
            pub const ALL: &'static [EntryKind] = &[ $( EntryKind::$variant, )* ];

            /// The stable name, e.g. `"delete_range"`.
            pub fn as_str(self) -> &'static str {
                match self { $( EntryKind::$variant => $name, )* }
            }

            /// Looks a kind up by its stable name (exact, lowercase).
            pub fn from_name(name: &str) -> Option<EntryKind> {
                match name { $( $name => Some(EntryKind::$variant), )* _ => None }
            }
        }
    };
}

entry_kinds! {
    /// Leader no-op (empty `EntryNormal`).
    NoOp => "noop",
    /// `put`.
    Put => "put",
    /// `range` (not normally written by etcd).
    Range => "range",
    /// `delete_range`.
    DeleteRange => "delete_range",
    /// `txn`.
    Txn => "txn",
    /// `compaction`.
    Compaction => "compaction",
    /// `lease_grant`.
    LeaseGrant => "lease_grant",
    /// `lease_revoke`.
    LeaseRevoke => "lease_revoke",
    /// `lease_checkpoint`.
    LeaseCheckpoint => "lease_checkpoint",
    /// `alarm`.
    Alarm => "alarm",
    /// `authenticate`.
    Authenticate => "authenticate",
    /// `auth_enable`.
    AuthEnable => "auth_enable",
    /// `auth_disable`.
    AuthDisable => "auth_disable",
    /// `auth_status`.
    AuthStatus => "auth_status",
    /// `auth_user_add`.
    AuthUserAdd => "auth_user_add",
    /// `auth_user_delete`.
    AuthUserDelete => "auth_user_delete",
    /// `auth_user_get`.
    AuthUserGet => "auth_user_get",
    /// `auth_user_change_password`.
    AuthUserChangePassword => "auth_user_change_password",
    /// `auth_user_grant_role`.
    AuthUserGrantRole => "auth_user_grant_role",
    /// `auth_user_revoke_role`.
    AuthUserRevokeRole => "auth_user_revoke_role",
    /// `auth_user_list`.
    AuthUserList => "auth_user_list",
    /// `auth_role_list`.
    AuthRoleList => "auth_role_list",
    /// `auth_role_add`.
    AuthRoleAdd => "auth_role_add",
    /// `auth_role_delete`.
    AuthRoleDelete => "auth_role_delete",
    /// `auth_role_get`.
    AuthRoleGet => "auth_role_get",
    /// `auth_role_grant_permission`.
    AuthRoleGrantPermission => "auth_role_grant_permission",
    /// `auth_role_revoke_permission`.
    AuthRoleRevokePermission => "auth_role_revoke_permission",
    /// `cluster_version_set` (3.5+ schema).
    ClusterVersionSet => "cluster_version_set",
    /// `cluster_member_attr_set` (3.5+ schema).
    ClusterMemberAttrSet => "cluster_member_attr_set",
    /// `downgrade_info_set` (3.5+).
    DowngradeInfoSet => "downgrade_info_set",
    /// `downgrade_version_test` (3.6+, tests only).
    DowngradeVersionTest => "downgrade_version_test",
    /// A v2 store request, bare or wrapped in an IRR.
    V2Request => "v2_request",
    /// `EntryConfChange`.
    ConfChange => "conf_change",
    /// `EntryConfChangeV2`.
    ConfChangeV2 => "conf_change_v2",
    /// Undecodable data, or an IRR with no request field etcd knows.
    Unknown => "unknown",
}

impl EntryKind {
    /// Every stable name, in documentation order.
    pub fn names() -> impl Iterator<Item = &'static str> {
        Self::ALL.iter().map(|k| k.as_str())
    }
}

impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for EntryKind {
    type Err = UnknownEntryKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EntryKind::from_name(s).ok_or_else(|| UnknownEntryKind(s.to_owned()))
    }
}

/// Error of [`EntryKind::from_str`](std::str::FromStr): the name is not in [`EntryKind::ALL`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown entry kind {0:?}")]
pub struct UnknownEntryKind(pub String);

#[cfg(feature = "serde")]
impl serde::Serialize for EntryKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The kind of an IRR: the first request field set, in etcd 3.5 `applierV3backend.Apply` order
/// (v2 first, as `applyEntryNormal` checks it before anything else).
pub(super) fn irr_kind(r: &InternalRaftRequest) -> EntryKind {
    use EntryKind as K;
    let set: [(bool, EntryKind); 31] = [
        (r.v2.is_some(), K::V2Request),
        (r.cluster_version_set.is_some(), K::ClusterVersionSet),
        (r.cluster_member_attr_set.is_some(), K::ClusterMemberAttrSet),
        (r.downgrade_info_set.is_some(), K::DowngradeInfoSet),
        (r.range.is_some(), K::Range),
        (r.put.is_some(), K::Put),
        (r.delete_range.is_some(), K::DeleteRange),
        (r.txn.is_some(), K::Txn),
        (r.compaction.is_some(), K::Compaction),
        (r.lease_grant.is_some(), K::LeaseGrant),
        (r.lease_revoke.is_some(), K::LeaseRevoke),
        (r.lease_checkpoint.is_some(), K::LeaseCheckpoint),
        (r.alarm.is_some(), K::Alarm),
        (r.authenticate.is_some(), K::Authenticate),
        (r.auth_enable.is_some(), K::AuthEnable),
        (r.auth_disable.is_some(), K::AuthDisable),
        (r.auth_status.is_some(), K::AuthStatus),
        (r.auth_user_add.is_some(), K::AuthUserAdd),
        (r.auth_user_delete.is_some(), K::AuthUserDelete),
        (
            r.auth_user_change_password.is_some(),
            K::AuthUserChangePassword,
        ),
        (r.auth_user_grant_role.is_some(), K::AuthUserGrantRole),
        (r.auth_user_get.is_some(), K::AuthUserGet),
        (r.auth_user_revoke_role.is_some(), K::AuthUserRevokeRole),
        (r.auth_role_add.is_some(), K::AuthRoleAdd),
        (
            r.auth_role_grant_permission.is_some(),
            K::AuthRoleGrantPermission,
        ),
        (r.auth_role_get.is_some(), K::AuthRoleGet),
        (
            r.auth_role_revoke_permission.is_some(),
            K::AuthRoleRevokePermission,
        ),
        (r.auth_role_delete.is_some(), K::AuthRoleDelete),
        (r.auth_user_list.is_some(), K::AuthUserList),
        (r.auth_role_list.is_some(), K::AuthRoleList),
        (r.downgrade_version_test.is_some(), K::DowngradeVersionTest),
    ];
    set.iter()
        .find(|(is_set, _)| *is_set)
        .map_or(K::Unknown, |&(_, k)| k)
}

impl Payload {
    /// The stable kind of this payload.
    pub fn kind(&self) -> EntryKind {
        match self {
            Payload::NoOp => EntryKind::NoOp,
            Payload::Request(r) => irr_kind(r),
            Payload::V2(_) => EntryKind::V2Request,
            Payload::ConfChange { .. } => EntryKind::ConfChange,
            Payload::ConfChangeV2(_) => EntryKind::ConfChangeV2,
            Payload::Undecodable { .. } => EntryKind::Unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use prost::Message as _;

    use super::*;
    use crate::payload::decode_entry;
    use crate::payload::testutil::{irr, one_of_each};
    use crate::pb::raftpb::EntryType;

    #[test]
    fn round_trip_every_irr_kind() {
        let cases = one_of_each();
        for (kind, req) in &cases {
            let bytes = req.encode_to_vec();
            let p = decode_entry(EntryType::EntryNormal as i32, &bytes);
            assert_eq!(p, Payload::Request(Box::new(req.clone())), "{kind}");
            assert_eq!(p.kind(), *kind);
            assert_eq!(p.request_id(), Some(42));
            assert_eq!(p.username(), Some(&b"root"[..]));
            // The summary starts with the kind name and never panics.
            assert!(
                p.summary(Some(8)).starts_with(kind.as_str()),
                "{}",
                p.summary(None)
            );
        }
        // Every IRR kind is covered (the others come from other entry types).
        let covered: std::collections::BTreeSet<_> = cases.iter().map(|(k, _)| *k).collect();
        for k in EntryKind::ALL {
            let elsewhere = matches!(
                k,
                EntryKind::NoOp | EntryKind::ConfChange | EntryKind::ConfChangeV2
            );
            assert!(covered.contains(k) || elsewhere, "kind {k} not tested");
        }
    }

    #[test]
    fn kind_names_round_trip() {
        let names: Vec<_> = EntryKind::names().collect();
        assert_eq!(names.len(), EntryKind::ALL.len());
        let unique: std::collections::BTreeSet<_> = names.iter().collect();
        assert_eq!(unique.len(), names.len());
        for k in EntryKind::ALL {
            assert_eq!(EntryKind::from_name(k.as_str()), Some(*k));
            assert_eq!(k.as_str().parse::<EntryKind>(), Ok(*k));
            assert!(
                k.as_str()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit())
            );
        }
        assert_eq!(EntryKind::from_name("Put"), None);
        assert!("nope".parse::<EntryKind>().is_err());
        for n in [
            "noop",
            "put",
            "txn",
            "v2_request",
            "conf_change",
            "conf_change_v2",
            "unknown",
            "auth_user_change_password",
            "auth_role_revoke_permission",
        ] {
            assert!(EntryKind::from_name(n).is_some(), "{n}");
        }
    }

    #[test]
    fn irr_with_only_header_is_unknown_not_v2() {
        let r = irr(|_| {});
        let p = decode_entry(0, &r.encode_to_vec());
        assert_eq!(p.kind(), EntryKind::Unknown);
        assert!(matches!(p, Payload::Request(_)));
    }
}
