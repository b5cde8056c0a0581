//! Evaluator golden tests: each rule of DESIGN.md rules 2, 4 and 7, with hand-computed outcomes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use verdict_core::{
    ArtifactEvidence, AttestationEvidence, AttestationTarget, ComplianceStatus, EvidenceContext, Fingerprint,
    FlowEvidence, PolicyStatus, ResolutionKind, RuleEvaluation, TrailEvidence,
};
use verdict_policy::{Policy, evaluate_artifact, load_policy};

const FP: &str = "0c6b8d5e2a3f4b1c9d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c";

fn policy(name: &str, artifacts_yaml: &str) -> Policy {
    let source =
        format!("_schema: https://kosli.com/schemas/policy/environment/v1\nartifacts:\n{artifacts_yaml}");
    match load_policy(&format!("{name}.yml"), name, &source) {
        Ok(loaded) => loaded.policy,
        Err(diagnostics) => panic!("{}", diagnostics.iter().map(|d| d.render(&source)).collect::<String>()),
    }
}

fn att(name: &str, kind: &str, compliant: bool, target: AttestationTarget) -> AttestationEvidence {
    AttestationEvidence {
        name: name.into(),
        kind: kind.into(),
        is_compliant: compliant,
        target,
        control: None,
    }
}

fn decision(control: &str, compliant: bool) -> AttestationEvidence {
    AttestationEvidence {
        control: Some(control.into()),
        ..att("cab", "decision", compliant, AttestationTarget::Trail)
    }
}

fn context(
    flow: &str,
    tags: &[(&str, &str)],
    status: ComplianceStatus,
    attestations: Vec<AttestationEvidence>,
) -> EvidenceContext {
    EvidenceContext {
        flow: FlowEvidence {
            name: flow.into(),
            tags: tags.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<BTreeMap<_, _>>(),
        },
        trail: TrailEvidence { name: format!("{flow}-trail") },
        artifact_status: status,
        attestations,
    }
}

fn artifact(name: &str, contexts: Vec<EvidenceContext>) -> ArtifactEvidence {
    ArtifactEvidence { name: name.into(), fingerprint: Fingerprint::parse(FP).unwrap(), contexts }
}

fn rules(artifact: &ArtifactEvidence, policy: &Policy) -> Vec<RuleEvaluation> {
    evaluate_artifact(artifact, std::slice::from_ref(policy)).policy_decisions.remove(0).rule_evaluations
}

fn kinds(rule: &RuleEvaluation) -> Vec<ResolutionKind> {
    rule.resolutions.iter().map(|r| r.kind).collect()
}

use AttestationTarget::{Artifact, Trail};
use ComplianceStatus::{Compliant, Incomplete, NonCompliant};
use ResolutionKind::*;

const PROVENANCE: &str = "  provenance:\n    required: true\n";

#[test]
fn provenance_denies_artifacts_without_contexts() {
    let policy = policy("p", PROVENANCE);
    let decision = evaluate_artifact(&artifact("nginx", vec![]), &[policy]);
    assert!(!decision.compliant);
    let rule = &decision.policy_decisions[0].rule_evaluations[0];
    assert_eq!(rule.satisfied, Some(false));
    assert_eq!(kinds(rule), [NoProvenance]);
    assert_eq!(rule.resolutions[0].context, None);
    assert_eq!(
        decision.reasons,
        ["p: provenance is required: the artifact was never reported in any flow or trail"]
    );
}

#[test]
fn provenance_is_satisfied_by_any_context() {
    let policy = policy("p", PROVENANCE);
    let a = artifact("app", vec![context("ci", &[], NonCompliant, vec![])]);
    let rule = &rules(&a, &policy)[0];
    assert_eq!(rule.satisfied, Some(true));
    assert_eq!(kinds(rule), [RuleSatisfied]);
}

