//! `authpb` messages (etcd `api/authpb/auth.proto`, proto3).

/// Options of a new user (`AuthUserAddRequest.options`).
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct UserAddOptions {
    /// The user has no password (authenticates by TLS client certificate only).
    #[prost(bool, tag = "1")]
    pub no_password: bool,
}

/// Access granted by a [`Permission`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum PermissionType {
    /// Read only.
    Read = 0,
    /// Write only.
    Write = 1,
    /// Read and write.
    Readwrite = 2,
}

impl PermissionType {
    /// The name used in etcd's `.proto` file (`READ`, `WRITE`, `READWRITE`).
    pub fn proto_name(self) -> &'static str {
        match self {
            Self::Read => "READ",
            Self::Write => "WRITE",
            Self::Readwrite => "READWRITE",
        }
    }
}

/// A key-range permission of a role.
#[derive(Clone, PartialEq, Eq, prost::Message)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Permission {
    /// Access kind, see [`PermissionType`] (proto name `permType`).
    #[prost(enumeration = "PermissionType", tag = "1")]
    #[cfg_attr(
        feature = "serde",
        serde(serialize_with = "crate::json::ser::enum_name::<PermissionType, _>")
    )]
    pub perm_type: i32,
    /// First key of the range (arbitrary bytes).
    #[prost(bytes = "vec", tag = "2")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::bytes"))]
    pub key: Vec<u8>,
    /// End of the range (exclusive); empty = the single key `key`, `"\0"` = every key ≥ `key`.
    #[prost(bytes = "vec", tag = "3")]
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::ser::bytes"))]
    pub range_end: Vec<u8>,
}

/// A user as stored in the `authUsers` bucket.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct User {
    /// User name.
    #[prost(bytes = "vec", tag = "1")]
    pub name: Vec<u8>,
    /// bcrypt hash of the password (empty with `no_password`).
    #[prost(bytes = "vec", tag = "2")]
    pub password: Vec<u8>,
    /// Granted roles (proto `string`, kept as raw bytes).
    #[prost(bytes = "vec", repeated, tag = "3")]
    pub roles: Vec<Vec<u8>>,
    /// Options given at creation.
    #[prost(message, optional, tag = "4")]
    pub options: Option<UserAddOptions>,
}

/// A role as stored in the `authRoles` bucket.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Role {
    /// Role name.
    #[prost(bytes = "vec", tag = "1")]
    pub name: Vec<u8>,
    /// Key permissions (proto name `keyPermission`).
    #[prost(message, repeated, tag = "2")]
    pub key_permission: Vec<Permission>,
}
