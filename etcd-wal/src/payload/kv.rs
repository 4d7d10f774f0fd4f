//! Summaries of the KV requests: put, range, delete_range and txn (its compares and its
//! operations, nested txns included).

use std::fmt::{self, Write as _};

use etcd_proto::names::enum_str;
use etcd_proto::text::{lease_id, shorten};

use crate::pb::etcdserverpb::{
    Compare, CompareResult, CompareTarget, DeleteRangeRequest, InternalRaftRequest, PutRequest,
    RangeRequest, RequestOp, SortOrder, SortTarget, TxnRequest, compare::TargetUnion, request_op,
};

use super::EntryKind;
use super::escape::{q, write_range_end};

/// The fields of a put, range, delete_range or txn IRR (`kind` is one of those).
pub(super) fn write_kv(
    s: &mut String,
    r: &InternalRaftRequest,
    kind: EntryKind,
    max: Option<usize>,
) -> fmt::Result {
    use EntryKind as K;
    match kind {
        K::Put => match &r.put {
            Some(p) => write_put(s, p, max),
            None => Ok(()),
        },
        K::Range => match &r.range {
            Some(rg) => write_range(s, rg),
            None => Ok(()),
        },
        K::DeleteRange => match &r.delete_range {
            Some(d) => write_delete(s, d),
            None => Ok(()),
        },
        K::Txn => match &r.txn {
            Some(t) => {
                s.push(' ');
                write_txn_body(s, t, max)
            }
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

fn write_put(s: &mut String, p: &PutRequest, max: Option<usize>) -> fmt::Result {
    write!(s, " key={}", q(&p.key))?;
    if p.ignore_value {
        s.write_str(" ignore_value")?;
    } else {
        write!(s, " value={}", shorten(&p.value, max))?;
    }
    if p.ignore_lease {
        s.write_str(" ignore_lease")?;
    } else {
        write!(s, " lease={}", lease_id(p.lease))?;
    }
    if p.prev_kv {
        s.write_str(" prev_kv")?;
    }
    Ok(())
}

fn write_range(s: &mut String, r: &RangeRequest) -> fmt::Result {
    write!(s, " key={}", q(&r.key))?;
    write_range_end(s, &r.range_end)?;
    if r.revision != 0 {
        write!(s, " revision={}", r.revision)?;
    }
    if r.limit != 0 {
        write!(s, " limit={}", r.limit)?;
    }
    if r.keys_only {
        s.write_str(" keys_only")?;
    }
    if r.count_only {
        s.write_str(" count_only")?;
    }
    if r.serializable {
        s.write_str(" serializable")?;
    }
    if r.sort_order != 0 {
        write!(
            s,
            " sort={}:{}",
            enum_str::<SortOrder>(r.sort_order),
            enum_str::<SortTarget>(r.sort_target)
        )?;
    }
    Ok(())
}

fn write_delete(s: &mut String, d: &DeleteRangeRequest) -> fmt::Result {
    write!(s, " key={}", q(&d.key))?;
    write_range_end(s, &d.range_end)?;
    if d.prev_kv {
        s.write_str(" prev_kv")?;
    }
    Ok(())
}

/// `if <cmp> && <cmp> then <op>; <op> else <op>`
fn write_txn_body(s: &mut String, t: &TxnRequest, max: Option<usize>) -> fmt::Result {
    s.write_str("if")?;
    if t.compare.is_empty() {
        s.write_str(" true")?;
    }
    for (i, c) in t.compare.iter().enumerate() {
        if i > 0 {
            s.write_str(" &&")?;
        }
        s.push(' ');
        write_compare(s, c, max)?;
    }
    s.write_str(" then")?;
    write_ops(s, &t.success, max)?;
    s.write_str(" else")?;
    write_ops(s, &t.failure, max)
}

fn write_ops(s: &mut String, ops: &[RequestOp], max: Option<usize>) -> fmt::Result {
    if ops.is_empty() {
        return s.write_str(" {}");
    }
    for (i, op) in ops.iter().enumerate() {
        if i > 0 {
            s.push(';');
        }
        match &op.request {
            Some(request_op::Request::RequestPut(p)) => {
                s.write_str(" put")?;
                write_put(s, p, max)?;
            }
            Some(request_op::Request::RequestRange(r)) => {
                s.write_str(" range")?;
                write_range(s, r)?;
            }
            Some(request_op::Request::RequestDeleteRange(d)) => {
                s.write_str(" delete_range")?;
                write_delete(s, d)?;
            }
            Some(request_op::Request::RequestTxn(t)) => {
                s.write_str(" txn { ")?;
                write_txn_body(s, t, max)?;
                s.write_str(" }")?;
            }
            None => s.write_str(" <empty op>")?,
        }
    }
    Ok(())
}

fn write_compare(s: &mut String, c: &Compare, max: Option<usize>) -> fmt::Result {
    let target = match CompareTarget::try_from(c.target) {
        Ok(CompareTarget::Version) => "version",
        Ok(CompareTarget::Create) => "create",
        Ok(CompareTarget::Mod) => "mod",
        Ok(CompareTarget::Value) => "value",
        Ok(CompareTarget::Lease) => "lease",
        Err(_) => "target?",
    };
    write!(s, "{target}({}", q(&c.key))?;
    if !c.range_end.is_empty() {
        write!(s, "..{}", q(&c.range_end))?;
    }
    let op = match CompareResult::try_from(c.result) {
        Ok(CompareResult::Equal) => "=",
        Ok(CompareResult::Greater) => ">",
        Ok(CompareResult::Less) => "<",
        Ok(CompareResult::NotEqual) => "!=",
        Err(_) => "?",
    };
    write!(s, ") {op} ")?;
    match &c.target_union {
        Some(TargetUnion::Version(v))
        | Some(TargetUnion::CreateRevision(v))
        | Some(TargetUnion::ModRevision(v)) => write!(s, "{v}"),
        Some(TargetUnion::Lease(v)) => s.write_str(&lease_id(*v)),
        Some(TargetUnion::Value(v)) => s.write_str(&shorten(v, max)),
        None => s.write_str("<none>"),
    }
}

#[cfg(test)]
mod tests {
    use etcd_proto::text::escape_bytes;

    use super::*;
    use crate::payload::Payload;

    #[test]
    fn summary_shortens_values_and_escapes_keys() {
        let p = Payload::Request(Box::new(InternalRaftRequest {
            put: Some(PutRequest {
                key: b"a\"b\\c\x01\xff\xe2\x80\xae\xc3\xa9".to_vec(),
                value: b"hello world".to_vec(),
                lease: 0x694d,
                ..Default::default()
            }),
            ..Default::default()
        }));
        let key = r#"key="a\"b\\c\x01\xff\u{202e}é""#;
        assert_eq!(
            p.summary(None),
            format!("put {key} value=\"hello world\" lease=000000000000694d")
        );
        assert_eq!(
            p.summary(Some(5)),
            format!("put {key} value=\"hello\"…(11 bytes) lease=000000000000694d")
        );
        assert_eq!(
            p.summary(Some(0)),
            format!("put {key} value=<11 bytes> lease=000000000000694d")
        );
        assert_eq!(
            p.summary(Some(11)),
            format!("put {key} value=\"hello world\" lease=000000000000694d")
        );
        assert_eq!(escape_bytes(b"\t\r\n\x7f"), "\\t\\r\\n\\x7f");
        assert_eq!(escape_bytes("\u{85}".as_bytes()), "\\u{0085}");
    }
}