#[test]
fn provenance_exception_without_context_sees_null_flow() {
    let yaml = "  provenance:\n    required: true\n    exceptions:\n      - if: ${{ matches(artifact.name, \"^datadog:\") }}\n      - if: ${{ flow.name == null and artifact.name == \"sidecar\" }}\n";
    let policy = policy("p", yaml);
    for name in ["datadog:agent", "sidecar"] {
        let rule = &rules(&artifact(name, vec![]), &policy)[0];
        assert_eq!((rule.satisfied, rule.ignored), (None, true), "{name}");
        assert_eq!(kinds(rule).last(), Some(&ExceptionApplied));
    }
    let rule = &rules(&artifact("nginx", vec![]), &policy)[0];
    assert_eq!(rule.satisfied, Some(false));
}

#[test]
fn provenance_exception_error_does_not_apply() {
    // `flow.tags.tier > 1` with no flow: null > 1 is an evaluation error, so the exception does not apply.
    let policy = policy(
        "p",
        "  provenance:\n    required: true\n    exceptions:\n      - if: ${{ flow.tags.tier > 1 }}\n",
    );
    let rule = &rules(&artifact("x", vec![]), &policy)[0];
    assert_eq!(rule.satisfied, Some(false));
    assert_eq!(kinds(rule), [EvaluationError, NoProvenance]);
    assert!(rule.resolutions[0].message.as_deref().unwrap().contains("cannot compare null"));
}

#[test]
fn provenance_excepted_in_every_context_is_ignored() {
    let policy = policy(
        "p",
        "  provenance:\n    required: true\n    exceptions:\n      - if: ${{ flow.name == \"sandbox\" }}\n",
    );
    let a = artifact("x", vec![context("sandbox", &[], Compliant, vec![])]);
    let rule = &rules(&a, &policy)[0];
    assert_eq!((rule.satisfied, rule.ignored), (None, true));
}

#[test]
fn provenance_not_required_is_not_evaluated() {
    let policy = policy("p", "  provenance:\n    required: false\n");
    let decision = evaluate_artifact(&artifact("x", vec![]), &[policy]);
    assert!(decision.compliant);
    assert!(decision.policy_decisions[0].rule_evaluations.is_empty());
}

const TRAIL: &str = "  trail-compliance:\n    required: true\n";

#[test]
fn trail_compliance_needs_one_compliant_and_no_non_compliant_context() {
    let policy = policy("p", TRAIL);
    let cases = [
        (vec![Compliant], Some(true)),
        (vec![Compliant, Incomplete], Some(true)),
        (vec![Incomplete], Some(false)),
        (vec![Incomplete, Incomplete], Some(false)),
        (vec![NonCompliant], Some(false)),
        // A failure anywhere counts: the clean build flow does not hide the vulnerability flow's finding.
        (vec![Compliant, NonCompliant], Some(false)),
    ];
    for (statuses, expected) in cases {
        let contexts =
            statuses.iter().enumerate().map(|(i, s)| context(&format!("f{i}"), &[], *s, vec![])).collect();
        let rule = &rules(&artifact("x", contexts), &policy)[0];
        assert_eq!(rule.satisfied, expected, "{statuses:?}");
    }
}

#[test]
fn trail_compliance_resolutions_name_flow_and_trail() {
    let policy = policy("p", TRAIL);
    let a = artifact(
        "x",
        vec![context("build", &[], Compliant, vec![]), context("vuln", &[], NonCompliant, vec![])],
    );
    let decision = evaluate_artifact(&a, &[policy]);
    let rule = &decision.policy_decisions[0].rule_evaluations[0];
    assert_eq!(kinds(rule), [RuleSatisfied, NonCompliantInTrail]);
    let context = rule.resolutions[1].context.as_ref().unwrap();
    assert_eq!((context.flow_name.as_str(), context.trail_name.as_str()), ("vuln", "vuln-trail"));
    assert_eq!(
        decision.reasons,
        ["p: trail compliance is required: the artifact is NON-COMPLIANT in flow vuln trail vuln-trail"]
    );
}

#[test]
fn trail_compliance_exception_removes_the_veto() {
    let policy = policy(
        "p",
        "  trail-compliance:\n    required: true\n    exceptions:\n      - if: ${{ flow.tags.kind == \"vuln-tracking\" }}\n",
    );
    let a = artifact(
        "x",
        vec![
            context("build", &[], Compliant, vec![]),
            context("vuln", &[("kind", "vuln-tracking")], NonCompliant, vec![]),
        ],
    );
    let rule = &rules(&a, &policy)[0];
    assert_eq!(rule.satisfied, Some(true));
    assert_eq!(kinds(rule), [RuleSatisfied, ExceptionApplied]);
}

