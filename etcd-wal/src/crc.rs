//! The running CRC-32C (Castagnoli) chain over record data.
//!
//! etcd (`pkg/crc`, `wal/decoder.go`): `next = crc32c_append(prev, data)` over the `data`
//! field of every non-crc record; crc records carry the running value and reset it.

/// CRC-32C of `data` continuing from `prev` (etcd's `crc.Update`).
pub fn append(prev: u32, data: &[u8]) -> u32 {
    etcd_proto::crc32c::append(prev, data)
}

/// Running CRC state of a decoder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CrcChain {
    value: u32,
}

impl CrcChain {
    /// A chain starting from `value` (0 for a fresh decoder).
    pub fn new(value: u32) -> Self {
        CrcChain { value }
    }

    /// Current running value.
    pub fn value(self) -> u32 {
        self.value
    }

    /// Append a record's data and return the new running value.
    pub fn update(&mut self, data: &[u8]) -> u32 {
        self.value = append(self.value, data);
        self.value
    }

    /// Reset to a crc record's value.
    pub fn reset(&mut self, value: u32) {
        self.value = value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_value_and_chaining() {
        assert_eq!(append(0, b"123456789"), 0xE306_9283);
        // etcd's TestNew.wal vector (wal/wal_test.go).
        let a = append(0, b"somedata");
        assert_eq!(a, 0x741f_6a05);
        assert_eq!(append(a, &[0x08, 0x00, 0x10, 0x00]), 0x1820_6d80);
    }
}
