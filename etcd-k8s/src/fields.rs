//! A schemaless view of a protobuf message: each field's number and value, nested
//! messages opened where the bytes parse as one, text where they are printable, hex
//! otherwise — what `db get --k8s` shows of an object whose kind no schema here describes.

/// One field.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Field {
    /// The field number.
    pub number: u32,
    /// What it holds.
    #[serde(flatten)]
    pub value: FieldValue,
}

/// A field's value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldValue {
    /// A varint (also booleans and enums).
    Varint(u64),
    /// A fixed 64-bit value.
    Fixed64(u64),
    /// A fixed 32-bit value.
    Fixed32(u32),
    /// Printable UTF-8.
    Text(String),
    /// Bytes that are neither text nor a message (hex, cut at 64 bytes).
    Bytes(String),
    /// A nested message.
    Message(Vec<Field>),
}

/// Nesting this deep is shown as bytes.
const MAX_DEPTH: usize = 12;

/// The fields of `buf`, or `None` when it is not a well-formed message.
pub fn fields(buf: &[u8]) -> Option<Vec<Field>> {
    fields_at(buf, 0)
}

fn printable(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| !c.is_control() || c == '\n' || c == '\t')
}

fn fields_at(buf: &[u8], depth: usize) -> Option<Vec<Field>> {
    use etcd_proto::wire::{Fields, Value};
    let mut f = Fields::new(buf);
    let mut out = Vec::new();
    while let Some((number, v)) = f.next().ok()? {
        if number > 536_870_911 {
            return None;
        }
        let value = match v {
            Value::Varint(x) => FieldValue::Varint(x),
            Value::Fixed64(x) => FieldValue::Fixed64(x),
            Value::Fixed32(x) => FieldValue::Fixed32(x),
            Value::Bytes(b) => match std::str::from_utf8(b) {
                Ok(s) if printable(s) => FieldValue::Text(s.to_owned()),
                _ => match (depth < MAX_DEPTH && !b.is_empty())
                    .then(|| fields_at(b, depth + 1))
                    .flatten()
                {
                    Some(inner) if !inner.is_empty() => FieldValue::Message(inner),
                    _ => FieldValue::Bytes(hex(b)),
                },
            },
        };
        out.push(Field { number, value });
    }
    Some(out)
}

fn hex(b: &[u8]) -> String {
    let mut s: String = b.iter().take(64).map(|x| format!("{x:02x}")).collect();
    if b.len() > 64 {
        s.push_str(&format!("…({} bytes)", b.len()));
    }
    s
}

/// The fields as indented lines (`number: value`, nested messages below their number).
pub fn render(fields: &[Field]) -> String {
    let mut out = String::new();
    write_fields(&mut out, fields, 0);
    out
}

fn write_fields(out: &mut String, fields: &[Field], indent: usize) {
    for f in fields {
        let pad = "  ".repeat(indent);
        match &f.value {
            FieldValue::Message(inner) => {
                out.push_str(&format!("{pad}{}:\n", f.number));
                write_fields(out, inner, indent + 1);
            }
            FieldValue::Varint(x) => out.push_str(&format!("{pad}{}: {x}\n", f.number)),
            FieldValue::Fixed64(x) => out.push_str(&format!("{pad}{}: {x} (fixed64)\n", f.number)),
            FieldValue::Fixed32(x) => out.push_str(&format!("{pad}{}: {x} (fixed32)\n", f.number)),
            FieldValue::Text(s) => out.push_str(&format!("{pad}{}: {s:?}\n", f.number)),
            FieldValue::Bytes(h) => out.push_str(&format!("{pad}{}: 0x{h}\n", f.number)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_text_and_numbers() {
        // {1: {1: "a", 2: 5}, 2: "x", 3: 0xff 0xfe}
        let buf = [
            0x0a, 0x05, 0x0a, 0x01, b'a', 0x10, 0x05, 0x12, 0x01, b'x', 0x1a, 0x02, 0xff, 0xfe,
        ];
        let f = fields(&buf).unwrap();
        assert_eq!(render(&f), "1:\n  1: \"a\"\n  2: 5\n2: \"x\"\n3: 0xfffe\n");
        assert_eq!(fields(&[0x0a, 0x05]), None);
    }
}