#[test]
fn trail_compliance_without_context_is_not_applicable() {
    let policy = policy("p", TRAIL);
    let rule = &rules(&artifact("x", vec![]), &policy)[0];
    assert_eq!((rule.satisfied, rule.ignored), (None, false));
    assert_eq!(kinds(rule), [RuleNotApplicable]);
}

#[test]
fn attestation_found_missing_or_non_compliant() {
    let policy = policy("p", "  attestations:\n    - name: scan\n      type: snyk\n");
    let found = artifact("x", vec![context("ci", &[], Compliant, vec![att("scan", "snyk", true, Artifact)])]);
    assert_eq!(rules(&found, &policy)[0].satisfied, Some(true));
    let missing =
        artifact("x", vec![context("ci", &[], Compliant, vec![att("other", "snyk", true, Artifact)])]);
    let rule = &rules(&missing, &policy)[0];
    assert_eq!((rule.satisfied, kinds(rule)), (Some(false), vec![MissingAttestation]));
    let wrong_type =
        artifact("x", vec![context("ci", &[], Compliant, vec![att("scan", "junit", true, Artifact)])]);
    assert_eq!(rules(&wrong_type, &policy)[0].satisfied, Some(false));
    let failing =
        artifact("x", vec![context("ci", &[], Compliant, vec![att("scan", "snyk", false, Artifact)])]);
    let rule = &rules(&failing, &policy)[0];
    assert_eq!((rule.satisfied, kinds(rule)), (Some(false), vec![NonCompliantAttestation]));
}

#[test]
fn attestation_on_trail_or_artifact_both_count() {
    let policy = policy("p", "  attestations:\n    - name: pr\n      type: pull_request\n");
    for target in [Trail, Artifact] {
        let a =
            artifact("x", vec![context("ci", &[], Compliant, vec![att("pr", "pull_request", true, target)])]);
        assert_eq!(rules(&a, &policy)[0].satisfied, Some(true), "{target:?}");
    }
}

#[test]
fn latest_attestation_per_name_and_target_wins() {
    let policy = policy("p", "  attestations:\n    - name: scan\n      type: snyk\n");
    let fixed = vec![att("scan", "snyk", false, Artifact), att("scan", "snyk", true, Artifact)];
    assert_eq!(
        rules(&artifact("x", vec![context("ci", &[], Compliant, fixed)]), &policy)[0].satisfied,
        Some(true)
    );
    let regressed = vec![att("scan", "snyk", true, Artifact), att("scan", "snyk", false, Artifact)];
    assert_eq!(
        rules(&artifact("x", vec![context("ci", &[], Compliant, regressed)]), &policy)[0].satisfied,
        Some(false)
    );
    // Same name on another target is another attestation: its failure still vetoes.
    let split = vec![att("scan", "snyk", false, Trail), att("scan", "snyk", true, Artifact)];
    assert_eq!(
        rules(&artifact("x", vec![context("ci", &[], Compliant, split)]), &policy)[0].satisfied,
        Some(false)
    );
}

#[test]
fn attestation_evidence_anywhere_and_veto_anywhere() {
    let policy = policy("p", "  attestations:\n    - name: scan\n      type: snyk\n");
    let elsewhere = artifact(
        "x",
        vec![
            context("build", &[], Compliant, vec![]),
            context("scan", &[], Compliant, vec![att("scan", "snyk", true, Artifact)]),
        ],
    );
    let rule = &rules(&elsewhere, &policy)[0];
    assert_eq!(rule.satisfied, Some(true));
    assert_eq!(kinds(rule), [MissingAttestation, RuleSatisfied]);
    let veto = artifact(
        "x",
        vec![
            context("build", &[], Compliant, vec![att("scan", "snyk", true, Artifact)]),
            context("vuln", &[], Compliant, vec![att("scan", "snyk", false, Artifact)]),
        ],
    );
    assert_eq!(rules(&veto, &policy)[0].satisfied, Some(false));
}

