//! Requests shared by the payload tests.

use crate::pb::authpb::{Permission, PermissionType, UserAddOptions};
use crate::pb::etcdserverpb::*;
use crate::pb::membershippb::*;

use super::EntryKind;

pub(super) fn irr(f: impl FnOnce(&mut InternalRaftRequest)) -> InternalRaftRequest {
    let mut r = InternalRaftRequest {
        header: Some(RequestHeader {
            id: 42,
            username: b"root".to_vec(),
            auth_revision: 3,
            requester_member_id: 0,
        }),
        ..Default::default()
    };
    f(&mut r);
    r
}

pub(super) fn put(key: &[u8], value: &[u8]) -> PutRequest {
    PutRequest {
        key: key.to_vec(),
        value: value.to_vec(),
        ..Default::default()
    }
}

/// One IRR per kind, with every field of the request body set to something non-zero.
pub(super) fn one_of_each() -> Vec<(EntryKind, InternalRaftRequest)> {
    use EntryKind as K;
    let txn = TxnRequest {
        compare: vec![Compare {
            result: CompareResult::Greater as i32,
            target: CompareTarget::Mod as i32,
            key: b"c".to_vec(),
            target_union: Some(compare::TargetUnion::ModRevision(7)),
            range_end: b"d".to_vec(),
        }],
        success: vec![RequestOp {
            request: Some(request_op::Request::RequestPut(put(b"s", b"v"))),
        }],
        failure: vec![RequestOp {
            request: Some(request_op::Request::RequestRange(RangeRequest {
                key: b"f".to_vec(),
                ..Default::default()
            })),
        }],
    };
    vec![
        (
            K::Put,
            irr(|r| {
                r.put = Some(PutRequest {
                    key: b"k".to_vec(),
                    value: b"v".to_vec(),
                    lease: 5,
                    prev_kv: true,
                    ignore_value: true,
                    ignore_lease: true,
                })
            }),
        ),
        (
            K::Range,
            irr(|r| {
                r.range = Some(RangeRequest {
                    key: b"a".to_vec(),
                    range_end: b"b".to_vec(),
                    limit: 1,
                    revision: 2,
                    sort_order: SortOrder::Descend as i32,
                    sort_target: SortTarget::Value as i32,
                    serializable: true,
                    keys_only: true,
                    count_only: true,
                    min_mod_revision: 3,
                    max_mod_revision: 4,
                    min_create_revision: 5,
                    max_create_revision: 6,
                })
            }),
        ),
        (
            K::DeleteRange,
            irr(|r| {
                r.delete_range = Some(DeleteRangeRequest {
                    key: b"a".to_vec(),
                    range_end: b"\0".to_vec(),
                    prev_kv: true,
                })
            }),
        ),
        (K::Txn, irr(|r| r.txn = Some(txn.clone()))),
        (
            K::Compaction,
            irr(|r| {
                r.compaction = Some(CompactionRequest {
                    revision: 9,
                    physical: true,
                })
            }),
        ),
        (
            K::LeaseGrant,
            irr(|r| r.lease_grant = Some(LeaseGrantRequest { ttl: 60, id: 77 })),
        ),
        (
            K::LeaseRevoke,
            irr(|r| r.lease_revoke = Some(LeaseRevokeRequest { id: 77 })),
        ),
        (
            K::LeaseCheckpoint,
            irr(|r| {
                r.lease_checkpoint = Some(LeaseCheckpointRequest {
                    checkpoints: vec![LeaseCheckpoint {
                        id: 77,
                        remaining_ttl: 30,
                    }],
                })
            }),
        ),
        (
            K::Alarm,
            irr(|r| {
                r.alarm = Some(AlarmRequest {
                    action: AlarmAction::Activate as i32,
                    member_id: u64::MAX,
                    alarm: AlarmType::Nospace as i32,
                })
            }),
        ),
        (
            K::Authenticate,
            irr(|r| {
                r.authenticate = Some(InternalAuthenticateRequest {
                    name: b"root".to_vec(),
                    password: b"hunter2".to_vec(),
                    simple_token: b"tok.1".to_vec(),
                })
            }),
        ),
        (
            K::AuthEnable,
            irr(|r| r.auth_enable = Some(AuthEnableRequest {})),
        ),
        (
            K::AuthDisable,
            irr(|r| r.auth_disable = Some(AuthDisableRequest {})),
        ),
        (
            K::AuthStatus,
            irr(|r| r.auth_status = Some(AuthStatusRequest {})),
        ),
        (
            K::AuthUserAdd,
            irr(|r| {
                r.auth_user_add = Some(AuthUserAddRequest {
                    name: b"u".to_vec(),
                    password: b"plain".to_vec(),
                    options: Some(UserAddOptions { no_password: true }),
                    hashed_password: b"$2a$10$hash".to_vec(),
                })
            }),
        ),
        (
            K::AuthUserDelete,
            irr(|r| {
                r.auth_user_delete = Some(AuthUserDeleteRequest {
                    name: b"u".to_vec(),
                })
            }),
        ),
        (
            K::AuthUserGet,
            irr(|r| {
                r.auth_user_get = Some(AuthUserGetRequest {
                    name: b"u".to_vec(),
                })
            }),
        ),
        (
            K::AuthUserChangePassword,
            irr(|r| {
                r.auth_user_change_password = Some(AuthUserChangePasswordRequest {
                    name: b"u".to_vec(),
                    password: b"plain2".to_vec(),
                    hashed_password: b"$2a$10$hash2".to_vec(),
                })
            }),
        ),
        (
            K::AuthUserGrantRole,
            irr(|r| {
                r.auth_user_grant_role = Some(AuthUserGrantRoleRequest {
                    user: b"u".to_vec(),
                    role: b"r".to_vec(),
                })
            }),
        ),
        (
            K::AuthUserRevokeRole,
            irr(|r| {
                r.auth_user_revoke_role = Some(AuthUserRevokeRoleRequest {
                    name: b"u".to_vec(),
                    role: b"r".to_vec(),
                })
            }),
        ),
        (
            K::AuthUserList,
            irr(|r| r.auth_user_list = Some(AuthUserListRequest {})),
        ),
        (
            K::AuthRoleList,
            irr(|r| r.auth_role_list = Some(AuthRoleListRequest {})),
        ),
        (
            K::AuthRoleAdd,
            irr(|r| {
                r.auth_role_add = Some(AuthRoleAddRequest {
                    name: b"r".to_vec(),
                })
            }),
        ),
        (
            K::AuthRoleDelete,
            irr(|r| {
                r.auth_role_delete = Some(AuthRoleDeleteRequest {
                    role: b"r".to_vec(),
                })
            }),
        ),
        (
            K::AuthRoleGet,
            irr(|r| {
                r.auth_role_get = Some(AuthRoleGetRequest {
                    role: b"r".to_vec(),
                })
            }),
        ),
        (
            K::AuthRoleGrantPermission,
            irr(|r| {
                r.auth_role_grant_permission = Some(AuthRoleGrantPermissionRequest {
                    name: b"r".to_vec(),
                    perm: Some(Permission {
                        perm_type: PermissionType::Readwrite as i32,
                        key: b"/a".to_vec(),
                        range_end: b"/b".to_vec(),
                    }),
                })
            }),
        ),
        (
            K::AuthRoleRevokePermission,
            irr(|r| {
                r.auth_role_revoke_permission = Some(AuthRoleRevokePermissionRequest {
                    role: b"r".to_vec(),
                    key: b"/a".to_vec(),
                    range_end: b"/b".to_vec(),
                })
            }),
        ),
        (
            K::ClusterVersionSet,
            irr(|r| {
                r.cluster_version_set = Some(ClusterVersionSetRequest {
                    ver: b"3.5.0".to_vec(),
                })
            }),
        ),
        (
            K::ClusterMemberAttrSet,
            irr(|r| {
                r.cluster_member_attr_set = Some(ClusterMemberAttrSetRequest {
                    member_id: 0x8e9e05c52164694d,
                    member_attributes: Some(Attributes {
                        name: b"infra1".to_vec(),
                        client_urls: vec![b"http://a:2379".to_vec(), b"http://b:2379".to_vec()],
                    }),
                })
            }),
        ),
        (
            K::DowngradeInfoSet,
            irr(|r| {
                r.downgrade_info_set = Some(DowngradeInfoSetRequest {
                    enabled: true,
                    ver: b"3.4.0".to_vec(),
                })
            }),
        ),
        (
            K::DowngradeVersionTest,
            irr(|r| {
                r.downgrade_version_test = Some(DowngradeVersionTestRequest {
                    ver: b"3.5.0".to_vec(),
                })
            }),
        ),
        (
            K::V2Request,
            irr(|r| {
                r.v2 = Some(Request {
                    id: 1,
                    method: b"PUT".to_vec(),
                    path: b"/0/version".to_vec(),
                    val: b"3.5.0".to_vec(),
                    ..Default::default()
                })
            }),
        ),
        (K::Unknown, irr(|_| {})),
    ]
}

pub(super) fn v2(method: &str, path: &str, val: &str) -> Request {
    Request {
        id: 0x2d5c_87a1_32f0_6a01,
        method: method.into(),
        path: path.into(),
        val: val.into(),
        ..Default::default()
    }
}
