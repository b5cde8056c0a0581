//! Decision records: what a policy evaluation concluded and why.
//!
//! These types are the JSON contract of `verdict policy eval -o json` and, later, of snapshot documents and
//! assert decisions. Every failed rule carries resolutions naming the flow and trail it failed in, so a
//! human (or a script) can see what to fix without re-running anything.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::fingerprint::Fingerprint;

/// The outcome of evaluating a set of artifacts against a set of policies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvaluationReport {
    /// True when every artifact is compliant with every policy.
    pub compliant: bool,
    /// One decision per artifact, in input order.
    pub artifacts: Vec<ArtifactDecision>,
}

/// The decision for one artifact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtifactDecision {
    /// The artifact's name.
    pub name: String,
    /// The artifact's fingerprint.
    pub fingerprint: Fingerprint,
    /// True when every policy's status is COMPLIANT (policies are ANDed).
    pub compliant: bool,
    /// One decision per policy, in the order the policies were given.
    pub policy_decisions: Vec<PolicyDecision>,
    /// Human-readable reasons, one per failed rule.
    pub reasons: Vec<String>,
}

/// One policy's decision on one artifact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyDecision {
    /// The policy's name (the file stem for files).
    pub policy_name: String,
    /// COMPLIANT unless a rule is unsatisfied.
    pub status: PolicyStatus,
    /// Every rule of the policy that was evaluated, in policy order.
    pub rule_evaluations: Vec<RuleEvaluation>,
}

/// Whether an artifact satisfies a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PolicyStatus {
    /// No rule is unsatisfied.
    #[serde(rename = "COMPLIANT")]
    Compliant,
    /// At least one rule is unsatisfied.
    #[serde(rename = "NON-COMPLIANT")]
    NonCompliant,
}

/// How one rule fared for one artifact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleEvaluation {
    /// The rule, as written in the policy (shared: one allocation per policy rule, not per artifact).
    pub rule: Arc<RuleDescriptor>,
    /// `true` satisfied, `false` not satisfied, `null` not applicable to this artifact.
    pub satisfied: Option<bool>,
    /// True when the rule was waived by its exceptions (in every context, or for an artifact without
    /// provenance).
    pub ignored: bool,
    /// The evidence behind the outcome, context by context.
    pub resolutions: Vec<Resolution>,
}

/// A policy rule, echoed into the decision so the record stands on its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum RuleDescriptor {
    /// `artifacts.provenance`.
    Provenance {
        /// Always true for an evaluated rule (a rule that is not required is not evaluated).
        required: bool,
        /// The exceptions' `if` expressions, as written.
        exceptions: Vec<String>,
    },
    /// `artifacts.trail-compliance`.
    TrailCompliance {
        /// Always true for an evaluated rule.
        required: bool,
        /// The exceptions' `if` expressions, as written.
        exceptions: Vec<String>,
    },
    /// One entry of `artifacts.attestations`.
    Attestation {
        /// The attestation type the rule asks for (`*` for any).
        attestation_type: String,
        /// The attestation name the rule asks for (`*` for any).
        name: String,
        /// The rule's `if` expression, as written.
        #[serde(rename = "if", default, skip_serializing_if = "Option::is_none")]
        condition: Option<String>,
        /// Whether a non-compliant matching attestation fails the rule.
        must_be_compliant: bool,
        /// For `decision` rules: the control id the decision must be about.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        for_control: Option<String>,
    },
}

/// One piece of evidence (or lack of it) behind a rule's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resolution {
    /// What was found.
    #[serde(rename = "type")]
    pub kind: ResolutionKind,
    /// The flow and trail it was found in; `null` for an artifact without provenance.
    pub context: Option<Arc<ContextRef>>,
    /// Details, e.g. the evaluation error or the attestation that failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The kinds of resolution a rule evaluation can report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResolutionKind {
    /// This context provides the evidence the rule asks for.
    RuleSatisfied,
    /// The rule does not apply here (its `if` is false).
    RuleNotApplicable,
    /// An exception's `if` is true here, so the rule is waived in this context.
    ExceptionApplied,
    /// The artifact was never reported in any flow or trail.
    NoProvenance,
    /// The artifact is NON-COMPLIANT in this trail.
    NonCompliantInTrail,
    /// The artifact is INCOMPLETE in this trail (no veto, but no evidence either).
    IncompleteInTrail,
    /// No attestation matching the rule was found here.
    MissingAttestation,
    /// A matching attestation here is non-compliant.
    NonCompliantAttestation,
    /// An expression failed to evaluate; the rule counts as not satisfied, or the exception does not apply.
    EvaluationError,
}

/// A reference to the (flow, trail) a resolution is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextRef {
    /// The flow's name.
    pub flow_name: String,
    /// The trail's name.
    pub trail_name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_descriptors_serialize_with_their_documented_type_names() {
        let provenance = RuleDescriptor::Provenance { required: true, exceptions: vec![] };
        let trail = RuleDescriptor::TrailCompliance { required: true, exceptions: vec![] };
        let attestation = RuleDescriptor::Attestation {
            attestation_type: "snyk".into(),
            name: "scan".into(),
            condition: Some("${{ true }}".into()),
            must_be_compliant: true,
            for_control: None,
        };
        let json = serde_json::to_value([provenance, trail, attestation]).unwrap();
        assert_eq!(json[0]["type"], "provenance");
        assert_eq!(json[1]["type"], "trail-compliance");
        assert_eq!(json[2]["type"], "attestation");
        assert_eq!(json[2]["if"], "${{ true }}");
        assert!(json[2].get("for_control").is_none());
    }

    #[test]
    fn resolution_kinds_are_snake_case() {
        let resolution =
            Resolution { kind: ResolutionKind::NonCompliantInTrail, context: None, message: None };
        assert_eq!(
            serde_json::to_string(&resolution).unwrap(),
            r#"{"type":"non_compliant_in_trail","context":null}"#
        );
    }
}
