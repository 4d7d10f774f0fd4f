//! The names etcd's Go code prints for protobuf enum values.

use crate::pb::authpb::PermissionType;
use crate::pb::etcdserverpb::{
    AlarmAction, AlarmType, CompareResult, CompareTarget, SortOrder, SortTarget,
};
use crate::pb::raftpb::{ConfChangeTransition, ConfChangeType, EntryType};

/// A protobuf enum with the names etcd's Go code prints (`EQUAL`, `ConfChangeAddNode`, …).
pub trait ProtoEnum: TryFrom<i32> + Copy {
    /// The name as in the `.proto` file / Go's `String()`.
    fn proto_name(self) -> &'static str;
}

/// The enum's name for a raw value, or the number itself when unknown.
pub fn enum_str<E: ProtoEnum>(v: i32) -> String {
    match E::try_from(v) {
        Ok(e) => e.proto_name().to_owned(),
        Err(_) => v.to_string(),
    }
}

macro_rules! proto_enum_names {
    ($($ty:ty { $($variant:ident => $name:literal),* $(,)? })*) => {
        $(impl ProtoEnum for $ty {
            fn proto_name(self) -> &'static str {
                match self { $(<$ty>::$variant => $name,)* }
            }
        })*
    };
}

proto_enum_names! {
    SortOrder { None => "NONE", Ascend => "ASCEND", Descend => "DESCEND" }
    SortTarget { Key => "KEY", Version => "VERSION", Create => "CREATE", Mod => "MOD",
                 Value => "VALUE" }
    CompareResult { Equal => "EQUAL", Greater => "GREATER", Less => "LESS",
                    NotEqual => "NOT_EQUAL" }
    CompareTarget { Version => "VERSION", Create => "CREATE", Mod => "MOD", Value => "VALUE",
                    Lease => "LEASE" }
    AlarmAction { Get => "GET", Activate => "ACTIVATE", Deactivate => "DEACTIVATE" }
    AlarmType { None => "NONE", Nospace => "NOSPACE", Corrupt => "CORRUPT" }
    ConfChangeType {
        ConfChangeAddNode => "ConfChangeAddNode",
        ConfChangeRemoveNode => "ConfChangeRemoveNode",
        ConfChangeUpdateNode => "ConfChangeUpdateNode",
        ConfChangeAddLearnerNode => "ConfChangeAddLearnerNode",
    }
    ConfChangeTransition {
        ConfChangeTransitionAuto => "ConfChangeTransitionAuto",
        ConfChangeTransitionJointImplicit => "ConfChangeTransitionJointImplicit",
        ConfChangeTransitionJointExplicit => "ConfChangeTransitionJointExplicit",
    }
    EntryType {
        EntryNormal => "EntryNormal",
        EntryConfChange => "EntryConfChange",
        EntryConfChangeV2 => "EntryConfChangeV2",
    }
}

impl ProtoEnum for PermissionType {
    fn proto_name(self) -> &'static str {
        PermissionType::proto_name(self)
    }
}
