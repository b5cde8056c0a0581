//! Benchmarks of the policy loader and evaluator. Run: `cargo bench -p verdict-policy --bench evaluate`.
//! Results are recorded in docs/benchmarks.md.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;

use divan::{Bencher, black_box};
use verdict_core::{
    ArtifactEvidence, AttestationEvidence, AttestationTarget, ComplianceStatus, EvidenceContext,
    EvidenceDocument, Fingerprint, FlowEvidence, TrailEvidence,
};
use verdict_policy::{Policy, evaluate_artifact, evaluate_document, load_policy};

const POLICY: &str = include_str!("../../../examples/policy.yml");

fn main() {
    divan::main();
}

fn policy() -> Policy {
    load_policy("policy.yml", "policy", POLICY).unwrap().policy
}

fn attestation(name: &str, kind: &str, compliant: bool, target: AttestationTarget) -> AttestationEvidence {
    AttestationEvidence {
        name: name.into(),
        kind: kind.into(),
        is_compliant: compliant,
        target,
        control: None,
    }
}

/// An artifact reported in three flows, with a realistic mix of evidence; every 7th has a failing scan.
fn artifact(index: usize) -> ArtifactEvidence {
    let contexts = (0..3)
        .map(|c| EvidenceContext {
            flow: FlowEvidence {
                name: format!("service-{}-flow-{c}", index % 50),
                tags: BTreeMap::from([
                    ("risk-level".to_owned(), if c == 0 { "high" } else { "low" }.to_owned()),
                    ("team".to_owned(), "payments".to_owned()),
                ]),
            },
            trail: TrailEvidence { name: format!("trail-{index}-{c}") },
            artifact_status: if c == 2 && index.is_multiple_of(7) {
                ComplianceStatus::NonCompliant
            } else {
                ComplianceStatus::Compliant
            },
            attestations: vec![
                attestation(
                    "security-scan",
                    "snyk",
                    !(c == 2 && index.is_multiple_of(7)),
                    AttestationTarget::Artifact,
                ),
                attestation("pull-request", "pull_request", true, AttestationTarget::Trail),
                attestation("coverage", "custom:coverage-metrics", true, AttestationTarget::Artifact),
                attestation("unit-tests", "junit", true, AttestationTarget::Artifact),
            ],
        })
        .collect();
    let fingerprint = Fingerprint::parse(&format!("{index:064x}")).unwrap();
    ArtifactEvidence { name: format!("service-{index}"), fingerprint, contexts }
}

#[divan::bench]
fn load_and_validate_policy() -> Policy {
    load_policy("policy.yml", "policy", black_box(POLICY)).unwrap().policy
}

#[divan::bench]
fn evaluate_one_artifact_three_contexts(bencher: Bencher) {
    let policies = [policy()];
    let artifact = artifact(1);
    bencher.bench(|| evaluate_artifact(black_box(&artifact), &policies));
}

#[divan::bench(sample_count = 10, sample_size = 1)]
fn evaluate_100k_artifacts_three_contexts(bencher: Bencher) {
    let policies = [policy()];
    let document = EvidenceDocument { artifacts: (0..100_000).map(artifact).collect() };
    bencher.bench(|| evaluate_document(black_box(&document), &policies));
}

/// The same 100,000 artifacts, each decision consumed as it is made (as a snapshot evaluation that stores
/// decisions one by one does), so the figure is not dominated by holding 100,000 decisions in memory.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn evaluate_100k_artifacts_three_contexts_streaming(bencher: Bencher) {
    let policies = [policy()];
    let document = EvidenceDocument { artifacts: (0..100_000).map(artifact).collect() };
    bencher.bench(|| {
        document.artifacts.iter().filter(|a| evaluate_artifact(black_box(a), &policies).compliant).count()
    });
}
