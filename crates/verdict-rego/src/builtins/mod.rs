//! Builtins verdict adds to regorus, each checked against OPA's documented behaviour and the OPA
//! conformance cases. They are registered as engine extensions with their arity.

mod args;
mod array;
mod aws_sigv4;
mod crypto;
mod der;
mod globs;
mod graphql;
mod interpolation;
mod jwk;
mod jwt;
mod keys;
mod net;
mod overrides;
mod private_keys;
mod template;
mod x509;
mod x509_chain;

use anyhow::Result;
use regorus::{Engine, Value};

/// An extension: its Rego name, its number of operands, and its implementation.
pub type Builtin = (&'static str, u8, fn(&[Value]) -> Result<Value>);

/// Every builtin verdict adds.
pub fn all() -> impl Iterator<Item = &'static Builtin> {
    crypto::FUNCTIONS
        .iter()
        .chain(array::FUNCTIONS)
        .chain(aws_sigv4::FUNCTIONS)
        .chain(net::FUNCTIONS)
        .chain(jwt::FUNCTIONS)
        .chain(globs::FUNCTIONS)
        .chain(graphql::FUNCTIONS)
        .chain(x509::FUNCTIONS)
        .chain(x509_chain::FUNCTIONS)
        .chain(keys::FUNCTIONS)
        .chain(template::FUNCTIONS)
        .chain(interpolation::FUNCTIONS)
        .chain(overrides::FUNCTIONS)
}

/// The arity of verdict's builtin `name`, if it is one.
pub fn arity(name: &str) -> Option<u8> {
    all().find(|(candidate, _, _)| *candidate == name).map(|(_, nargs, _)| *nargs)
}

/// Registers every extension on `engine`. Registration fails only when a name is registered twice, which
/// is a programming error caught by the tests; it is logged rather than panicking.
pub fn register(engine: &mut Engine) {
    for (name, nargs, function) in all() {
        let function = *function;
        let added = engine.add_extension(
            (*name).to_owned(),
            *nargs,
            Box::new(move |args: Vec<Value>| function(&args)),
        );
        if let Err(err) = added {
            tracing::error!("cannot register the Rego builtin {name}: {err:#}");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    #[test]
    fn every_extension_registers_once_and_shadows_no_regorus_builtin() {
        let names: Vec<&str> = super::all().map(|(name, _, _)| *name).collect();
        let unique: BTreeSet<&str> = names.iter().copied().collect();
        assert_eq!(names.len(), unique.len(), "duplicate names");
        for name in names {
            assert!(
                !regorus::unstable::BUILTINS.contains_key(name) || super::overrides::REPLACED.contains(&name),
                "{name} is already a regorus builtin"
            );
            let mut engine = regorus::Engine::new();
            let (_, nargs, function) = super::all().find(|(n, _, _)| *n == name).unwrap();
            let function = *function;
            assert!(
                engine
                    .add_extension(
                        name.to_owned(),
                        *nargs,
                        Box::new(move |a: Vec<regorus::Value>| function(&a))
                    )
                    .is_ok()
            );
        }
    }
}
