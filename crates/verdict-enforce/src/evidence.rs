//! Evidence for one artifact, gathered from the ledger into the evidence-document shape the policy
//! evaluator reads: one context per (flow, trail) in which the fingerprint was reported, with the flow's
//! tags, the artifact's status in that trail (DESIGN.md rule 6) and the attestations that apply to it
//! there (the trail's own, and the artifact's).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use verdict_core::Fingerprint;
use verdict_core::evidence::{
    ArtifactEvidence, AttestationEvidence, AttestationTarget, ComplianceStatus, EvidenceContext,
    FlowEvidence, TrailEvidence,
};
use verdict_ledger::{Ledger, LedgerError};

fn status(text: Option<&str>) -> Option<ComplianceStatus> {
    match text {
        Some("COMPLIANT") => Some(ComplianceStatus::Compliant),
        Some("NON-COMPLIANT") => Some(ComplianceStatus::NonCompliant),
        Some("INCOMPLETE") => Some(ComplianceStatus::Incomplete),
        _ => None,
    }
}

/// The reported (not MISSING) attestations of a trail document's status map.
fn attestations(statuses: Option<&Value>, target: AttestationTarget) -> Vec<AttestationEvidence> {
    statuses
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(_, entry)| entry.get("status").and_then(Value::as_str) != Some("MISSING"))
        .map(|(name, entry)| AttestationEvidence {
            name: name.clone(),
            kind: entry.get("type").and_then(Value::as_str).unwrap_or("generic").to_owned(),
            is_compliant: entry.get("is_compliant").and_then(Value::as_bool).unwrap_or(false),
            target,
            control: entry.get("control").and_then(Value::as_str).map(str::to_owned),
        })
        .collect()
}

/// The evidence for the artifact `fingerprint`, named `name` (what the environment calls it); with
/// `flow`, only contexts in that flow.
pub async fn gather_evidence(
    ledger: &impl Ledger,
    org: &str,
    fingerprint: &str,
    name: &str,
    flow: Option<&str>,
) -> Result<ArtifactEvidence, LedgerError> {
    let mut all = gather_many(ledger, org, &[(name.to_owned(), fingerprint.to_owned())], flow).await?;
    all.pop().ok_or_else(|| LedgerError::Invalid("no evidence was gathered".to_owned()))
}

/// The evidence for many artifacts (name, fingerprint), in the same order, read in bulk: the reports of
/// every fingerprint, then every trail involved, then the flows' tags.
pub async fn gather_many(
    ledger: &impl Ledger,
    org: &str,
    artifacts: &[(String, String)],
    flow: Option<&str>,
) -> Result<Vec<ArtifactEvidence>, LedgerError> {
    let fingerprints: Vec<String> = artifacts.iter().map(|(_, fp)| fp.clone()).collect();
    for fingerprint in &fingerprints {
        Fingerprint::parse(fingerprint).map_err(|err| LedgerError::Invalid(err.to_string()))?;
    }
    let reports = ledger.artifact_reports_many(org, &fingerprints).await?;
    let contexts_of: Vec<BTreeSet<(String, String)>> = reports
        .into_iter()
        .map(|reports| {
            reports
                .into_iter()
                .map(|r| (r.record.flow, r.record.trail))
                .filter(|(f, _)| flow.is_none_or(|wanted| wanted == f))
                .collect()
        })
        .collect();
    let trails: Vec<(String, String)> =
        contexts_of.iter().flatten().cloned().collect::<BTreeSet<_>>().into_iter().collect();
    let documents: BTreeMap<(String, String), Value> =
        trails.iter().cloned().zip(ledger.trail_documents(org, &trails).await?).collect();
    let tags: BTreeMap<String, BTreeMap<String, String>> = if trails.is_empty() {
        BTreeMap::new()
    } else {
        ledger.flows(org).await?.into_iter().map(|f| (f.record.name, f.record.tags)).collect()
    };
    let mut evidence = Vec::with_capacity(artifacts.len());
    for ((name, fingerprint), contexts) in artifacts.iter().zip(contexts_of) {
        let parsed = Fingerprint::parse(fingerprint).map_err(|err| LedgerError::Invalid(err.to_string()))?;
        let mut built = Vec::with_capacity(contexts.len());
        for key in contexts {
            // Every trail asked for was answered (the bulk read fails otherwise); a gap here must not
            // silently drop a context that could hold negative evidence.
            let Some(document) = documents.get(&key) else {
                return Err(LedgerError::Corrupt {
                    seq: 0,
                    message: format!("no document for trail {:?} of flow {:?}", key.1, key.0),
                });
            };
            built.push(context(
                &key.0,
                &key.1,
                document,
                fingerprint,
                tags.get(&key.0).cloned().unwrap_or_default(),
            ));
        }
        evidence.push(ArtifactEvidence { name: name.clone(), fingerprint: parsed, contexts: built });
    }
    // Thousands of documents take a while to free; nobody needs to wait for it.
    if documents.len() >= 64 {
        std::thread::spawn(move || drop(documents));
    }
    Ok(evidence)
}

/// One context: the artifact `fingerprint` in a trail's document.
fn context(
    flow: &str,
    trail: &str,
    document: &Value,
    fingerprint: &str,
    tags: BTreeMap<String, String>,
) -> EvidenceContext {
    let compliance = &document["compliance_status"];
    let mut artifact_status = None;
    let mut evidence = attestations(compliance.get("attestations_statuses"), AttestationTarget::Trail);
    // The current artifact of each name, and the earlier fingerprints of that name (rebuilds), each with
    // only its own attestations.
    let entries =
        compliance["artifacts_statuses"].as_object().into_iter().flatten().flat_map(|(_, current)| {
            std::iter::once(current)
                .chain(current.get("previous").and_then(Value::as_array).into_iter().flatten())
        });
    for artifact in entries {
        if artifact.get("fingerprint").and_then(Value::as_str) != Some(fingerprint) {
            continue;
        }
        let this = status(artifact.get("status").and_then(Value::as_str));
        // Several template names with one fingerprint: the worst status counts.
        artifact_status = match (artifact_status, this) {
            (Some(ComplianceStatus::NonCompliant), _) | (_, Some(ComplianceStatus::NonCompliant)) => {
                Some(ComplianceStatus::NonCompliant)
            }
            (Some(ComplianceStatus::Incomplete), _) | (_, Some(ComplianceStatus::Incomplete)) => {
                Some(ComplianceStatus::Incomplete)
            }
            (a, b) => a.or(b),
        };
        evidence.extend(attestations(artifact.get("attestations_statuses"), AttestationTarget::Artifact));
    }
    EvidenceContext {
        flow: FlowEvidence { name: flow.to_owned(), tags },
        trail: TrailEvidence { name: trail.to_owned() },
        artifact_status: artifact_status.unwrap_or(ComplianceStatus::Incomplete),
        attestations: evidence,
    }
}
