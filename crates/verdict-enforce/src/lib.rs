//! Environments and enforcement: what runs where (snapshots), which environment policies apply there, and
//! the decision "may this artifact run here?". Everything is computed over any [`verdict_ledger::Ledger`]
//! (the embedded store or a server), and decisions come from the one evaluator in `verdict-policy`, fed
//! with evidence gathered from the ledger in exactly the evidence-document shape.

pub mod artifact_view;
pub mod assert;
pub mod environments;
pub mod evaluation;
pub mod evidence;
pub mod policies;
pub mod search;
pub mod snapshots;

pub use artifact_view::{ArtifactSelector, ArtifactView, artifact_view};
pub use assert::{AssertDecision, AssertRequest, PolicyChoice, artifact_name, assert_artifact};
pub use environments::{create_environment, environment, environments};
pub use evaluation::{
    AppliedPolicy, ArtifactVerdict, Evaluation, PolicySet, allow_list, evaluate_artifacts, policy_set,
};
pub use evidence::gather_evidence;
pub use policies::{PolicyVersion, attach_policy, attached_policies, create_policy, policies, policy};
pub use search::{SearchResult, resolve_fingerprint, search};
pub use snapshots::{
    Selector, SnapshotOutcome, SnapshotView, parse_selector, reevaluate_latest, report_snapshot,
    snapshot_view, snapshots,
};
