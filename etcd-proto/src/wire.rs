//! A minimal, zero-copy protobuf wire reader that fails the way etcd's gogoproto
//! decoders (3.4–3.6) fail.
//!
//! The distinction matters: gogo returns a bare `io.ErrUnexpectedEOF` for a truncated
//! field, which etcd treats as a repairable torn tail, while an illegal tag or a wrong
//! wire type is fatal.

use std::fmt;

/// Why a protobuf message did not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(tag = "error", rename_all = "snake_case"))]
pub enum WireError {
    /// A varint or length-delimited field runs past the end (gogo: `unexpected EOF`).
    UnexpectedEof,
    /// A varint longer than 10 bytes (gogo: `proto: integer overflow`).
    IntOverflow,
    /// Field number 0 or negative (gogo: `proto: <Msg>: illegal tag <n> (wire type <w>)`).
    IllegalTag {
        /// Field number as decoded.
        field: i64,
        /// The whole tag varint, as gogo prints it.
        tag: u64,
    },
    /// A known field with an unexpected wire type.
    WrongWireType {
        /// Field number.
        field: u32,
        /// Wire type found.
        wire_type: u8,
    },
    /// End-group marker outside a group, or an unknown wire type 6/7.
    InvalidWireType {
        /// Wire type found.
        wire_type: u8,
    },
    /// A negative length (gogo: `proto: negative length found during unmarshaling`).
    InvalidLength,
}

impl WireError {
    /// Whether etcd sees this as `io.ErrUnexpectedEOF` (repairable in the last segment).
    pub fn is_unexpected_eof(self) -> bool {
        matches!(self, WireError::UnexpectedEof)
    }
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::UnexpectedEof => f.write_str("unexpected EOF"),
            WireError::IntOverflow => f.write_str("proto: integer overflow"),
            WireError::IllegalTag { field, tag } => {
                write!(f, "proto: illegal tag {field} (wire type {tag})")
            }
            WireError::WrongWireType { field, wire_type } => {
                write!(f, "proto: wrong wireType = {wire_type} for field {field}")
            }
            WireError::InvalidWireType { wire_type } => {
                write!(f, "proto: illegal wireType {wire_type}")
            }
            WireError::InvalidLength => {
                f.write_str("proto: negative length found during unmarshaling")
            }
        }
    }
}

impl std::error::Error for WireError {}

/// The value of one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 1.
    Fixed64(u64),
    /// Wire type 2.
    Bytes(&'a [u8]),
    /// Wire type 5.
    Fixed32(u32),
}

/// Iterates the fields of one message.
#[derive(Debug, Clone)]
pub struct Fields<'a> {
    buf: &'a [u8],
    pos: usize,
    lenient: bool,
}

