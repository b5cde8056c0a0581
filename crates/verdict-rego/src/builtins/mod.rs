//! Builtins verdict adds to regorus, each checked against OPA's documented behaviour and the OPA
//! conformance cases. They are registered as engine extensions with their arity, so the usual call forms
//! (including the output-argument form `f(x, out)`) work.

mod args;
mod array;
mod crypto;
mod net;

use regorus::Engine;

/// Registers every extension on `engine`. Registration fails only when a name is registered twice, which
/// is a programming error caught by the tests; it is logged rather than panicking.
pub fn register(engine: &mut Engine) {
    let results = [crypto::register(engine), array::register(engine), net::register(engine)];
    for result in results {
        if let Err(err) = result {
            tracing::error!("cannot register a Rego builtin: {err:#}");
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_extension_registers() {
        let mut engine = regorus::Engine::new();
        assert!(super::crypto::register(&mut engine).is_ok());
        assert!(super::array::register(&mut engine).is_ok());
        assert!(super::net::register(&mut engine).is_ok());
    }
}
