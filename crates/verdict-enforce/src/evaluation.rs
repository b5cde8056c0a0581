//! Evaluating running artifacts against an environment's policies: the evidence of each artifact is
//! gathered from the ledger and decided by `verdict-policy`'s evaluator; allow-listed artifacts are
//! compliant with the reason shown; with no policy the outcome is UNKNOWN, which is not compliant.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use verdict_core::decision::ArtifactDecision;
use verdict_ledger::records::AllowListEntry;
use verdict_ledger::{Ledger, LedgerError, RecordKind};
use verdict_policy::{Policy, evaluate_artifact};

use crate::evidence::gather_many;
use crate::policies::PolicyVersion;

/// A policy as it was applied: name and version (none for a policy file given on the command line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedPolicy {
    /// The policy.
    pub name: String,
    /// The ledger version evaluated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// The file it was read from, for a policy given as a file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The policy bundle the file came from: which policy version decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle: Option<BundleSource>,
}

/// Where a policy file taken from a policy bundle came from (docs/bundles.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleSource {
    /// The bundle's digest (`sha256:…`).
    pub bundle_digest: String,
    /// The registry reference it was pulled by, if it came from one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The bundle source the file belongs to.
    pub source: String,
    /// That source's git commit, when it was built from a checkout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

/// Policies ready to apply, with what to call them in the output.
pub type PolicySet = Vec<(AppliedPolicy, Policy)>;

/// The ledger versions `policies`, loaded.
pub fn policy_set(policies: &[PolicyVersion]) -> Result<PolicySet, LedgerError> {
    policies
        .iter()
        .map(|p| {
            Ok((
                AppliedPolicy { name: p.name.clone(), version: Some(p.version), file: None, bundle: None },
                p.load()?,
            ))
        })
        .collect()
}

/// One artifact's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtifactVerdict {
    /// The evaluator's decision (name, fingerprint, compliant, policy_decisions, reasons).
    #[serde(flatten)]
    pub decision: ArtifactDecision,
    /// Why the artifact is allowed regardless of the policies, when it is allow-listed here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_listed: Option<String>,
    /// SHA-256 of the evidence the decision was made from (its evidence-document JSON), so a recorded
    /// decision can be checked against the evidence later.
    pub evidence_digest: String,
    /// How many contexts (flow, trail) the evidence has.
    pub contexts: usize,
}

/// The outcome of evaluating a set of artifacts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// `COMPLIANT`, `NON-COMPLIANT`, or `UNKNOWN` when no policy applies.
    pub status: String,
    /// True only when COMPLIANT.
    pub compliant: bool,
    /// The policies applied, with versions, in attachment order.
    pub policies: Vec<AppliedPolicy>,
    /// One verdict per artifact, in input order.
    pub artifacts: Vec<ArtifactVerdict>,
}

/// The allow-listed fingerprints of an environment, with their reasons (the latest per fingerprint).
pub async fn allow_list(
    ledger: &impl Ledger,
    org: &str,
    environment: &str,
) -> Result<BTreeMap<String, String>, LedgerError> {
    let mut allowed = BTreeMap::new();
    for record in ledger.records(org, RecordKind::AllowList, environment).await? {
        let entry: AllowListEntry = serde_json::from_value(record.record)
            .map_err(|err| LedgerError::Corrupt { seq: record.seq, message: err.to_string() })?;
        allowed.insert(entry.fingerprint, entry.reason);
    }
    Ok(allowed)
}

/// Evaluates `artifacts` (name, fingerprint) against `policies`; `allowed` maps allow-listed fingerprints
/// to their reasons; `scope` names where (an environment, or the policy files) for messages; with
/// `flow`, only evidence from that flow counts.
pub async fn evaluate_artifacts(
    ledger: &impl Ledger,
    org: &str,
    artifacts: &[(String, String)],
    policies: &PolicySet,
    allowed: &BTreeMap<String, String>,
    scope: &str,
    flow: Option<&str>,
) -> Result<Evaluation, LedgerError> {
    let loaded: Vec<Policy> = policies.iter().map(|(_, policy)| policy.clone()).collect();
    let gathered = gather_many(ledger, org, artifacts, flow).await?;
    let mut verdicts = Vec::with_capacity(gathered.len());
    for evidence in gathered {
        let encoded = serde_json::to_vec(&evidence).map_err(|err| LedgerError::Invalid(err.to_string()))?;
        let evidence_digest = hex::encode(Sha256::digest(&encoded));
        let mut decision = evaluate_artifact(&evidence, &loaded);
        let allow_listed = allowed.get(evidence.fingerprint.as_str()).cloned();
        if let Some(reason) = &allow_listed {
            decision.compliant = true;
            decision.reasons = vec![format!("allow-listed in {scope}: {reason}")];
        } else if loaded.is_empty() {
            decision.compliant = false;
            decision.reasons = vec![format!("no policy applies in {scope}: compliance is unknown")];
        }
        verdicts.push(ArtifactVerdict {
            decision,
            allow_listed,
            evidence_digest,
            contexts: evidence.contexts.len(),
        });
    }
    let status = if loaded.is_empty() {
        "UNKNOWN"
    } else if verdicts.iter().all(|v| v.decision.compliant) {
        "COMPLIANT"
    } else {
        "NON-COMPLIANT"
    };
    Ok(Evaluation {
        status: status.to_owned(),
        compliant: status == "COMPLIANT",
        policies: policies.iter().map(|(applied, _)| applied.clone()).collect(),
        artifacts: verdicts,
    })
}
