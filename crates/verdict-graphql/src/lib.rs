//! GraphQL for Rego's `graphql.*` builtins. OPA answers these with its GraphQL library, gqlparser: the
//! parsed AST it returns to policies has gqlparser's field names, its errors have gqlparser's texts, and
//! its validation has gqlparser's rules and leniencies (an extension of an undeclared type declares it).
//! A policy written against OPA therefore needs exactly that shape and behaviour, which is what this
//! crate gives: a lexer and parser for both document kinds, a schema builder with the built-in prelude,
//! and the specification's validation rules.

pub mod ast;
mod error;
pub mod fuzz_checks;
mod lexer;
mod parser;
mod schema;
mod validate;

pub use ast::{QueryDocument, SchemaDocument, to_opa_value};
pub use error::{GraphqlError, Position};
pub use parser::{parse_query, parse_schema};
pub use schema::Schema;
pub use validate::{validate, validate_all};
