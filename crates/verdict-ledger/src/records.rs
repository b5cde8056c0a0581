//! Records beyond flows, trails, artifacts and attestations: environments, their policies, snapshots and
//! decisions. They are stored as ledger entries like the rest (chained, append-only, latest wins) and
//! checked here, by kind, before they are appended, so a server refuses a malformed one whichever client
//! sent it. What they mean (snapshots, evaluation) is `verdict-enforce`'s business.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{validate_fingerprint, validate_name};

/// The kinds of record stored through [`crate::Ledger::append_record`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// An [`Environment`], subject: its name.
    Environment,
    /// A version of a [`PolicyRecord`], subject: its name (the Nth entry is version N).
    Policy,
    /// A [`PolicyAttachment`] change, subject: the environment.
    PolicyAttachment,
    /// A [`Snapshot`] of what runs, subject: the environment (the Nth entry is snapshot N).
    Snapshot,
    /// A [`SnapshotEvaluation`], subject: `ENV#N`.
    SnapshotEvaluation,
    /// A [`TrailEvent`] (an artifact started or stopped running), subject: `FLOW/TRAIL`.
    TrailEvent,
    /// An [`AllowListEntry`], subject: the environment.
    AllowList,
    /// An assert decision recorded with `--record`, subject: the fingerprint.
    Decision,
    /// A version of a custom attestation type ([`AttestationType`]), subject: its name.
    AttestationType,
    /// An admission webhook decision (a JSON object with `uid`, `admitted` and `images`), subject: the
    /// request's uid.
    AdmissionDecision,
}

impl RecordKind {
    /// Every kind, for parsing.
    pub const ALL: [RecordKind; 10] = [
        RecordKind::Environment,
        RecordKind::Policy,
        RecordKind::PolicyAttachment,
        RecordKind::Snapshot,
        RecordKind::SnapshotEvaluation,
        RecordKind::TrailEvent,
        RecordKind::AllowList,
        RecordKind::Decision,
        RecordKind::AttestationType,
        RecordKind::AdmissionDecision,
    ];

    /// The kind's name in the ledger and in URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Environment => "environment",
            RecordKind::Policy => "policy",
            RecordKind::PolicyAttachment => "policy_attachment",
            RecordKind::Snapshot => "snapshot",
            RecordKind::SnapshotEvaluation => "snapshot_evaluation",
            RecordKind::TrailEvent => "trail_event",
            RecordKind::AllowList => "allow_list",
            RecordKind::Decision => "decision",
            RecordKind::AttestationType => "attestation_type",
            RecordKind::AdmissionDecision => "admission_decision",
        }
    }

    /// The role a token needs to append a record of this kind (DESIGN.md rule 12). Evidence of what was
    /// built and what runs is CI's (`write`); whatever changes what is enforced — environments, policies,
    /// attachments, allow-lists, recorded decisions and evaluations — needs `policy`, which CI does not
    /// hold, so a CI token can never make `assert` say yes where it said no.
    pub fn role_to_append(self) -> crate::tokens::Role {
        use crate::tokens::Role;
        match self {
            RecordKind::Snapshot | RecordKind::TrailEvent | RecordKind::AttestationType => Role::Write,
            RecordKind::Environment
            | RecordKind::Policy
            | RecordKind::PolicyAttachment
            | RecordKind::SnapshotEvaluation
            | RecordKind::AllowList
            | RecordKind::Decision
            | RecordKind::AdmissionDecision => Role::Policy,
        }
    }

    /// The kind named `text`, if any.
    pub fn parse(text: &str) -> Option<RecordKind> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }
}

/// Where software runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    /// Unique in the org.
    pub name: String,
    /// `K8S`, `docker`, `server` or `logical`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// For a logical environment: the physical environments it is the union of.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub included_environments: Vec<String>,
    /// `verdict tag environment` tags (the owning team, the cost centre, …).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub tags: std::collections::BTreeMap<String, String>,
    /// Archived (`verdict archive environment`): hidden from lists, kept in the ledger, and refused as
    /// the target of new snapshots and allow-listings. Recording it again (`create environment`) restores
    /// it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub archived: bool,
}

