//! verdict's Rego layer: Kosli's policy contract (`package policy`, boolean `allow`, `violations` set of
//! strings, `--params` as `data.params`) on the regorus engine, with a wall-clock budget, panic isolation
//! and the builtins compliance policies need that regorus lacks.
//!
//! A policy is parsed and checked once ([`RegoPolicy::load`]) and then evaluated any number of times:
//! each evaluation clones the prepared engine (a cheap copy-on-write clone), so the loaded policy is an
//! immutable environment that can be shared across threads.

mod ast;
mod builtins;
pub mod engine;
mod error;
pub mod lint;
mod metadata;
mod policy;
pub mod testing;
mod unsupported;
pub mod watchdog;

pub use error::{Location, RegoError};
pub use policy::{Decision, Limits, RegoPolicy, set_memory_limit};
