//! Environment policies: the YAML v1 loader, the `${{ }}` expression language and the pure evaluator.
//!
//! Every enforcement point (local CLI, CI, admission) evaluates policies through this crate, so a policy
//! that passes in one place passes in all of them. Nothing here does I/O: callers hand in source text and
//! evidence documents, and get back decisions or diagnostics that name file, line and column.

pub mod expr;

pub mod diagnostic;
pub mod load;
pub mod model;
pub mod schema;
pub mod suggest;
pub mod yaml;

pub use diagnostic::{Diagnostic, Severity};
pub use load::{LoadedPolicy, load_policy};
pub use model::{AttestationRule, Condition, Policy, RequiredRule};
pub mod evaluate;
pub use evaluate::{evaluate_artifact, evaluate_document, evaluate_policy};
#[doc(hidden)]
pub mod fuzz_checks;
