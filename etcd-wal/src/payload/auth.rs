//! Auth requests: their summaries (secrets are never printed) and the redaction of the
//! secrets they, and v2 auth-store writes, carry.

use std::fmt::{self, Write as _};

use etcd_proto::names::enum_str;

use crate::pb::authpb::PermissionType;
use crate::pb::etcdserverpb::{InternalRaftRequest, Request};

use super::escape::{opt_name, q, write_range_end};
use super::{EntryKind, Payload};

/// Replacement written over secrets by [`Payload::redact`].
pub const REDACTED: &[u8] = b"<redacted>";

impl Payload {
    /// True if [`Payload::redact`] would change something.
    pub fn has_secrets(&self) -> bool {
        self.redacted() != *self
    }

    /// Blanks every secret in place: replaces each non-empty secret with [`REDACTED`] (empty
    /// ones stay empty, so "no password" remains visible). Secrets are
    /// `authenticate.password` / `.simple_token`, `auth_user_add.password` /
    /// `.hashed_password`, `auth_user_change_password.password` / `.hashed_password` (etcd
    /// 3.4.23 writes plaintext passwords there, 3.5 bcrypt hashes), and the value of a v2
    /// write under `/2/users/` (v2 auth store: user JSON with a password hash).
    pub fn redact(&mut self) {
        fn blank(b: &mut Vec<u8>) {
            if !b.is_empty() {
                *b = REDACTED.to_vec();
            }
        }
        fn blank_v2(r: &mut Request) {
            if r.path.starts_with(b"/2/users/") {
                blank(&mut r.val);
                blank(&mut r.prev_value);
            }
        }
        match self {
            Payload::Request(r) => {
                if let Some(a) = &mut r.authenticate {
                    blank(&mut a.password);
                    blank(&mut a.simple_token);
                }
                if let Some(a) = &mut r.auth_user_add {
                    blank(&mut a.password);
                    blank(&mut a.hashed_password);
                }
                if let Some(a) = &mut r.auth_user_change_password {
                    blank(&mut a.password);
                    blank(&mut a.hashed_password);
                }
                if let Some(v2) = &mut r.v2 {
                    blank_v2(v2);
                }
            }
            Payload::V2(r) => blank_v2(r),
            _ => {}
        }
    }

    /// A copy with every secret blanked, see [`Payload::redact`].
    pub fn redacted(&self) -> Payload {
        let mut p = self.clone();
        p.redact();
        p
    }
}

/// A secret as summaries show it: `""` when empty (no password), else `<redacted>`.
fn secret(b: &[u8]) -> &'static str {
    if b.is_empty() { "\"\"" } else { "<redacted>" }
}

