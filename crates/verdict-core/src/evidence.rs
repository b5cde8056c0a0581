//! The evidence document: everything a policy may look at for a set of artifacts.
//!
//! Policies never read the ledger directly. The ledger (or a hand-written file) produces this document, and
//! the pure evaluator decides from it alone, which is what makes a decision reproducible at every
//! enforcement point. The format is specified in `docs/evidence-format.md` with a JSON Schema.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::fingerprint::Fingerprint;

/// A set of artifacts with the evidence recorded for each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceDocument {
    /// The artifacts to decide on, in the order they are reported.
    pub artifacts: Vec<ArtifactEvidence>,
}

/// One artifact and every context (flow, trail) in which its fingerprint was reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArtifactEvidence {
    /// The artifact's name (as reported, or as running in an environment when it has no provenance).
    pub name: String,
    /// The artifact's SHA-256 fingerprint.
    pub fingerprint: Fingerprint,
    /// Where the artifact was reported. Empty means no provenance at all.
    #[serde(default)]
    pub contexts: Vec<EvidenceContext>,
}

/// One (flow, trail) in which an artifact was reported, with the evidence held there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceContext {
    /// The flow the trail belongs to.
    pub flow: FlowEvidence,
    /// The trail the artifact was reported in.
    pub trail: TrailEvidence,
    /// The artifact's compliance status within this trail (DESIGN.md rule 6).
    pub artifact_status: ComplianceStatus,
    /// Attestations reported in this trail, on the trail itself or on this artifact.
    #[serde(default)]
    pub attestations: Vec<AttestationEvidence>,
}

/// The flow part of a context: what `flow.*` expressions see.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowEvidence {
    /// The flow's name (`flow.name`).
    pub name: String,
    /// The flow's tags (`flow.tags.<key>`); values are strings, as in Kosli.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// The trail part of a context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrailEvidence {
    /// The trail's name.
    pub name: String,
}

/// A compliance status of a trail or of an artifact within a trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ComplianceStatus {
    /// Every required piece of evidence is present and compliant.
    #[serde(rename = "COMPLIANT")]
    Compliant,
    /// Some reported evidence is non-compliant.
    #[serde(rename = "NON-COMPLIANT")]
    NonCompliant,
    /// Nothing is non-compliant, but required evidence is missing.
    #[serde(rename = "INCOMPLETE")]
    Incomplete,
}

impl ComplianceStatus {
    /// The status as written in documents (`COMPLIANT`, `NON-COMPLIANT`, `INCOMPLETE`).
    pub fn as_str(self) -> &'static str {
        match self {
            ComplianceStatus::Compliant => "COMPLIANT",
            ComplianceStatus::NonCompliant => "NON-COMPLIANT",
            ComplianceStatus::Incomplete => "INCOMPLETE",
        }
    }
}

/// One attestation as a policy sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttestationEvidence {
    /// The attestation's name (its template slot, e.g. `security-scan`).
    pub name: String,
    /// Its type: `generic`, `junit`, `snyk`, `pull_request`, `jira`, `sonar`, `decision`, `custom:<name>`, ….
    #[serde(rename = "type")]
    pub kind: String,
    /// Whether the attestation itself is compliant.
    pub is_compliant: bool,
    /// Whether it was reported on the trail or on the artifact.
    pub target: AttestationTarget,
    /// For `decision` attestations: the control id the decision is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control: Option<String>,
}

/// What an attestation was reported on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttestationTarget {
    /// The trail as a whole.
    Trail,
    /// The artifact this context belongs to.
    Artifact,
}

/// Why an evidence document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    /// The text is not JSON, or does not have the documented shape.
    #[error("{line}:{column}: {message}{}", path_suffix(.path))]
    Invalid {
        /// 1-based line of the offending value.
        line: usize,
        /// 1-based column of the offending value.
        column: usize,
        /// The field path, e.g. `artifacts[0].fingerprint`.
        path: String,
        /// What is wrong.
        message: String,
    },
}

