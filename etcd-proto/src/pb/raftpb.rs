//! `raftpb` messages (etcd 3.4/3.5 `raft/raftpb/raft.proto`).

/// Kind of a raft log entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum EntryType {
    /// Normal entry: empty (leader no-op), an `InternalRaftRequest` or a v2 `Request`.
    EntryNormal = 0,
    /// A `ConfChange`.
    EntryConfChange = 1,
    /// A `ConfChangeV2`.
    EntryConfChangeV2 = 2,
}

/// A raft log entry.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Entry {
    /// Entry kind, see [`EntryType`].
    #[prost(enumeration = "EntryType", tag = "1")]
    pub r#type: i32,
    /// Raft term.
    #[prost(uint64, tag = "2")]
    pub term: u64,
    /// Raft index (1-based).
    #[prost(uint64, tag = "3")]
    pub index: u64,
    /// Payload.
    #[prost(bytes = "vec", tag = "4")]
    pub data: Vec<u8>,
}

/// Raft's persistent state.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct HardState {
    /// Current term.
    #[prost(uint64, tag = "1")]
    pub term: u64,
    /// Node voted for in the current term (0 = none).
    #[prost(uint64, tag = "2")]
    pub vote: u64,
    /// Highest index known to be committed.
    #[prost(uint64, tag = "3")]
    pub commit: u64,
}

/// Cluster membership as raft sees it.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct ConfState {
    /// Voting members (node IDs).
    #[prost(uint64, repeated, packed = "false", tag = "1")]
    pub voters: Vec<u64>,
    /// Learners.
    #[prost(uint64, repeated, packed = "false", tag = "2")]
    pub learners: Vec<u64>,
    /// Voters of the outgoing configuration (joint consensus).
    #[prost(uint64, repeated, packed = "false", tag = "3")]
    pub voters_outgoing: Vec<u64>,
    /// Learners to be added when leaving the joint configuration.
    #[prost(uint64, repeated, packed = "false", tag = "4")]
    pub learners_next: Vec<u64>,
    /// Leave the joint configuration automatically.
    #[prost(bool, tag = "5")]
    pub auto_leave: bool,
}

/// Metadata of a raft snapshot.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct SnapshotMetadata {
    /// Membership at the snapshot.
    #[prost(message, optional, tag = "1")]
    pub conf_state: Option<ConfState>,
    /// Raft index of the snapshot.
    #[prost(uint64, tag = "2")]
    pub index: u64,
    /// Raft term of the snapshot.
    #[prost(uint64, tag = "3")]
    pub term: u64,
}

/// A raft snapshot (the payload of a `.snap` file).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Snapshot {
    /// Application data: in etcd 3.4/3.5 the JSON of the v2 store.
    #[prost(bytes = "vec", tag = "1")]
    pub data: Vec<u8>,
    /// Index, term and membership.
    #[prost(message, optional, tag = "2")]
    pub metadata: Option<SnapshotMetadata>,
}

/// Kind of a membership change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum ConfChangeType {
    /// Add a voter (also a learner promotion, with `"isPromote":true` in the context).
    ConfChangeAddNode = 0,
    /// Remove a member.
    ConfChangeRemoveNode = 1,
    /// Update a member's attributes.
    ConfChangeUpdateNode = 2,
    /// Add a learner.
    ConfChangeAddLearnerNode = 3,
}

/// A membership change (payload of an `EntryConfChange`).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct ConfChange {
    /// etcd request ID.
    #[prost(uint64, tag = "1")]
    pub id: u64,
    /// Change kind, see [`ConfChangeType`].
    #[prost(enumeration = "ConfChangeType", tag = "2")]
    pub r#type: i32,
    /// Node (member) ID.
    #[prost(uint64, tag = "3")]
    pub node_id: u64,
    /// etcd: JSON of the member.
    #[prost(bytes = "vec", tag = "4")]
    pub context: Vec<u8>,
}

/// Transition kind of a `ConfChangeV2`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum ConfChangeTransition {
    /// Let raft decide.
    ConfChangeTransitionAuto = 0,
    /// Joint consensus, left automatically.
    ConfChangeTransitionJointImplicit = 1,
    /// Joint consensus, left explicitly.
    ConfChangeTransitionJointExplicit = 2,
}

/// One change inside a `ConfChangeV2`.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct ConfChangeSingle {
    /// Change kind, see [`ConfChangeType`].
    #[prost(enumeration = "ConfChangeType", tag = "1")]
    pub r#type: i32,
    /// Node (member) ID.
    #[prost(uint64, tag = "2")]
    pub node_id: u64,
}

/// A joint membership change (payload of an `EntryConfChangeV2`).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct ConfChangeV2 {
    /// Transition kind, see [`ConfChangeTransition`].
    #[prost(enumeration = "ConfChangeTransition", tag = "1")]
    pub transition: i32,
    /// The changes.
    #[prost(message, repeated, tag = "2")]
    pub changes: Vec<ConfChangeSingle>,
    /// etcd: JSON context.
    #[prost(bytes = "vec", tag = "3")]
    pub context: Vec<u8>,
}
