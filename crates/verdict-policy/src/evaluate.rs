//! The pure evaluator: an artifact, its contexts and policies in; a decision out (DESIGN.md rules 2, 4, 7).
//!
//! Evidence in any applicable context satisfies a rule; negative evidence in any applicable context vetoes
//! it; an expression error never loosens a decision. Provenance is the deny-by-default for artifacts that
//! were never reported anywhere.

use std::sync::Arc;

use verdict_core::{
    ArtifactDecision, ArtifactEvidence, AttestationEvidence, AttestationTarget, ComplianceStatus, ContextRef,
    EvaluationReport, EvidenceContext, EvidenceDocument, PolicyDecision, PolicyStatus, Resolution,
    ResolutionKind, RuleDescriptor, RuleEvaluation,
};

use crate::expr::Scope;
use crate::model::{AttestationRule, Condition, Policy, RequiredRule};

/// Evaluates every artifact of `document` against all `policies` (ANDed).
pub fn evaluate_document(document: &EvidenceDocument, policies: &[Policy]) -> EvaluationReport {
    let artifacts: Vec<ArtifactDecision> =
        document.artifacts.iter().map(|artifact| evaluate_artifact(artifact, policies)).collect();
    EvaluationReport { compliant: artifacts.iter().all(|a| a.compliant), artifacts }
}

/// Evaluates one artifact against all `policies`: compliant only when every policy is satisfied.
pub fn evaluate_artifact(artifact: &ArtifactEvidence, policies: &[Policy]) -> ArtifactDecision {
    let mut reasons = Vec::new();
    let contexts = Contexts::new(artifact);
    let policy_decisions: Vec<PolicyDecision> = policies
        .iter()
        .map(|policy| {
            let decision = evaluate_policy_in(&contexts, policy);
            for rule in decision.rule_evaluations.iter().filter(|rule| rule.satisfied == Some(false)) {
                reasons.push(reason(&policy.name, rule));
            }
            decision
        })
        .collect();
    let compliant = policy_decisions.iter().all(|d| d.status == PolicyStatus::Compliant);
    ArtifactDecision {
        name: artifact.name.clone(),
        fingerprint: artifact.fingerprint.clone(),
        compliant,
        policy_decisions,
        reasons,
    }
}

/// Evaluates one artifact against one policy. Rules that are not required are not evaluated.
pub fn evaluate_policy(artifact: &ArtifactEvidence, policy: &Policy) -> PolicyDecision {
    evaluate_policy_in(&Contexts::new(artifact), policy)
}

fn evaluate_policy_in(contexts: &Contexts<'_>, policy: &Policy) -> PolicyDecision {
    let mut rule_evaluations = Vec::with_capacity(2 + policy.attestations.len());
    if let Some(rule) = policy.provenance.as_ref().filter(|rule| rule.required) {
        rule_evaluations.push(provenance(contexts, rule));
    }
    if let Some(rule) = policy.trail_compliance.as_ref().filter(|rule| rule.required) {
        rule_evaluations.push(trail_compliance(contexts, rule));
    }
    for rule in &policy.attestations {
        rule_evaluations.push(attestation(contexts, rule));
    }
    let status = if rule_evaluations.iter().any(|rule| rule.satisfied == Some(false)) {
        PolicyStatus::NonCompliant
    } else {
        PolicyStatus::Compliant
    };
    PolicyDecision { policy_name: policy.name.clone(), status, rule_evaluations }
}

/// An artifact's contexts with their shared references, built once per artifact so resolutions clone an
/// `Arc` instead of two strings.
struct Contexts<'a> {
    artifact: &'a ArtifactEvidence,
    refs: Vec<Arc<ContextRef>>,
}

impl<'a> Contexts<'a> {
    fn new(artifact: &'a ArtifactEvidence) -> Self {
        let refs = artifact
            .contexts
            .iter()
            .map(|c| {
                Arc::new(ContextRef { flow_name: c.flow.name.clone(), trail_name: c.trail.name.clone() })
            })
            .collect();
        Contexts { artifact, refs }
    }

    fn iter(&self) -> impl Iterator<Item = (&'a EvidenceContext, &Arc<ContextRef>)> {
        self.artifact.contexts.iter().zip(&self.refs)
    }
}

fn scope<'a>(artifact: &'a ArtifactEvidence, context: Option<&'a EvidenceContext>) -> Scope<'a> {
    Scope {
        flow: context.map(|c| &c.flow),
        artifact_name: &artifact.name,
        artifact_fingerprint: artifact.fingerprint.as_str(),
    }
}

fn resolution(
    kind: ResolutionKind,
    context: Option<&Arc<ContextRef>>,
    message: Option<String>,
) -> Resolution {
    Resolution { kind, context: context.cloned(), message }
}