#[test]
fn attestation_if_limits_where_the_rule_applies() {
    let policy = policy(
        "p",
        "  attestations:\n    - name: pr\n      type: pull_request\n      if: ${{ flow.tags.risk-level == \"high\" }}\n",
    );
    let low = artifact("x", vec![context("ci", &[("risk-level", "low")], Compliant, vec![])]);
    let rule = &rules(&low, &policy)[0];
    assert_eq!((rule.satisfied, kinds(rule)), (None, vec![RuleNotApplicable]));
    let high = artifact("x", vec![context("ci", &[("risk-level", "high")], Compliant, vec![])]);
    assert_eq!(rules(&high, &policy)[0].satisfied, Some(false));
    let mixed = artifact(
        "x",
        vec![
            context("low", &[("risk-level", "low")], Compliant, vec![]),
            context(
                "high",
                &[("risk-level", "high")],
                Compliant,
                vec![att("pr", "pull_request", true, Trail)],
            ),
        ],
    );
    assert_eq!(rules(&mixed, &policy)[0].satisfied, Some(true));
    // A non-compliant PR in a context where the rule does not apply is not a veto.
    let ignored_veto = artifact(
        "x",
        vec![
            context(
                "low",
                &[("risk-level", "low")],
                Compliant,
                vec![att("pr", "pull_request", false, Trail)],
            ),
            context(
                "high",
                &[("risk-level", "high")],
                Compliant,
                vec![att("pr", "pull_request", true, Trail)],
            ),
        ],
    );
    assert_eq!(rules(&ignored_veto, &policy)[0].satisfied, Some(true));
}

#[test]
fn attestation_if_error_counts_as_not_satisfied() {
    let policy = policy(
        "p",
        "  attestations:\n    - name: pr\n      type: pull_request\n      if: ${{ flow.tags.tier > 2 }}\n",
    );
    // tier "gold" cannot be compared with 2: error, so the rule fails even though the PR exists.
    let a = artifact(
        "x",
        vec![context("ci", &[("tier", "gold")], Compliant, vec![att("pr", "pull_request", true, Trail)])],
    );
    let decision = evaluate_artifact(&a, std::slice::from_ref(&policy));
    let rule = &decision.policy_decisions[0].rule_evaluations[0];
    assert_eq!((rule.satisfied, kinds(rule)), (Some(false), vec![EvaluationError]));
    assert!(
        decision.reasons[0].contains("cannot compare a string (\"gold\") with a number (2)"),
        "{:?}",
        decision.reasons
    );
    // A non-boolean condition is an error too.
    let policy = self::policy(
        "p",
        "  attestations:\n    - name: pr\n      type: pull_request\n      if: ${{ flow.name }}\n",
    );
    assert_eq!(rules(&a, &policy)[0].satisfied, Some(false));
}

#[test]
fn wildcards_match_any_name_or_any_type() {
    let any_name = policy("p", "  attestations:\n    - type: junit\n");
    let a =
        artifact("x", vec![context("ci", &[], Compliant, vec![att("unit-tests", "junit", true, Artifact)])]);
    assert_eq!(rules(&a, &any_name)[0].satisfied, Some(true));
    let any_type = policy("p", "  attestations:\n    - name: unit-tests\n      type: '*'\n");
    assert_eq!(rules(&a, &any_type)[0].satisfied, Some(true));
    // With name `*`, every junit attestation counts, so one failing junit attestation vetoes.
    let b = artifact(
        "x",
        vec![context(
            "ci",
            &[],
            Compliant,
            vec![att("unit", "junit", true, Artifact), att("integration", "junit", false, Trail)],
        )],
    );
    assert_eq!(rules(&b, &any_name)[0].satisfied, Some(false));
}

