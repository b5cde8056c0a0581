//! A minimal DER reader for the private-key structures OPA's key builtins read (PKCS #1, PKCS #8,
//! SEC 1): tag, length, contents, nothing more. Everything is bounds-checked; malformed input is an
//! error, never a panic.

use anyhow::{Result, bail};

/// DER tags used by the key formats.
pub mod tag {
    /// INTEGER
    pub const INTEGER: u8 = 0x02;
    /// BIT STRING
    pub const BIT_STRING: u8 = 0x03;
    /// OCTET STRING
    pub const OCTET_STRING: u8 = 0x04;
    /// OBJECT IDENTIFIER
    pub const OID: u8 = 0x06;
    /// SEQUENCE
    pub const SEQUENCE: u8 = 0x30;
}

/// A cursor over DER elements.
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    /// Whether every element has been read.
    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The next element, which must have `expected` as its tag; its contents.
    pub fn read(&mut self, expected: u8) -> Result<&'a [u8]> {
        let (tag, contents) = self.read_any()?;
        if tag != expected {
            bail!("malformed DER: expected tag 0x{expected:02x}, found 0x{tag:02x}");
        }
        Ok(contents)
    }

    /// The next element's tag and contents.
    pub fn read_any(&mut self) -> Result<(u8, &'a [u8])> {
        let [tag, first, rest @ ..] = self.rest else { bail!("malformed DER: truncated element") };
        let (length, rest) = if first & 0x80 == 0 {
            (usize::from(*first), rest)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 || rest.len() < count {
                bail!("malformed DER: bad length");
            }
            let length = rest[..count].iter().fold(0usize, |acc, byte| (acc << 8) | usize::from(*byte));
            (length, &rest[count..])
        };
        if rest.len() < length {
            bail!("malformed DER: element longer than its input");
        }
        let (contents, after) = rest.split_at(length);
        self.rest = after;
        Ok((*tag, contents))
    }

    /// The next INTEGER's magnitude, big-endian without leading zero bytes (as Go's `big.Int.Bytes`).
    pub fn unsigned(&mut self) -> Result<Vec<u8>> {
        let contents = self.read(tag::INTEGER)?;
        let start = contents.iter().position(|byte| *byte != 0).unwrap_or(contents.len());
        Ok(contents[start..].to_vec())
    }
}

/// An OBJECT IDENTIFIER's contents in dotted form.
pub fn oid_string(contents: &[u8]) -> String {
    let mut parts: Vec<u64> = Vec::new();
    let mut value = 0u64;
    for (index, byte) in contents.iter().enumerate() {
        value = (value << 7) | u64::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            if parts.is_empty() && index < contents.len() {
                let first = (value / 40).min(2);
                parts.push(first);
                parts.push(value - first * 40);
            } else {
                parts.push(value);
            }
            value = 0;
        }
    }
    parts.iter().map(u64::to_string).collect::<Vec<_>>().join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nested_elements_and_long_lengths() {
        let mut long = vec![0x04, 0x81, 0x80];
        long.extend([7u8; 0x80]);
        let mut sequence = vec![tag::SEQUENCE, 0x81, (long.len() + 4) as u8, 0x02, 0x02, 0x00, 0x9f];
        sequence.extend(&long);
        let mut outer = Reader::new(&sequence);
        let mut inner = Reader::new(outer.read(tag::SEQUENCE).unwrap());
        assert_eq!(inner.unsigned().unwrap(), vec![0x9f]);
        assert_eq!(inner.read(tag::OCTET_STRING).unwrap().len(), 0x80);
        assert!(inner.is_empty() && outer.is_empty());
    }

    #[test]
    fn malformed_input_is_an_error() {
        for bad in [&[][..], &[0x30], &[0x30, 0x05, 0x00], &[0x30, 0x85, 1, 1, 1, 1, 1], &[0x02, 0x80]] {
            assert!(Reader::new(bad).read_any().is_err(), "{bad:?}");
        }
        assert!(Reader::new(&[0x02, 0x01, 0x00]).read(tag::SEQUENCE).is_err());
    }

    #[test]
    fn oids_print_dotted() {
        assert_eq!(
            oid_string(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01]),
            "1.2.840.113549.1.1.1"
        );
        assert_eq!(oid_string(&[0x2b, 0x65, 0x70]), "1.3.101.112");
    }
}
