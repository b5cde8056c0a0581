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
    let parsed = Fingerprint::parse(fingerprint).map_err(|err| LedgerError::Invalid(err.to_string()))?;
    let reports = ledger.artifact_reports(org, fingerprint).await?;
    let trails: BTreeSet<(String, String)> = reports
        .into_iter()
        .map(|r| (r.record.flow, r.record.trail))
        .filter(|(f, _)| flow.is_none_or(|wanted| wanted == f))
        .collect();
    let mut tags: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut contexts = Vec::with_capacity(trails.len());
    for (flow_name, trail_name) in trails {
        if !tags.contains_key(&flow_name) {
            let flow_tags = ledger.flow(org, &flow_name).await?.map(|f| f.record.tags).unwrap_or_default();
            tags.insert(flow_name.clone(), flow_tags);
        }
        let document = ledger.trail_document(org, &flow_name, &trail_name).await?;
        let compliance = &document["compliance_status"];
        let mut artifact_status = None;
        let mut evidence = attestations(compliance.get("attestations_statuses"), AttestationTarget::Trail);
        for (_, artifact) in compliance["artifacts_statuses"].as_object().into_iter().flatten() {
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
        contexts.push(EvidenceContext {
            flow: FlowEvidence {
                name: flow_name.clone(),
                tags: tags.get(&flow_name).cloned().unwrap_or_default(),
            },
            trail: TrailEvidence { name: trail_name },
            artifact_status: artifact_status.unwrap_or(ComplianceStatus::Incomplete),
            attestations: evidence,
        });
    }
    Ok(ArtifactEvidence { name: name.to_owned(), fingerprint: parsed, contexts })
}
