//! `crypto.md5`, `crypto.sha1`, `crypto.sha256` and `crypto.hmac.*`: lower-case hex digests of strings.

use anyhow::Result;
use hmac::{Hmac, Mac};
use md5::Md5;
use regorus::Value;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};

use super::args::string;

fn digest<D: Digest>(text: &str) -> Value {
    Value::from(hex::encode(D::digest(text.as_bytes())))
}

fn hmac<M: Mac + hmac::digest::KeyInit>(name: &str, args: &[Value]) -> Result<Value> {
    let message = string(name, args, 0)?;
    let key = string(name, args, 1)?;
    let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(key.as_bytes())
        .map_err(|err| anyhow::anyhow!("{name}: {err}"))?;
    mac.update(message.as_bytes());
    Ok(Value::from(hex::encode(mac.finalize().into_bytes())))
}

/// Compares two MACs in time independent of where they differ (only of their lengths).
pub(super) fn constant_time_equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn md5(args: &[Value]) -> Result<Value> {
    Ok(digest::<Md5>(string("crypto.md5", args, 0)?))
}

fn sha1(args: &[Value]) -> Result<Value> {
    Ok(digest::<Sha1>(string("crypto.sha1", args, 0)?))
}

fn sha256(args: &[Value]) -> Result<Value> {
    Ok(digest::<Sha256>(string("crypto.sha256", args, 0)?))
}

fn hmac_equal(args: &[Value]) -> Result<Value> {
    let a = string("crypto.hmac.equal", args, 0)?;
    let b = string("crypto.hmac.equal", args, 1)?;
    Ok(Value::from(constant_time_equal(a.as_bytes(), b.as_bytes())))
}

pub const FUNCTIONS: &[super::Builtin] = &[
    ("crypto.md5", 1, md5),
    ("crypto.sha1", 1, sha1),
    ("crypto.sha256", 1, sha256),
    ("crypto.hmac.md5", 2, |args| hmac::<Hmac<Md5>>("crypto.hmac.md5", args)),
    ("crypto.hmac.sha1", 2, |args| hmac::<Hmac<Sha1>>("crypto.hmac.sha1", args)),
    ("crypto.hmac.sha256", 2, |args| hmac::<Hmac<Sha256>>("crypto.hmac.sha256", args)),
    ("crypto.hmac.sha512", 2, |args| hmac::<Hmac<Sha512>>("crypto.hmac.sha512", args)),
    ("crypto.hmac.equal", 2, hmac_equal),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> Value {
        Value::from(text)
    }

    #[test]
    fn digests_match_published_test_vectors() {
        // RFC 1321, FIPS 180 test vectors for "abc".
        assert_eq!(digest::<Md5>("abc"), s("900150983cd24fb0d6963f7d28e17f72"));
        assert_eq!(digest::<Sha1>("abc"), s("a9993e364706816aba3e25717850c26c9cd0d89d"));
        assert_eq!(
            digest::<Sha256>("abc"),
            s("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let args = [s("what do ya want for nothing?"), s("Jefe")];
        assert_eq!(
            hmac::<Hmac<Sha256>>("t", &args).unwrap(),
            s("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        );
    }

    #[test]
    fn non_string_operands_are_errors() {
        let err = hmac::<Hmac<Sha256>>("crypto.hmac.sha256", &[Value::from(1u64), s("k")]).unwrap_err();
        assert_eq!(err.to_string(), "crypto.hmac.sha256: operand 1 must be string but got number");
    }

    #[test]
    fn equal_is_exact() {
        assert!(constant_time_equal(b"abc", b"abc"));
        assert!(!constant_time_equal(b"abc", b"abd"));
        assert!(!constant_time_equal(b"abc", b"ab"));
    }
}
