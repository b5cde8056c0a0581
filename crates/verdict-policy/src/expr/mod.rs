//! The `${{ … }}` expression language of environment policies (DESIGN.md rule 5).
//!
//! Expressions are parsed once, when a policy is loaded, so that every syntax error, unknown function,
//! wrong arity and invalid literal regex is reported before any artifact is judged. Evaluation is then a
//! cheap walk over the tree that borrows from the evidence and allocates nothing for the common cases.

mod ast;
mod eval;
mod lexer;
mod parser;

pub use ast::{CompareOp, ContextPath, Expr, ExprKind, Literal, LiteralRegex, LogicOp, Span};
pub use eval::{EvalError, Scope, Value};
pub use parser::{ParseError, parse};

#[cfg(test)]
mod tests;