/// The environment types, as Kosli spells them.
pub const ENVIRONMENT_TYPES: [&str; 4] = ["K8S", "docker", "server", "logical"];

/// One version of an environment policy: its YAML source, kept verbatim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyRecord {
    /// The policy's name.
    pub name: String,
    /// The YAML source (validated by the environment-policy loader before it is recorded).
    pub source: String,
    /// Free text about the policy.
    #[serde(default)]
    pub description: String,
    /// Free text about this version.
    #[serde(default)]
    pub comment: String,
}

/// A policy attached to (or detached from) an environment. Attachments follow the policy's latest
/// version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyAttachment {
    /// The environment.
    pub environment: String,
    /// The policy.
    pub policy: String,
    /// True to attach, false to detach.
    pub attached: bool,
}

/// A pod running an artifact (K8S environments).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PodRef {
    /// The namespace.
    pub namespace: String,
    /// The pod.
    pub pod: String,
}

/// An artifact running in an environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunningArtifact {
    /// Its name as the environment knows it (image name, path).
    pub name: String,
    /// Its SHA-256.
    pub fingerprint: String,
    /// How many instances run.
    pub instances: u64,
    /// When the earliest instance started (RFC 3339), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// For K8S: where it runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pods: Vec<PodRef>,
}

/// What was running in an environment when it was reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    /// The environment.
    pub environment: String,
    /// The running artifacts, sorted by name then fingerprint.
    pub artifacts: Vec<RunningArtifact>,
}

/// The evaluation of one snapshot against the policies attached at that time (a later evaluation of the
/// same snapshot, after an attach or detach, supersedes it). The evaluation document itself (policies
/// applied, per-artifact decisions; megabytes for a large environment) is stored as an attachment of the
/// org: the chained entry holds its SHA-256, so the document stays tamper-evident without being
/// re-encoded into canonical JSON on every report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotEvaluation {
    /// The environment.
    pub environment: String,
    /// The snapshot's number.
    pub snapshot: u64,
    /// `COMPLIANT`, `NON-COMPLIANT` or `UNKNOWN`.
    pub status: String,
    /// SHA-256 of the evaluation document (JSON), an attachment of the org.
    pub evaluation_sha256: String,
}

/// An event on a trail caused by an environment change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrailEvent {
    /// `artifact_started_running` or `artifact_stopped_running`.
    pub event: String,
    /// The flow of the trail.
    pub flow: String,
    /// The trail.
    pub trail: String,
    /// The artifact.
    pub fingerprint: String,
    /// The environment.
    pub environment: String,
    /// The snapshot that shows the change.
    pub snapshot: u64,
}

/// A custom attestation type: data must satisfy `schema`; compliance needs every `jq` rule true.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttestationType {
    /// The type's name (attestations of it have type `custom:NAME`).
    pub name: String,
    /// A JSON Schema for the attestation data.
    pub schema: Value,
    /// jq expressions that must each return `true`.
    #[serde(default)]
    pub jq: Vec<String>,
    /// Free text.
    #[serde(default)]
    pub description: String,
}

/// A third-party artifact allowed in one environment (or the allowance withdrawn).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowListEntry {
    /// The environment.
    pub environment: String,
    /// The artifact.
    pub fingerprint: String,
    /// Why it is allowed.
    pub reason: String,
}

fn typed<T: DeserializeOwned>(kind: RecordKind, body: &Value) -> Result<T, String> {
    T::deserialize(body).map_err(|err| format!("invalid {} record: {err}", kind.as_str()))
}

fn same(what: &str, subject: &str, field: &str) -> Result<(), String> {
    if subject == field {
        Ok(())
    } else {
        Err(format!("the record's {what} {field:?} differs from its subject {subject:?}"))
    }
}