fn error_message(condition: &Condition, error: &dyn std::fmt::Display) -> String {
    format!("{}: {error}", condition.source)
}

/// Whether an exception waives the rule in this scope. An exception that fails to evaluate does not apply
/// (its error is recorded), so an error can only make a decision stricter.
fn exception_applies(
    exceptions: &[Condition],
    scope: &Scope<'_>,
    context: Option<&Arc<ContextRef>>,
    resolutions: &mut Vec<Resolution>,
) -> bool {
    for exception in exceptions {
        match exception.expr.eval_condition(scope) {
            Ok(true) => {
                let message = format!("exception {} applies", exception.source);
                resolutions.push(resolution(ResolutionKind::ExceptionApplied, context, Some(message)));
                return true;
            }
            Ok(false) => {}
            Err(err) => {
                let message = format!("exception does not apply: {}", error_message(exception, &err));
                resolutions.push(resolution(ResolutionKind::EvaluationError, context, Some(message)));
            }
        }
    }
    false
}

fn provenance(contexts: &Contexts<'_>, rule: &RequiredRule) -> RuleEvaluation {
    let artifact = contexts.artifact;
    let descriptor = Arc::clone(&rule.descriptor);
    let mut resolutions = Vec::with_capacity(artifact.contexts.len().max(1));
    if artifact.contexts.is_empty() {
        let waived = exception_applies(&rule.exceptions, &scope(artifact, None), None, &mut resolutions);
        if waived {
            return RuleEvaluation { rule: descriptor, satisfied: None, ignored: true, resolutions };
        }
        let message = "the artifact was never reported in any flow or trail".to_owned();
        resolutions.push(resolution(ResolutionKind::NoProvenance, None, Some(message)));
        return RuleEvaluation { rule: descriptor, satisfied: Some(false), ignored: false, resolutions };
    }
    let mut applicable = false;
    for (context, reference) in contexts.iter() {
        let scope = scope(artifact, Some(context));
        if !exception_applies(&rule.exceptions, &scope, Some(reference), &mut resolutions) {
            applicable = true;
            resolutions.push(resolution(ResolutionKind::RuleSatisfied, Some(reference), None));
        }
    }
    let satisfied = applicable.then_some(true);
    RuleEvaluation { rule: descriptor, satisfied, ignored: !applicable, resolutions }
}

/// The rule evaluation for an artifact without contexts, for rules that only the provenance rule judges.
fn no_context(descriptor: &Arc<RuleDescriptor>) -> RuleEvaluation {
    let message =
        "the artifact has no trail; the provenance rule judges artifacts without evidence".to_owned();
    RuleEvaluation {
        rule: Arc::clone(descriptor),
        satisfied: None,
        ignored: false,
        resolutions: vec![resolution(ResolutionKind::RuleNotApplicable, None, Some(message))],
    }
}

fn trail_compliance(contexts: &Contexts<'_>, rule: &RequiredRule) -> RuleEvaluation {
    let artifact = contexts.artifact;
    if artifact.contexts.is_empty() {
        return no_context(&rule.descriptor);
    }
    let mut resolutions = Vec::with_capacity(artifact.contexts.len().max(1));
    let (mut applicable, mut compliant, mut veto) = (false, false, false);
    for (context, reference) in contexts.iter() {
        let scope = scope(artifact, Some(context));
        if exception_applies(&rule.exceptions, &scope, Some(reference), &mut resolutions) {
            continue;
        }
        applicable = true;
        let (kind, message) = match context.artifact_status {
            ComplianceStatus::Compliant => {
                compliant = true;
                (ResolutionKind::RuleSatisfied, None)
            }
            ComplianceStatus::NonCompliant => {
                veto = true;
                (ResolutionKind::NonCompliantInTrail, Some("the artifact is NON-COMPLIANT".to_owned()))
            }
            ComplianceStatus::Incomplete => {
                (ResolutionKind::IncompleteInTrail, Some("the artifact is INCOMPLETE".to_owned()))
            }
        };
        resolutions.push(resolution(kind, Some(reference), message));
    }
    let satisfied = applicable.then_some(compliant && !veto);
    RuleEvaluation { rule: Arc::clone(&rule.descriptor), satisfied, ignored: !applicable, resolutions }
}

/// The attestations of a context that are the latest of their (name, target): a later entry with the same
/// name and target supersedes an earlier one.
fn latest(attestations: &[AttestationEvidence]) -> impl Iterator<Item = &AttestationEvidence> {
    attestations.iter().enumerate().filter_map(|(index, attestation)| {
        let superseded = attestations[index + 1..]
            .iter()
            .any(|later| later.name == attestation.name && later.target == attestation.target);
        (!superseded).then_some(attestation)
    })
}

