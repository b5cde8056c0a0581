//! verdict's domain model, shared by every crate and every enforcement point.
//!
//! This crate holds the data that crosses crate boundaries: the evidence document that policies are
//! evaluated against, the decision records they produce, and the exit-code contract of the CLI. It does
//! no I/O, so the same types serve the local CLI, CI and (later) the admission webhook.

pub mod decision;
pub mod duration;
pub mod error_chain;
pub mod evidence;
pub mod exit;
pub mod fingerprint;
pub mod net;
pub mod severity;

pub use decision::{
    ArtifactDecision, ContextRef, EvaluationReport, PolicyDecision, PolicyStatus, Resolution, ResolutionKind,
    RuleDescriptor, RuleEvaluation,
};
pub use evidence::{
    ArtifactEvidence, AttestationEvidence, AttestationTarget, ComplianceStatus, EvidenceContext,
    EvidenceDocument, EvidenceError, FlowEvidence, TrailEvidence,
};
pub use exit::ExitStatus;
pub use fingerprint::{Fingerprint, FingerprintError};
pub use severity::Severity;
