//! A loaded environment policy: validated, with every expression parsed.

use std::sync::Arc;

use verdict_core::RuleDescriptor;

use crate::expr::Expr;

/// An environment policy ready to evaluate. Built only by the loader, so every expression in it parsed and
/// every regex literal compiled.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The policy's name (the file stem for files).
    pub name: String,
    /// `artifacts.provenance`, when present.
    pub provenance: Option<RequiredRule>,
    /// `artifacts.trail-compliance`, when present.
    pub trail_compliance: Option<RequiredRule>,
    /// `artifacts.attestations`, in file order.
    pub attestations: Vec<AttestationRule>,
}

/// `provenance` and `trail-compliance`: a switch with exceptions.
#[derive(Debug, Clone)]
pub struct RequiredRule {
    /// Whether the rule is enforced (default false).
    pub required: bool,
    /// Conditions under which the rule is waived.
    pub exceptions: Vec<Condition>,
    /// The rule as echoed in decisions, built once at load time.
    pub descriptor: Arc<RuleDescriptor>,
}

/// A `${{ … }}` condition with where it was written.
#[derive(Debug, Clone)]
pub struct Condition {
    /// The value as written in the policy, `${{ … }}` included.
    pub source: String,
    /// The parsed expression.
    pub expr: Expr,
}

/// One entry of `artifacts.attestations`.
#[derive(Debug, Clone)]
pub struct AttestationRule {
    /// The type asked for: a built-in type, `custom:<name>`, or `*` for any.
    pub attestation_type: String,
    /// The name asked for, or `*` for any.
    pub name: String,
    /// When the rule applies; absent means always.
    pub condition: Option<Condition>,
    /// Whether a non-compliant matching attestation fails the rule (default true).
    pub must_be_compliant: bool,
    /// For `decision` rules: the control id the decision must be about.
    pub for_control: Option<String>,
    /// The rule as echoed in decisions, built once at load time.
    pub descriptor: Arc<RuleDescriptor>,
}

impl AttestationRule {
    /// Whether an attestation of this type and name (and control) is one the rule is about.
    pub fn matches(&self, kind: &str, name: &str, control: Option<&str>) -> bool {
        (self.attestation_type == "*" || self.attestation_type == kind)
            && (self.name == "*" || self.name == name)
            && self.for_control.as_deref().is_none_or(|wanted| control == Some(wanted))
    }
}
