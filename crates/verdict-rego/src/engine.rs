//! The one engine set-up every Rego evaluation in verdict uses (CLI, `policy test`, the conformance
//! harness), so a policy behaves the same wherever it runs.

use regorus::Engine;

/// A fresh regorus engine: Rego v1 syntax, verdict's extra builtins registered, no network builtins
/// (regorus is built without its `http` feature, so `http.send` is an unknown function).
pub fn new_engine() -> Engine {
    let mut engine = Engine::new();
    engine.set_rego_v0(false);
    crate::builtins::register(&mut engine);
    engine
}
