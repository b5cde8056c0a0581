//! The one engine set-up every Rego evaluation in verdict uses (CLI, `policy test`, the conformance
//! harness), so a policy behaves the same wherever it runs.

use std::num::{NonZeroU32, NonZeroUsize};

use regorus::Engine;
use regorus::PolicyLengthConfig;

/// A fresh regorus engine: Rego v1 syntax, verdict's extra builtins registered, no network builtins
/// (regorus is built without its `http` feature, so `http.send` is an unknown function).
pub fn new_engine() -> Engine {
    let mut engine = Engine::new();
    engine.set_rego_v0(false);
    // regorus refuses lines longer than 1,024 columns by default; policies legitimately embed long PEM
    // certificates and JWTs on one line. The other limits stay generous but finite.
    engine.set_policy_length_config(PolicyLengthConfig {
        max_col: NonZeroU32::new(1 << 20).unwrap_or(NonZeroU32::MIN),
        max_file_bytes: NonZeroUsize::new(8 << 20).unwrap_or(NonZeroUsize::MIN),
        max_lines: NonZeroUsize::new(200_000).unwrap_or(NonZeroUsize::MIN),
    });
    crate::builtins::register(&mut engine);
    engine
}
