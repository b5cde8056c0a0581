//! The evidence the ledger records: flows, trails, artifacts and attestations. Each is stored as a ledger
//! entry; a later entry for the same subject is a correction and wins (nothing is updated in place).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A flow: a kind of delivery process (a repository's CI, a vulnerability-tracking job, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flow {
    /// Unique within the organisation.
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// `flow.tags.<key>` in environment policies.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// The flow's trail template (Kosli's format), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<Value>,
    /// Archived (`verdict archive flow`): hidden from lists, kept in the ledger, and refused as the target
    /// of new trails, artifacts and attestations. Recording the flow again (`create flow`) restores it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub archived: bool,
}

/// A trail: one run of a flow (typically one commit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trail {
    /// Unique within the flow.
    pub name: String,
    /// The flow it belongs to.
    pub flow: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// The git commit it is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Where it came from (a CI run URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_url: Option<String>,
    /// Anything else the reporter attached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_data: Option<Value>,
    /// The trail's own template, overriding the flow's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<Value>,
}

/// An artifact reported in a trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Artifact {
    /// The artifact's SHA-256 fingerprint.
    pub fingerprint: String,
    /// Its slot in the trail template (`--name`).
    pub name: String,
    /// The file name or image reference it was fingerprinted from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// The flow of the trail.
    pub flow: String,
    /// The trail it was reported in.
    pub trail: String,
    /// The commit it was built from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The build that produced it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_url: Option<String>,
    /// `--annotate k=v` pairs.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// An attestation: a piece of evidence about a trail or one of its artifacts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attestation {
    /// Its slot in the template (`security-scan`, or `artifact-name.security-scan`).
    pub name: String,
    /// `generic`, `junit`, `snyk`, `pull_request`, `decision`, `custom:<type>`, ….
    #[serde(rename = "type")]
    pub kind: String,
    /// The flow of the trail.
    pub flow: String,
    /// The trail.
    pub trail: String,
    /// The artifact it is about; `None` for the trail itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// Whether the evidence is compliant.
    pub is_compliant: bool,
    /// The type-specific processed results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Value>,
    /// Anything else the reporter attached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_data: Option<Value>,
    /// Files stored with it, by content hash (`--attachments`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<AttachmentRef>,
}

/// What mentions a fingerprint or commit prefix: [`crate::Ledger::search`]'s answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchHits {
    /// Every artifact report whose fingerprint or commit starts with the prefix, oldest first.
    pub artifacts: Vec<Recorded<Artifact>>,
    /// Every trail record (corrections included) whose commit starts with the prefix, oldest first.
    pub trails: Vec<Recorded<Trail>>,
}

/// Checks a search prefix: lower-case hex, 4 to 64 digits (shorter ones match half the ledger).
pub fn validate_search_prefix(prefix: &str) -> Result<(), String> {
    if (4..=64).contains(&prefix.len()) && prefix.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        Ok(())
    } else {
        Err(format!("{prefix:?} is not a fingerprint or commit prefix: give 4 to 64 lower-case hex digits"))
    }
}

/// A file attached to an attestation. The content is stored once per org under its SHA-256, and the
/// attestation's entry covers the hash, so the chain makes attachments tamper-evident too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentRef {
    /// The file's name as given (its last path component).
    pub name: String,
    /// SHA-256 of the content, lower-case hex.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

/// A record as it was recorded: the record, and the ledger entry that holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recorded<T> {
    /// The record.
    #[serde(flatten)]
    pub record: T,
    /// The entry's position in the chain.
    pub seq: i64,
    /// The entry's hash.
    pub hash: String,
    /// When it was recorded (RFC 3339, UTC).
    pub recorded_at: String,
}

/// Checks a flow or trail name: it becomes part of ledger subjects and URLs.
pub fn validate_name(what: &str, name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= 256
        && name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~' | ':'));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "invalid {what} name {name:?}: use letters, digits, '-', '_', '.', '~' or ':', starting with a letter or digit (at most 256 characters)"
        ))
    }
}

/// Checks a SHA-256 fingerprint, with Kosli's message.
pub fn validate_fingerprint(fingerprint: &str) -> Result<(), String> {
    let valid =
        fingerprint.len() == 64 && fingerprint.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{fingerprint} is not a valid SHA256 fingerprint. It should match the pattern ^([a-f0-9]{{64}})$"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for good in ["backend", "backend-ci", "a1b2c3", "v1.2.3", "x_y", "9f8e"] {
            assert!(validate_name("flow", good).is_ok(), "{good}");
        }
        for bad in ["", "-x", "a/b", "a b", "é", &"x".repeat(257)] {
            assert!(validate_name("flow", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn fingerprints_use_kosli_wording() {
        assert!(validate_fingerprint(&"a".repeat(64)).is_ok());
        assert_eq!(
            validate_fingerprint("xxxx").unwrap_err(),
            "xxxx is not a valid SHA256 fingerprint. It should match the pattern ^([a-f0-9]{64})$"
        );
    }
}
