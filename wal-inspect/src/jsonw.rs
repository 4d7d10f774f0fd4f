//! A compact JSON writer for the output lines: the bytes `serde_json::to_writer` writes
//! (same escapes, same number forms, floats delegated to serde_json itself), made for
//! `dump --json` on large WALs:
//!
//! - strings are escaped eight bytes at a time where nothing needs escaping, and byte by
//!   byte into one reserved buffer where something does (serde_json copies each run between
//!   escapes with its own call: most of `dump --json`'s time on Kubernetes JSON values,
//!   which are dense with quotes);
//! - a newtype struct named [`etcd_proto::json::RAW_STR`] is a string that needs no escaping
//!   (base64): it is written as is, without being scanned.
//!
//! Every line of every command goes through it ([`crate::output::json_line`]); the golden
//! files hold its output to serde_json's byte for byte.

use serde::ser::{self, Serialize};

/// A serialization error (from a `Serialize` impl, or a map key that is not a string).
#[derive(Debug)]
pub struct Error(String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

/// Append `value` as compact JSON to `out`.
pub fn to_vec<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<(), Error> {
    value.serialize(&mut Writer { out })
}

#[derive(Debug)]
struct Writer<'a> {
    out: &'a mut Vec<u8>,
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Whether any of the 8 bytes of `x` is below 0x20, a `"` or a `\`.
fn needs_escape(x: u64) -> bool {
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    let below_space = x.wrapping_sub(ONES * 0x20) & !x & HIGHS;
    (below_space | zero(x ^ (ONES * u64::from(b'"'))) | zero(x ^ (ONES * u64::from(b'\\')))) != 0
}

/// serde_json's escape of one byte, or `None` when it stands for itself.
const fn escape_of(b: u8) -> Option<&'static [u8]> {
    Some(match b {
        b'"' => b"\\\"",
        b'\\' => b"\\\\",
        b'\n' => b"\\n",
        b'\r' => b"\\r",
        b'\t' => b"\\t",
        0x08 => b"\\b",
        0x0c => b"\\f",
        0..=0x1f => return Some(&CONTROL[b as usize]),
        _ => return None,
    })
}

/// `\u00XX` for every control byte (lowercase hex, as serde_json writes it).
static CONTROL: [[u8; 6]; 32] = {
    let hex = b"0123456789abcdef";
    let mut t = [[0u8; 6]; 32];
    let mut i = 0;
    while i < 32 {
        t[i] = [b'\\', b'u', b'0', b'0', hex[i >> 4], hex[i & 15]];
        i += 1;
    }
    t
};

/// For every byte: what it is written as (the byte itself, or its escape) in the first
/// bytes, and that length in the last.
static ESCAPES: [[u8; 8]; 256] = {
    let mut t = [[0u8; 8]; 256];
    let mut b = 0;
    while b < 256 {
        if let Some(e) = escape_of(b as u8) {
            let mut i = 0;
            while i < e.len() {
                t[b][i] = e[i];
                i += 1;
            }
            t[b][7] = e.len() as u8;
        } else {
            t[b][0] = b as u8;
            t[b][7] = 1;
        }
        b += 1;
    }
    t
};

/// Bytes escaped at a time once an 8-byte word needs escaping (escapes come in clusters:
/// the quotes of JSON values, the control bytes of protobuf ones).
const ESCAPE_RUN: usize = 64;

/// Append `s` as a JSON string: runs of 8-byte words with nothing to escape are copied
/// with one copy each; a word that needs escaping starts a table-driven run of up to
/// [`ESCAPE_RUN`] bytes written through a stack buffer (one copy per run, no capacity
/// check per byte).
fn write_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut clean_from = 0;
    let mut i = 0;
    while let Some(word) = bytes.get(i..i + 8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        if needs_escape(u64::from_le_bytes(w)) {
            out.extend_from_slice(bytes.get(clean_from..i).unwrap_or_default());
            let end = (i + ESCAPE_RUN).min(bytes.len());
            escape_run(out, bytes.get(i..end).unwrap_or_default());
            i = end;
            clean_from = end;
        } else {
            i += 8;
        }
    }
    out.extend_from_slice(bytes.get(clean_from..i).unwrap_or_default());
    escape_run(out, bytes.get(i..).unwrap_or_default());
    out.push(b'"');
}

/// Escape at most [`ESCAPE_RUN`] bytes (6 bytes of output each at most); each byte's table
/// entry is copied whole (a fixed 8-byte copy) and the output advances by its length.
fn escape_run(out: &mut Vec<u8>, run: &[u8]) {
    let mut buf = [0u8; ESCAPE_RUN * 6 + 8];
    let mut n = 0;
    for &b in run.iter().take(ESCAPE_RUN) {
        let e = &ESCAPES[b as usize];
        if let Some(dst) = buf.get_mut(n..n + 8) {
            dst.copy_from_slice(e);
        }
        n += e[7] as usize;
    }
    out.extend_from_slice(buf.get(..n).unwrap_or_default());
}

fn write_int<I: itoa::Integer>(out: &mut Vec<u8>, i: I) {
    out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes());
}

/// Floats as serde_json writes them (its own formatter; `null` when not finite).
fn write_float<F: Serialize>(out: &mut Vec<u8>, f: F) -> Result<(), Error> {
    serde_json::to_writer(&mut *out, &f).map_err(|e| Error(e.to_string()))
}

impl<'w> ser::Serializer for &'w mut Writer<'_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'w>;
    type SerializeTuple = Compound<'w>;
    type SerializeTupleStruct = Compound<'w>;
    type SerializeTupleVariant = Compound<'w>;
    type SerializeMap = Compound<'w>;
    type SerializeStruct = Compound<'w>;
    type SerializeStructVariant = Compound<'w>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        write_int(self.out, v);
        Ok(())
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        write_int(self.out, v);
        Ok(())
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        write_int(self.out, v);
        Ok(())
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        write_int(self.out, v);
        Ok(())
    }
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        write_int(self.out, v);
        Ok(())
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        write_int(self.out, v);
        Ok(())
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        write_int(self.out, v);
        Ok(())
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        write_int(self.out, v);
        Ok(())
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        write_int(self.out, v);
        Ok(())
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        write_int(self.out, v);
        Ok(())
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        write_float(self.out, v)
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        write_float(self.out, v)
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        write_str(self.out, v.encode_utf8(&mut [0u8; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        write_str(self.out, v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        use ser::SerializeSeq as _;
        let mut seq = self.serialize_seq(Some(v.len()))?;
        for b in v {
            seq.serialize_element(b)?;
        }
        seq.end()
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.serialize_none()
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.serialize_none()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        write_str(self.out, variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        if name == etcd_proto::json::RAW_STR {
            return value.serialize(RawStr { out: self.out });
        }
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.out.push(b'{');
        write_str(self.out, variant);
        self.out.push(b':');
        value.serialize(&mut *self)?;
        self.out.push(b'}');
        Ok(())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'w>, Error> {
        self.out.push(b'[');
        Ok(Compound::new(self.out, b']', false))
    }
    fn serialize_tuple(self, len: usize) -> Result<Compound<'w>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Compound<'w>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'w>, Error> {
        self.out.push(b'{');
        write_str(self.out, variant);
        self.out.extend_from_slice(b":[");
        Ok(Compound::new(self.out, b']', true))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'w>, Error> {
        self.out.push(b'{');
        Ok(Compound::new(self.out, b'}', false))
    }
    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<Compound<'w>, Error> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'w>, Error> {
        self.out.push(b'{');
        write_str(self.out, variant);
        self.out.extend_from_slice(b":{");
        Ok(Compound::new(self.out, b'}', true))
    }
}

/// An array or object being written: its closing byte, whether an element was written, and
/// whether a variant's wrapping object must be closed too.
#[derive(Debug)]
pub struct Compound<'w> {
    out: &'w mut Vec<u8>,
    close: u8,
    first: bool,
    wrapped: bool,
}

impl<'w> Compound<'w> {
    fn new(out: &'w mut Vec<u8>, close: u8, wrapped: bool) -> Self {
        Compound {
            out,
            close,
            first: true,
            wrapped,
        }
    }

    fn comma(&mut self) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.comma();
        value.serialize(&mut Writer { out: self.out })
    }

    fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), Error> {
        self.comma();
        write_str(self.out, key);
        self.out.push(b':');
        value.serialize(&mut Writer { out: self.out })
    }

    fn finish(self) -> Result<(), Error> {
        self.out.push(self.close);
        if self.wrapped {
            self.out.push(b'}');
        }
        Ok(())
    }
}

impl ser::SerializeSeq for Compound<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl ser::SerializeTuple for Compound<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl ser::SerializeTupleStruct for Compound<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl ser::SerializeTupleVariant for Compound<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.comma();
        key.serialize(MapKey { out: self.out })?;
        self.out.push(b':');
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(&mut Writer { out: self.out })
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl ser::SerializeStruct for Compound<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.field(key, value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl ser::SerializeStructVariant for Compound<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.field(key, value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

fn key_must_be_a_string() -> Error {
    Error("key must be a string".into())
}

/// A map key: strings as strings, integers, bools and chars quoted (serde_json's
/// `MapKeySerializer`), anything else an error.
#[derive(Debug)]
struct MapKey<'a> {
    out: &'a mut Vec<u8>,
}

impl MapKey<'_> {
    fn quoted_int<I: itoa::Integer>(self, i: I) -> Result<(), Error> {
        self.out.push(b'"');
        write_int(self.out, i);
        self.out.push(b'"');
        Ok(())
    }
}

impl ser::Serializer for MapKey<'_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = ser::Impossible<(), Error>;
    type SerializeTuple = ser::Impossible<(), Error>;
    type SerializeTupleStruct = ser::Impossible<(), Error>;
    type SerializeTupleVariant = ser::Impossible<(), Error>;
    type SerializeMap = ser::Impossible<(), Error>;
    type SerializeStruct = ser::Impossible<(), Error>;
    type SerializeStructVariant = ser::Impossible<(), Error>;

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        write_str(self.out, v);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        write_str(self.out, v.encode_utf8(&mut [0u8; 4]));
        Ok(())
    }
    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        write_str(self.out, if v { "true" } else { "false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.quoted_int(v)
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.quoted_int(v)
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.quoted_int(v)
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.quoted_int(v)
    }
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        self.quoted_int(v)
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.quoted_int(v)
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.quoted_int(v)
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.quoted_int(v)
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.quoted_int(v)
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        self.quoted_int(v)
    }
    fn serialize_f32(self, _v: f32) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_f64(self, _v: f64) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_none(self) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit(self) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        write_str(self.out, variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(key_must_be_a_string())
    }
}

/// The inner string of a [`etcd_proto::json::RAW_STR`] newtype: written between quotes as
/// is. Anything else inside one is an error (the marker is only for strings that need no
/// escaping).
#[derive(Debug)]
struct RawStr<'a> {
    out: &'a mut Vec<u8>,
}

fn not_a_raw_string() -> Error {
    Error(format!("{} holds a string", etcd_proto::json::RAW_STR))
}

impl ser::Serializer for RawStr<'_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = ser::Impossible<(), Error>;
    type SerializeTuple = ser::Impossible<(), Error>;
    type SerializeTupleStruct = ser::Impossible<(), Error>;
    type SerializeTupleVariant = ser::Impossible<(), Error>;
    type SerializeMap = ser::Impossible<(), Error>;
    type SerializeStruct = ser::Impossible<(), Error>;
    type SerializeStructVariant = ser::Impossible<(), Error>;

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.out.reserve(v.len() + 2);
        self.out.push(b'"');
        self.out.extend_from_slice(v.as_bytes());
        self.out.push(b'"');
        Ok(())
    }
    fn serialize_bool(self, _v: bool) -> Result<(), Error> {
        Err(not_a_raw_string())
    }
    fn serialize_i8(self, _v: i8) -> Result<(), Error> {
        Err(not_a_raw_string())
    }
    fn serialize_i16(self, _v: i16) -> Result<(), Error> {
        Err(not_a_raw_string())
    }
    fn serialize_i32(self, _v: i32) -> Result<(), Error> {
        Err(not_a_raw_string())
    }
    fn serialize_i64(self, _v: i64) -> Result<(), Error> {
        Err(not_a_raw_string())
    }
    fn serialize_u8(self, _v: u8) -> Result<(), Error> {
        Err(not_a_raw_string())
    }
    fn serialize_u16(self, _v: u16) -> Result<(), Error> {
        Err(not_a_raw_string())
    }
    fn serialize_u32(self, _v: u32) -> Result<(), Error> {
        Err(not_a_raw_string())
    }
    fn serialize_u64(self, _v: u64) -> Result<(), Error> {
        Err(not_a_raw_string())
    }
    fn serialize_f32(self, _v: f32) -> Result<(), Error> {
        Err(not_a_raw_string())
    }
    fn serialize_f64(self, _v: f64) -> Result<(), Error> {
        Err(not_a_raw_string())
    }
    fn serialize_char(self, _v: char) -> Result<(), Error> {
        Err(not_a_raw_string())
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<(), Error> {
        Err(not_a_raw_string())
    }
    fn serialize_none(self) -> Result<(), Error> {
        Err(not_a_raw_string())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<(), Error> {
        Err(not_a_raw_string())
    }
    fn serialize_unit(self) -> Result<(), Error> {
        Err(not_a_raw_string())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        Err(not_a_raw_string())
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
    ) -> Result<(), Error> {
        Err(not_a_raw_string())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _value: &T,
    ) -> Result<(), Error> {
        Err(not_a_raw_string())
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), Error> {
        Err(not_a_raw_string())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(not_a_raw_string())
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        Err(not_a_raw_string())
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(not_a_raw_string())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(not_a_raw_string())
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(not_a_raw_string())
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Error> {
        Err(not_a_raw_string())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(not_a_raw_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours<T: Serialize + ?Sized>(v: &T) -> String {
        let mut out = Vec::new();
        to_vec(&mut out, v).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// Every byte value, alone and inside 8-byte chunks, escapes as serde_json escapes it.
    #[test]
    fn strings_escape_as_serde_json() {
        let mut texts: Vec<String> = (0u8..128)
            .map(|b| format!("{}", b as char))
            .chain((0u8..128).map(|b| format!("abcdefg{}hijklmnopq", b as char)))
            .collect();
        texts.push("{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{}}".into());
        texts.push("héllo wörld — ☃ \u{1F600} \u{7f}\u{80}".into());
        // Long strings: clean runs around escape runs, escapes across run boundaries.
        let json = "{\"kind\":\"ConfigMap\",\"data\":{\"k\":\"line\\n\ttab\"}}".repeat(40);
        texts.push(json);
        let mixed: String = (0..5000u32)
            .map(|i| char::from(((i * 7919) % 97 + if i % 13 == 0 { 0 } else { 30 }) as u8))
            .collect();
        texts.push(mixed);
        texts.push(format!("{}\"{}", "a".repeat(63), "b".repeat(200)));
        texts.push(format!("{}\u{1}", "x".repeat(ESCAPE_RUN * 3 + 5)));
        texts.push(String::new());
        for t in &texts {
            assert_eq!(ours(t), serde_json::to_string(t).unwrap(), "{t:?}");
        }
    }

    #[derive(serde::Serialize)]
    enum E {
        Unit,
        New(u8),
        Tuple(u8, i64),
        Struct { a: Option<bool> },
    }

    #[derive(serde::Serialize)]
    struct S<'a> {
        n: i64,
        u: u128,
        f: f64,
        nan: f64,
        s: &'a str,
        v: Vec<E>,
        m: std::collections::BTreeMap<u32, &'a str>,
        b: serde_bytes_like::Bytes<'a>,
        #[serde(flatten)]
        rest: serde_json::Value,
        raw: etcd_proto::json::Bytes<'a>,
    }

    mod serde_bytes_like {
        pub struct Bytes<'a>(pub &'a [u8]);
        impl serde::Serialize for Bytes<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(self.0)
            }
        }
    }

    /// Every shape serde produces is written as serde_json writes it, and a `RAW_STR`
    /// newtype (base64 in [`etcd_proto::json::Bytes`]) as the plain string serde_json writes.
    #[test]
    fn shapes_write_as_serde_json() {
        let v = S {
            n: -42,
            u: u128::MAX,
            f: 0.1 + 0.2,
            nan: f64::NAN,
            s: "x\"y",
            v: vec![E::Unit, E::New(7), E::Tuple(1, -1), E::Struct { a: None }],
            m: [(1, "one"), (20, "twenty")].into_iter().collect(),
            b: serde_bytes_like::Bytes(&[1, 2, 255]),
            rest: serde_json::json!({"extra": [1.5, null, {"k": "v"}], "e": {}}),
            raw: etcd_proto::json::Bytes(&[0xff, 0xfe, 0x00, 0x41]),
        };
        assert_eq!(ours(&v), serde_json::to_string(&v).unwrap());
        assert!(ours(&v).contains(r#""raw":{"base64":"//4AQQ=="}"#));
    }
}