#[test]
fn custom_types_match_exactly() {
    let policy = policy("p", "  attestations:\n    - name: coverage\n      type: custom:coverage-metrics\n");
    let good = artifact(
        "x",
        vec![context("ci", &[], Compliant, vec![att("coverage", "custom:coverage-metrics", true, Trail)])],
    );
    assert_eq!(rules(&good, &policy)[0].satisfied, Some(true));
    let other = artifact(
        "x",
        vec![context("ci", &[], Compliant, vec![att("coverage", "custom:coverage", true, Trail)])],
    );
    assert_eq!(rules(&other, &policy)[0].satisfied, Some(false));
    let generic =
        artifact("x", vec![context("ci", &[], Compliant, vec![att("coverage", "generic", true, Trail)])]);
    assert_eq!(rules(&generic, &policy)[0].satisfied, Some(false));
}

#[test]
fn must_be_compliant_false_needs_presence_only() {
    let policy =
        policy("p", "  attestations:\n    - name: scan\n      type: snyk\n      must_be_compliant: false\n");
    let failing =
        artifact("x", vec![context("ci", &[], Compliant, vec![att("scan", "snyk", false, Artifact)])]);
    let rule = &rules(&failing, &policy)[0];
    assert_eq!((rule.satisfied, kinds(rule)), (Some(true), vec![RuleSatisfied]));
    let missing = artifact("x", vec![context("ci", &[], Compliant, vec![])]);
    assert_eq!(rules(&missing, &policy)[0].satisfied, Some(false));
}

#[test]
fn for_control_needs_a_compliant_decision_for_that_control() {
    let policy = policy("p", "  attestations:\n    - type: decision\n      for_control: RCTL-1\n");
    let cases = [
        (vec![decision("RCTL-1", true)], Some(true)),
        (vec![decision("RCTL-2", true)], Some(false)),
        (vec![decision("RCTL-1", false)], Some(false)),
        (vec![att("cab", "decision", true, Trail)], Some(false)),
        (vec![], Some(false)),
    ];
    for (attestations, expected) in cases {
        let a = artifact("x", vec![context("ci", &[], Compliant, attestations.clone())]);
        assert_eq!(rules(&a, &policy)[0].satisfied, expected, "{attestations:?}");
    }
}

#[test]
fn attestation_rules_do_not_apply_without_contexts() {
    let policy = policy("p", "  attestations:\n    - name: scan\n      type: snyk\n");
    let rule = &rules(&artifact("x", vec![]), &policy)[0];
    assert_eq!(rule.satisfied, None);
    // ... so a policy without provenance passes an unknown artifact: the reason `policy validate` warns.
    assert!(evaluate_artifact(&artifact("x", vec![]), &[policy]).compliant);
}

#[test]
fn several_policies_are_anded() {
    let lenient = policy("lenient", "  provenance:\n    required: true\n");
    let strict = policy("strict", "  attestations:\n    - name: scan\n      type: snyk\n");
    let a = artifact("x", vec![context("ci", &[], Compliant, vec![])]);
    let decision = evaluate_artifact(&a, &[lenient.clone(), strict.clone()]);
    assert!(!decision.compliant);
    let statuses: Vec<PolicyStatus> = decision.policy_decisions.iter().map(|d| d.status).collect();
    assert_eq!(statuses, [PolicyStatus::Compliant, PolicyStatus::NonCompliant]);
    assert_eq!(decision.reasons.len(), 1);
    assert!(
        decision.reasons[0].starts_with("strict: snyk attestation `scan` is required"),
        "{:?}",
        decision.reasons
    );
    assert!(evaluate_artifact(&a, &[lenient]).compliant);
    // No policy at all: nothing is required.
    assert!(evaluate_artifact(&a, &[]).compliant);
}

#[test]
fn every_failed_rule_gives_one_reason() {
    let policy = policy(
        "seed",
        "  provenance:\n    required: true\n  trail-compliance:\n    required: true\n  attestations:\n    - name: scan\n      type: snyk\n    - name: tests\n      type: junit\n",
    );
    let a =
        artifact("x", vec![context("ci", &[], NonCompliant, vec![att("tests", "junit", false, Artifact)])]);
    let decision = evaluate_artifact(&a, &[policy]);
    assert_eq!(decision.reasons.len(), 3, "{:#?}", decision.reasons);
    assert_eq!(
        decision.reasons[2],
        "seed: junit attestation `tests` is required: attestation `tests` (junit, on the artifact) is non-compliant in flow ci trail ci-trail"
    );
}