fn path_suffix(path: &str) -> String {
    if path.is_empty() || path == "." { String::new() } else { format!(" (at `{path}`)") }
}

impl EvidenceDocument {
    /// Parses an evidence document from JSON text, naming the line, column and field of any error.
    pub fn from_json_str(text: &str) -> Result<Self, EvidenceError> {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let parsed: Result<Self, _> = serde_path_to_error::deserialize(&mut deserializer);
        let document = match parsed {
            Ok(document) => document,
            Err(err) => {
                let path = err.path().to_string();
                let inner = err.into_inner();
                let message = strip_position(&inner.to_string());
                return Err(EvidenceError::Invalid {
                    line: inner.line(),
                    column: inner.column(),
                    path,
                    message,
                });
            }
        };
        if let Err(err) = deserializer.end() {
            return Err(EvidenceError::Invalid {
                line: err.line(),
                column: err.column(),
                path: String::new(),
                message: "unexpected text after the JSON document".to_owned(),
            });
        }
        Ok(document)
    }
}

/// serde_json appends " at line L column C" to its messages; we report the position separately.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(index) => message[..index].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FP: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn parses_the_documented_example() {
        let text = format!(
            r#"{{"artifacts": [{{"name": "backend", "fingerprint": "{FP}",
              "contexts": [{{"flow": {{"name": "backend-ci", "tags": {{"risk-level": "high"}}}},
                            "trail": {{"name": "a1b2c3"}},
                            "artifact_status": "COMPLIANT",
                            "attestations": [{{"name": "cab", "type": "decision", "control": "RCTL-1", "is_compliant": true, "target": "trail"}}]}}]}}]}}"#
        );
        let doc = EvidenceDocument::from_json_str(&text).unwrap();
        let context = &doc.artifacts[0].contexts[0];
        assert_eq!(context.flow.tags["risk-level"], "high");
        assert_eq!(context.artifact_status, ComplianceStatus::Compliant);
        assert_eq!(context.attestations[0].control.as_deref(), Some("RCTL-1"));
        assert_eq!(context.attestations[0].target, AttestationTarget::Trail);
    }

    #[test]
    fn missing_contexts_means_no_provenance() {
        let doc = EvidenceDocument::from_json_str(&format!(
            r#"{{"artifacts":[{{"name":"x","fingerprint":"{FP}"}}]}}"#
        ))
        .unwrap();
        assert!(doc.artifacts[0].contexts.is_empty());
    }

    #[test]
    fn bad_fingerprint_names_field_line_and_column() {
        let text = "{\"artifacts\": [\n  {\"name\": \"x\", \"fingerprint\": \"abc\"}]}";
        let err = EvidenceDocument::from_json_str(text).unwrap_err().to_string();
        assert!(err.starts_with("2:"), "{err}");
        assert!(err.contains("artifacts[0].fingerprint"), "{err}");
        assert!(err.contains("not a valid SHA-256 fingerprint"), "{err}");
    }

    #[test]
    fn unknown_fields_and_statuses_are_rejected() {
        let unknown = format!(r#"{{"artifacts":[{{"name":"x","fingerprint":"{FP}","colour":"red"}}]}}"#);
        let err = EvidenceDocument::from_json_str(&unknown).unwrap_err().to_string();
        assert!(err.contains("unknown field `colour`"), "{err}");
        let status = format!(
            r#"{{"artifacts":[{{"name":"x","fingerprint":"{FP}","contexts":[{{"flow":{{"name":"f"}},"trail":{{"name":"t"}},"artifact_status":"GREEN"}}]}}]}}"#
        );
        let err = EvidenceDocument::from_json_str(&status).unwrap_err().to_string();
        assert!(err.contains("artifacts[0].contexts[0].artifact_status"), "{err}");
    }

    #[test]
    fn trailing_text_and_non_json_are_rejected() {
        assert!(EvidenceDocument::from_json_str(r#"{"artifacts":[]} x"#).is_err());
        assert!(EvidenceDocument::from_json_str("artifacts: []").is_err());
        assert!(EvidenceDocument::from_json_str("").is_err());
    }
}
