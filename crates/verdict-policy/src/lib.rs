//! Environment policies: the YAML v1 loader, the `${{ }}` expression language and the pure evaluator.
//!
//! Every enforcement point (local CLI, CI, admission) evaluates policies through this crate, so a policy
//! that passes in one place passes in all of them. Nothing here does I/O: callers hand in source text and
//! evidence documents, and get back decisions or diagnostics that name file, line and column.

pub mod expr;