/// The fields of an authenticate or auth_user_*/auth_role_* IRR (`kind` is one of those).
pub(super) fn write_auth(s: &mut String, r: &InternalRaftRequest, kind: EntryKind) -> fmt::Result {
    use EntryKind as K;
    match kind {
        K::Authenticate => match &r.authenticate {
            Some(a) => write!(
                s,
                " name={} password={} simple_token={}",
                q(&a.name),
                secret(&a.password),
                secret(&a.simple_token)
            ),
            None => Ok(()),
        },
        K::AuthUserAdd => match &r.auth_user_add {
            Some(a) => {
                write!(
                    s,
                    " name={} password={} hashed_password={}",
                    q(&a.name),
                    secret(&a.password),
                    secret(&a.hashed_password)
                )?;
                if a.options.is_some_and(|o| o.no_password) {
                    s.write_str(" no_password")?;
                }
                Ok(())
            }
            None => Ok(()),
        },
        K::AuthUserChangePassword => match &r.auth_user_change_password {
            Some(a) => write!(
                s,
                " name={} password={} hashed_password={}",
                q(&a.name),
                secret(&a.password),
                secret(&a.hashed_password)
            ),
            None => Ok(()),
        },
        K::AuthUserDelete => opt_name(s, "name", r.auth_user_delete.as_ref().map(|a| &a.name)),
        K::AuthUserGet => opt_name(s, "name", r.auth_user_get.as_ref().map(|a| &a.name)),
        K::AuthUserGrantRole => match &r.auth_user_grant_role {
            Some(a) => write!(s, " user={} role={}", q(&a.user), q(&a.role)),
            None => Ok(()),
        },
        K::AuthUserRevokeRole => match &r.auth_user_revoke_role {
            Some(a) => write!(s, " name={} role={}", q(&a.name), q(&a.role)),
            None => Ok(()),
        },
        K::AuthRoleAdd => opt_name(s, "name", r.auth_role_add.as_ref().map(|a| &a.name)),
        K::AuthRoleDelete => opt_name(s, "role", r.auth_role_delete.as_ref().map(|a| &a.role)),
        K::AuthRoleGet => opt_name(s, "role", r.auth_role_get.as_ref().map(|a| &a.role)),
        K::AuthRoleGrantPermission => match &r.auth_role_grant_permission {
            Some(a) => {
                write!(s, " name={}", q(&a.name))?;
                if let Some(p) = &a.perm {
                    write!(
                        s,
                        " perm={} key={}",
                        enum_str::<PermissionType>(p.perm_type),
                        q(&p.key)
                    )?;
                    write_range_end(s, &p.range_end)?;
                }
                Ok(())
            }
            None => Ok(()),
        },
        K::AuthRoleRevokePermission => match &r.auth_role_revoke_permission {
            Some(a) => {
                write!(s, " role={} key={}", q(&a.role), q(&a.key))?;
                write_range_end(s, &a.range_end)
            }
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::testutil::{irr, one_of_each, v2};
    use crate::pb::etcdserverpb::AuthUserAddRequest;

    #[test]
    fn redaction() {
        for (kind, req) in one_of_each() {
            let p = Payload::Request(Box::new(req));
            let r = p.redacted();
            let expect_secret = matches!(
                kind,
                EntryKind::Authenticate
                    | EntryKind::AuthUserAdd
                    | EntryKind::AuthUserChangePassword
            );
            assert_eq!(p.has_secrets(), expect_secret, "{kind}");
            assert!(!r.has_secrets(), "{kind}");
            for secret in ["hunter2", "tok.1", "plain", "$2a$10$hash"] {
                assert!(!p.summary(None).contains(secret), "{}", p.summary(None));
                assert!(!format!("{r:?}").contains(secret), "{r:?}");
            }
            let Payload::Request(rr) = &r else { panic!() };
            if let Some(a) = &rr.auth_user_add {
                assert_eq!(a.password, REDACTED);
                assert_eq!(a.hashed_password, REDACTED);
                assert_eq!(a.name, b"u");
            }
            if let Some(a) = &rr.auth_user_change_password {
                assert_eq!(a.password, REDACTED);
                assert_eq!(a.hashed_password, REDACTED);
            }
            if let Some(a) = &rr.authenticate {
                assert_eq!(a.password, REDACTED);
                assert_eq!(a.simple_token, REDACTED);
                assert_eq!(a.name, b"root");
            }
        }
        // 3.5 style: plaintext empty, hash set. The empty field stays empty.
        let p = Payload::Request(Box::new(irr(|r| {
            r.auth_user_add = Some(AuthUserAddRequest {
                name: b"u".to_vec(),
                hashed_password: b"$2a$10$x".to_vec(),
                ..Default::default()
            })
        })));
        let Payload::Request(rr) = p.redacted() else {
            panic!()
        };
        let a = rr.auth_user_add.expect("auth_user_add");
        assert_eq!(
            (a.password.as_slice(), a.hashed_password.as_slice()),
            (&b""[..], REDACTED)
        );
        assert_eq!(
            p.summary(None),
            "auth_user_add name=\"u\" password=\"\" hashed_password=<redacted> user=\"root\""
        );
        // v2 auth store writes.
        let p = Payload::V2(Box::new(Request {
            prev_value: br#"{"password":"$2a$old"}"#.to_vec(),
            ..v2("PUT", "/2/users/bob", r#"{"password":"$2a$..."}"#)
        }));
        assert!(p.has_secrets());
        assert!(!p.summary(None).contains("$2a$"));
        let Payload::V2(r) = p.redacted() else {
            panic!()
        };
        assert_eq!(r.val, REDACTED);
        assert_eq!(r.prev_value, REDACTED);
    }
}
