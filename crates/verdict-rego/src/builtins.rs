//! Builtins verdict adds to regorus (registered as engine extensions).

use regorus::Engine;

/// Registers every extension on `engine`.
pub fn register(engine: &mut Engine) {
    let _ = engine;
}
