//! What one membership entry says: the kind of a ConfChange, the change itself, and a
//! member-attributes publication.

use crate::location::WalLocation;
use crate::payload::MemberContext;

/// What a membership entry did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum ChangeKind {
    /// ConfChange AddNode: a voting member joins (`member add`, or the initial cluster).
    Add,
    /// ConfChange AddLearnerNode (`member add --learner`).
    AddLearner,
    /// ConfChange AddNode with `"isPromote":true` in its context (`member promote`).
    Promote,
    /// ConfChange UpdateNode (`member update`: new peer URLs).
    Update,
    /// ConfChange RemoveNode (`member remove`).
    Remove,
}

impl ChangeKind {
    /// Stable snake_case name (JSON and text output).
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Add => "add",
            ChangeKind::AddLearner => "add_learner",
            ChangeKind::Promote => "promote",
            ChangeKind::Update => "update",
            ChangeKind::Remove => "remove",
        }
    }
}

/// One ConfChange entry (a `ConfChangeV2` yields one per single change).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MemberChange {
    /// Raft index of the entry.
    pub index: u64,
    /// Raft term of the entry.
    pub term: u64,
    /// What it did.
    pub kind: ChangeKind,
    /// The member (raft node ID = etcd member ID).
    #[cfg_attr(
        feature = "serde",
        serde(serialize_with = "etcd_proto::json::ser::hex_id")
    )]
    pub node_id: u64,
    /// etcd's request ID (`ConfChange.id`; 0 for the initial cluster and `ConfChangeV2`).
    #[cfg_attr(
        feature = "serde",
        serde(serialize_with = "etcd_proto::json::ser::hex_id")
    )]
    pub request_id: u64,
    /// The member JSON of the context (none for RemoveNode).
    pub member: Option<MemberContext>,
    /// Where the entry was read.
    pub at: WalLocation,
    /// Read before the first damage (part of the log etcd replays).
    pub before_damage: bool,
}

/// A member's published attributes (name, client URLs).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct AttributesChange {
    /// Raft index of the entry.
    pub index: u64,
    /// Raft term of the entry.
    pub term: u64,
    /// The member.
    #[cfg_attr(
        feature = "serde",
        serde(serialize_with = "etcd_proto::json::ser::hex_id")
    )]
    pub node_id: u64,
    /// Member name.
    pub name: String,
    /// Client URLs.
    pub client_urls: Vec<String>,
    /// Where the entry was read.
    pub at: WalLocation,
    /// Read before the first damage.
    pub before_damage: bool,
}
