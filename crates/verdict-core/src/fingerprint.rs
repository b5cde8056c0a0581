//! Artifact fingerprints: the lower-case hex SHA-256 that identifies an artifact everywhere.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A validated artifact fingerprint: exactly 64 lower-case hexadecimal characters (Kosli's
/// `^([a-f0-9]{64})$`), so two spellings of one digest can never name two artifacts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint(String);

/// Why a string is not a fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{value:?} is not a valid SHA-256 fingerprint: expected 64 lower-case hex characters ([a-f0-9]{{64}}){hint}"
)]
pub struct FingerprintError {
    value: String,
    hint: &'static str,
}

impl Fingerprint {
    /// Validates `value` as a fingerprint.
    pub fn parse(value: &str) -> Result<Self, FingerprintError> {
        let valid = value.len() == 64 && value.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if valid {
            return Ok(Fingerprint(value.to_owned()));
        }
        let hint = if let Some(rest) = value.strip_prefix("sha256:") {
            if Fingerprint::parse(rest).is_ok() { "; drop the `sha256:` prefix" } else { "" }
        } else if value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()) {
            "; write it in lower case"
        } else {
            ""
        };
        Err(FingerprintError { value: value.to_owned(), hint })
    }

    /// The fingerprint as hex text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Fingerprint {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Fingerprint {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Fingerprint::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::Fingerprint;

    const GOOD: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn accepts_lower_case_sha256() {
        assert_eq!(Fingerprint::parse(GOOD).map(|f| f.to_string()).as_deref(), Ok(GOOD));
    }

    #[test]
    fn rejects_upper_case_with_a_hint() {
        let err = Fingerprint::parse(&GOOD.to_uppercase()).unwrap_err().to_string();
        assert!(err.contains("write it in lower case"), "{err}");
    }

    #[test]
    fn rejects_prefixed_digest_with_a_hint() {
        let err = Fingerprint::parse(&format!("sha256:{GOOD}")).unwrap_err().to_string();
        assert!(err.contains("drop the `sha256:` prefix"), "{err}");
    }

    #[test]
    fn rejects_wrong_lengths_and_characters() {
        for bad in ["", "abc", &GOOD[1..], &format!("{GOOD}0"), &GOOD.replace('e', "g")] {
            assert!(Fingerprint::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