/// Checks a record of `kind` for `subject` before it is appended.
pub fn validate_record(kind: RecordKind, subject: &str, body: &Value) -> Result<(), String> {
    match kind {
        RecordKind::Environment => {
            let environment: Environment = typed(kind, body)?;
            validate_name("environment", &environment.name)?;
            same("name", subject, &environment.name)?;
            if !ENVIRONMENT_TYPES.contains(&environment.kind.as_str()) {
                return Err(format!(
                    "invalid environment type {:?}: use one of {}",
                    environment.kind,
                    ENVIRONMENT_TYPES.join(", ")
                ));
            }
            let logical = environment.kind == "logical";
            if logical && environment.included_environments.is_empty() {
                return Err("a logical environment needs --included-environments".to_owned());
            }
            if !logical && !environment.included_environments.is_empty() {
                return Err("only a logical environment includes other environments".to_owned());
            }
            for included in &environment.included_environments {
                validate_name("environment", included)?;
            }
        }
        RecordKind::Policy => {
            let policy: PolicyRecord = typed(kind, body)?;
            validate_name("policy", &policy.name)?;
            same("name", subject, &policy.name)?;
            // Whoever sends it, a policy that does not load is never stored: it could not be enforced.
            if let Err(diagnostics) = verdict_policy::load_policy(&policy.name, &policy.name, &policy.source)
            {
                let messages: Vec<String> = diagnostics.iter().map(|d| d.short()).collect();
                return Err(format!("the policy does not load: {}", messages.join("; ")));
            }
        }
        RecordKind::PolicyAttachment => {
            let attachment: PolicyAttachment = typed(kind, body)?;
            validate_name("environment", subject)?;
            same("environment", subject, &attachment.environment)?;
            validate_name("policy", &attachment.policy)?;
        }
        RecordKind::Snapshot => {
            let snapshot: Snapshot = typed(kind, body)?;
            validate_name("environment", subject)?;
            same("environment", subject, &snapshot.environment)?;
            for artifact in &snapshot.artifacts {
                validate_fingerprint(&artifact.fingerprint)?;
                if artifact.name.is_empty() {
                    return Err("a running artifact needs a name".to_owned());
                }
            }
        }
        RecordKind::SnapshotEvaluation => {
            let evaluation: SnapshotEvaluation = typed(kind, body)?;
            validate_name("environment", &evaluation.environment)?;
            same("snapshot", subject, &format!("{}#{}", evaluation.environment, evaluation.snapshot))?;
            if !matches!(evaluation.status.as_str(), "COMPLIANT" | "NON-COMPLIANT" | "UNKNOWN") {
                return Err(format!("unknown evaluation status {:?}", evaluation.status));
            }
            if evaluation.evaluation_sha256.len() != 64
                || !evaluation
                    .evaluation_sha256
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            {
                return Err(format!(
                    "evaluation_sha256 {:?} is not a lower-case hex SHA-256",
                    evaluation.evaluation_sha256
                ));
            }
        }
        RecordKind::TrailEvent => {
            let event: TrailEvent = typed(kind, body)?;
            same("trail", subject, &format!("{}/{}", event.flow, event.trail))?;
            validate_fingerprint(&event.fingerprint)?;
            if !matches!(event.event.as_str(), "artifact_started_running" | "artifact_stopped_running") {
                return Err(format!("unknown trail event {:?}", event.event));
            }
        }
        RecordKind::AllowList => {
            let entry: AllowListEntry = typed(kind, body)?;
            validate_name("environment", subject)?;
            same("environment", subject, &entry.environment)?;
            validate_fingerprint(&entry.fingerprint)?;
            if entry.reason.trim().is_empty() {
                return Err("an allow-listing needs a --reason".to_owned());
            }
        }
        RecordKind::AttestationType => {
            let kind_record: AttestationType = typed(kind, body)?;
            validate_name("attestation type", &kind_record.name)?;
            same("name", subject, &kind_record.name)?;
        }
        RecordKind::AdmissionDecision => {
            if subject.trim().is_empty() || subject.contains('\0') {
                return Err("an admission decision's subject is the request's uid".to_owned());
            }
            same("uid", subject, body.get("uid").and_then(Value::as_str).unwrap_or_default())?;
            if !body.get("admitted").is_some_and(Value::is_boolean)
                || !body.get("images").is_some_and(Value::is_array)
            {
                return Err(
                    "an admission decision needs `admitted` (a boolean) and `images` (a list)".to_owned()
                );
            }
        }
        RecordKind::Decision => {
            validate_fingerprint(subject)?;
            if !body.is_object() {
                return Err("a decision record is a JSON object".to_owned());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn kinds_round_trip() {
        for kind in RecordKind::ALL {
            assert_eq!(RecordKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(RecordKind::parse("flow"), None);
    }

    #[test]
    fn records_are_checked_by_kind() {
        let fp = "a".repeat(64);
        let ok = [
            (RecordKind::Environment, "prod", json!({"name": "prod", "type": "K8S"})),
            (
                RecordKind::Environment,
                "all",
                json!({"name": "all", "type": "logical", "included_environments": ["prod"]}),
            ),
            (
                RecordKind::Policy,
                "p",
                json!({"name": "p", "source": "_schema: https://kosli.com/schemas/policy/environment/v1\nartifacts:\n  provenance:\n    required: true\n"}),
            ),
            (
                RecordKind::Snapshot,
                "prod",
                json!({"environment": "prod", "artifacts": [{"name": "app", "fingerprint": fp, "instances": 2}]}),
            ),
            (
                RecordKind::AllowList,
                "prod",
                json!({"environment": "prod", "fingerprint": fp, "reason": "vendor"}),
            ),
        ];
        for (kind, subject, body) in ok {
            assert_eq!(validate_record(kind, subject, &body), Ok(()), "{body}");
        }
        let bad = [
            (
                RecordKind::Environment,
                "prod",
                json!({"name": "prod", "type": "k8s"}),
                "invalid environment type",
            ),
            (RecordKind::Policy, "p", json!({"name": "p", "source": "this: is: not a policy"}), "p:1:"),
            (RecordKind::Policy, "p", json!({"name": "p", "source": "artifacts: {}"}), "does not load"),
            (
                RecordKind::AllowList,
                "no env",
                json!({"environment": "no env", "fingerprint": fp, "reason": "x"}),
                "invalid environment name",
            ),
            (
                RecordKind::Snapshot,
                "pr\u{0}d",
                json!({"environment": "pr\u{0}d", "artifacts": []}),
                "invalid environment name",
            ),
            (
                RecordKind::Environment,
                "all",
                json!({"name": "all", "type": "logical"}),
                "needs --included-environments",
            ),
            (
                RecordKind::Environment,
                "x",
                json!({"name": "x", "type": "server", "included_environments": ["a"]}),
                "only a logical",
            ),
            (
                RecordKind::Environment,
                "x",
                json!({"name": "y", "type": "server"}),
                "differs from its subject",
            ),
            (
                RecordKind::Environment,
                "x",
                json!({"name": "x", "type": "server", "extra": 1}),
                "unknown field",
            ),
            (
                RecordKind::Snapshot,
                "prod",
                json!({"environment": "prod", "artifacts": [{"name": "app", "fingerprint": "zz", "instances": 1}]}),
                "not a valid SHA256",
            ),
            (
                RecordKind::AllowList,
                "prod",
                json!({"environment": "prod", "fingerprint": fp, "reason": " "}),
                "--reason",
            ),
            (
                RecordKind::TrailEvent,
                "f/t",
                json!({"event": "boom", "flow": "f", "trail": "t", "fingerprint": fp, "environment": "e", "snapshot": 1}),
                "unknown trail event",
            ),
        ];
        for (kind, subject, body, message) in bad {
            let error = validate_record(kind, subject, &body).unwrap_err();
            assert!(error.contains(message), "{body}: {error}");
        }
    }
}