impl<'a> Fields<'a> {
    /// Start reading `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Fields {
            buf,
            pos: 0,
            lenient: false,
        }
    }

    /// Like [`Fields::new`], but a length-delimited field that runs past the end yields
    /// the bytes that are there (for salvaging damaged records).
    pub fn lenient(buf: &'a [u8]) -> Self {
        Fields {
            buf,
            pos: 0,
            lenient: true,
        }
    }

    fn varint(&mut self) -> Result<u64, WireError> {
        let mut value = 0u64;
        let mut shift = 0u32;
        loop {
            if shift >= 64 {
                return Err(WireError::IntOverflow);
            }
            let b = *self.buf.get(self.pos).ok_or(WireError::UnexpectedEof)?;
            self.pos += 1;
            value |= u64::from(b & 0x7f).wrapping_shl(shift);
            if b < 0x80 {
                return Ok(value);
            }
            shift += 7;
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        let end = self.pos.checked_add(n).ok_or(WireError::InvalidLength)?;
        let out = self
            .buf
            .get(self.pos..end)
            .ok_or(WireError::UnexpectedEof)?;
        self.pos = end;
        Ok(out)
    }

    /// Offset of the next field in the buffer (after the last one read), so a caller can
    /// copy a field's bytes verbatim.
    pub fn offset(&self) -> usize {
        self.pos
    }

    /// The next `(field number, value)`, or `None` at the end of the message.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<(u32, Value<'a>)>, WireError> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let tag = self.varint()?;
        let wire_type = (tag & 7) as u8;
        if wire_type == 4 {
            return Err(WireError::InvalidWireType { wire_type });
        }
        // gogo converts the tag to int32 before the check.
        let field = i64::from((tag >> 3) as i32);
        if field <= 0 {
            return Err(WireError::IllegalTag { field, tag });
        }
        let field = field as u32;
        let value = match wire_type {
            0 => Value::Varint(self.varint()?),
            1 => {
                let b = self.take(8)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                Value::Fixed64(u64::from_le_bytes(a))
            }
            2 => {
                let len = self.varint()?;
                let len = i64::try_from(len).map_err(|_| WireError::InvalidLength)?;
                let mut len = usize::try_from(len).map_err(|_| WireError::InvalidLength)?;
                if self.lenient {
                    len = len.min(self.buf.len().saturating_sub(self.pos));
                }
                Value::Bytes(self.take(len)?)
            }
            5 => {
                let b = self.take(4)?;
                let mut a = [0u8; 4];
                a.copy_from_slice(b);
                Value::Fixed32(u32::from_le_bytes(a))
            }
            _ => return Err(WireError::InvalidWireType { wire_type }),
        };
        Ok(Some((field, value)))
    }
}

/// Expect a varint for `field`.
pub fn varint(field: u32, v: Value<'_>) -> Result<u64, WireError> {
    match v {
        Value::Varint(x) => Ok(x),
        other => Err(WireError::WrongWireType {
            field,
            wire_type: wire_type_of(other),
        }),
    }
}

/// Expect a length-delimited value for `field`.
pub fn bytes(field: u32, v: Value<'_>) -> Result<&[u8], WireError> {
    match v {
        Value::Bytes(b) => Ok(b),
        other => Err(WireError::WrongWireType {
            field,
            wire_type: wire_type_of(other),
        }),
    }
}

fn wire_type_of(v: Value<'_>) -> u8 {
    match v {
        Value::Varint(_) => 0,
        Value::Fixed64(_) => 1,
        Value::Bytes(_) => 2,
        Value::Fixed32(_) => 5,
    }
}

/// Append a varint (for writers and tests).
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Append a varint field.
pub fn put_varint_field(out: &mut Vec<u8>, field: u32, v: u64) {
    put_varint(out, u64::from(field) << 3);
    put_varint(out, v);
}

/// Append a length-delimited field.
pub fn put_bytes_field(out: &mut Vec<u8>, field: u32, b: &[u8]) {
    put_varint(out, (u64::from(field) << 3) | 2);
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_and_classifies_errors() {
        let mut buf = Vec::new();
        put_varint_field(&mut buf, 1, 2);
        put_bytes_field(&mut buf, 3, b"abc");
        let mut f = Fields::new(&buf);
        assert_eq!(f.next().unwrap(), Some((1, Value::Varint(2))));
        assert_eq!(f.next().unwrap(), Some((3, Value::Bytes(b"abc"))));
        assert_eq!(f.next().unwrap(), None);

        let cut = &buf[..buf.len() - 1];
        let mut f = Fields::new(cut);
        f.next().unwrap();
        assert_eq!(f.next(), Err(WireError::UnexpectedEof));

        assert_eq!(
            Fields::new(&[0, 0]).next(),
            Err(WireError::IllegalTag { field: 0, tag: 0 })
        );
        assert_eq!(
            Fields::new(&[0x0c]).next(),
            Err(WireError::InvalidWireType { wire_type: 4 })
        );
        assert_eq!(Fields::new(&[0xff; 11]).next(), Err(WireError::IntOverflow));
    }
}