fn target_word(target: AttestationTarget) -> &'static str {
    match target {
        AttestationTarget::Trail => "trail",
        AttestationTarget::Artifact => "artifact",
    }
}

fn attestation(contexts: &Contexts<'_>, rule: &AttestationRule) -> RuleEvaluation {
    let artifact = contexts.artifact;
    if artifact.contexts.is_empty() {
        return no_context(&rule.descriptor);
    }
    let mut resolutions = Vec::with_capacity(artifact.contexts.len().max(1));
    let (mut applicable, mut found, mut veto, mut errored) = (false, false, false, false);
    for (context, reference) in contexts.iter() {
        if let Some(condition) = &rule.condition {
            match condition.expr.eval_condition(&scope(artifact, Some(context))) {
                Ok(true) => {}
                Ok(false) => {
                    let message = format!("{} is false here", condition.source);
                    resolutions.push(resolution(
                        ResolutionKind::RuleNotApplicable,
                        Some(reference),
                        Some(message),
                    ));
                    continue;
                }
                Err(err) => {
                    errored = true;
                    let message =
                        format!("the rule counts as not satisfied: {}", error_message(condition, &err));
                    resolutions.push(resolution(
                        ResolutionKind::EvaluationError,
                        Some(reference),
                        Some(message),
                    ));
                    continue;
                }
            }
        }
        applicable = true;
        let (mut found_here, mut vetoed_here) = (false, false);
        for attestation in latest(&context.attestations) {
            if !rule.matches(&attestation.kind, &attestation.name, attestation.control.as_deref()) {
                continue;
            }
            if !attestation.is_compliant && rule.must_be_compliant {
                vetoed_here = true;
                let message = format!(
                    "attestation `{}` ({}, on the {}) is non-compliant",
                    attestation.name,
                    attestation.kind,
                    target_word(attestation.target)
                );
                resolutions.push(resolution(
                    ResolutionKind::NonCompliantAttestation,
                    Some(reference),
                    Some(message),
                ));
            } else {
                found_here = true;
            }
        }
        veto |= vetoed_here;
        if found_here {
            found = true;
            resolutions.push(resolution(ResolutionKind::RuleSatisfied, Some(reference), None));
        } else if !vetoed_here {
            let message = format!("no {} found", describe_attestation_rule(rule));
            resolutions.push(resolution(ResolutionKind::MissingAttestation, Some(reference), Some(message)));
        }
    }
    let satisfied = if errored {
        Some(false)
    } else if !applicable {
        None
    } else {
        Some(found && !veto)
    };
    RuleEvaluation { rule: Arc::clone(&rule.descriptor), satisfied, ignored: false, resolutions }
}

/// "snyk attestation `security-scan`", "decision attestation for control RCTL-1", ….
fn describe_attestation_rule(rule: &AttestationRule) -> String {
    let kind =
        if rule.attestation_type == "*" { "".to_owned() } else { format!("{} ", rule.attestation_type) };
    let mut text = if rule.name == "*" {
        format!("{kind}attestation")
    } else {
        format!("{kind}attestation `{}`", rule.name)
    };
    if let Some(control) = &rule.for_control {
        text.push_str(&format!(" for control {control}"));
    }
    if rule.must_be_compliant {
        text = format!("compliant {text}");
    }
    text
}

fn describe_rule(rule: &RuleDescriptor) -> String {
    match rule {
        RuleDescriptor::Provenance { .. } => "provenance is required".to_owned(),
        RuleDescriptor::TrailCompliance { .. } => "trail compliance is required".to_owned(),
        RuleDescriptor::Attestation { attestation_type, name, for_control, .. } => {
            let mut text = match (attestation_type.as_str(), name.as_str()) {
                ("*", name) => format!("attestation `{name}` is required"),
                (kind, "*") => format!("a {kind} attestation is required"),
                (kind, name) => format!("{kind} attestation `{name}` is required"),
            };
            if let Some(control) = for_control {
                text.push_str(&format!(" for control {control}"));
            }
            text
        }
    }
}

/// One human-readable sentence for a failed rule: the rule, then what was wrong where.
fn reason(policy: &str, rule: &RuleEvaluation) -> String {
    let details: Vec<String> = rule
        .resolutions
        .iter()
        .filter(|r| {
            !matches!(
                r.kind,
                ResolutionKind::RuleSatisfied
                    | ResolutionKind::RuleNotApplicable
                    | ResolutionKind::ExceptionApplied
            )
        })
        .map(|r| {
            let message = r.message.as_deref().unwrap_or_default();
            match &r.context {
                Some(context) => {
                    format!("{message} in flow {} trail {}", context.flow_name, context.trail_name)
                }
                None => message.to_owned(),
            }
        })
        .collect();
    format!("{policy}: {}: {}", describe_rule(&rule.rule), details.join("; "))
}
