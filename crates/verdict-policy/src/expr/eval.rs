//! Typed evaluation. Every failure is an [`EvalError`], which callers turn into a deny (DESIGN.md rule 2).

use std::cmp::Ordering;
use std::fmt;

use verdict_core::FlowEvidence;

use super::ast::{CompareOp, ContextPath, Expr, ExprKind, Literal, LogicOp, Span};
use super::parser::compile_regex;

/// What an expression can see: the artifact, and the flow of the context being judged (none for an
/// artifact without provenance, where every `flow.*` value is null).
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// The flow of the current context, if any.
    pub flow: Option<&'a FlowEvidence>,
    /// `artifact.name`.
    pub artifact_name: &'a str,
    /// `artifact.fingerprint`.
    pub artifact_fingerprint: &'a str,
}

/// A runtime value. Strings borrow from the policy or the evidence, so evaluation does not allocate.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// A missing value (a tag that is not set, or `flow` for an artifact without provenance).
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number.
    Number(f64),
    /// A string.
    String(&'a str),
    /// A list.
    List(Vec<Value<'a>>),
}

impl Value<'_> {
    /// The type name used in error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::List(_) => "a list",
        }
    }

    /// Numbers, and strings that spell a finite number, as a number (the coercion ordering comparisons use).
    fn as_number(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            Value::String(s) => numeric_string(s),
            _ => None,
        }
    }
}

impl fmt::Display for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(n) => write!(f, "{n}"),
            Value::String(s) => super::ast::write_string_literal(f, s),
            Value::List(items) => {
                f.write_str("[")?;
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
        }
    }
}

/// A string is numeric when it starts like a number and parses to a finite one (so `inf`, `NaN` and
/// `1.2.3` stay strings).
fn numeric_string(text: &str) -> Option<f64> {
    let body = text.strip_prefix('-').unwrap_or(text);
    if !body.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    text.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// An expression that could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalError {
    /// What went wrong.
    pub message: String,
    /// The sub-expression at fault.
    pub span: Span,
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for EvalError {}

fn error(message: impl Into<String>, span: Span) -> EvalError {
    EvalError { message: message.into(), span }
}

impl Expr {
    /// Evaluates a condition: the result must be a boolean, anything else is an error.
    pub fn eval_condition(&self, scope: &Scope<'_>) -> Result<bool, EvalError> {
        match self.eval(scope)? {
            Value::Bool(b) => Ok(b),
            other => Err(error(
                format!("the condition evaluated to {} ({other}), not a boolean", other.type_name()),
                self.span,
            )),
        }
    }

    /// Evaluates the expression to a value.
    pub fn eval<'a>(&'a self, scope: &Scope<'a>) -> Result<Value<'a>, EvalError> {
        match &self.kind {
            ExprKind::Literal(literal) => Ok(match literal {
                Literal::String(s) => Value::String(s),
                Literal::Number(n) => Value::Number(*n),
                Literal::Bool(b) => Value::Bool(*b),
                Literal::Null => Value::Null,
            }),
            ExprKind::List(items) => {
                items.iter().map(|item| item.eval(scope)).collect::<Result<_, _>>().map(Value::List)
            }
            ExprKind::Context(path) => Ok(lookup(path, scope)),
            ExprKind::Not(inner) => Ok(Value::Bool(!inner.eval_operand_bool(scope, "not")?)),
            ExprKind::Logic { op, left, right } => {
                let word = if *op == LogicOp::And { "and" } else { "or" };
                let left = left.eval_operand_bool(scope, word)?;
                match (op, left) {
                    (LogicOp::And, false) => Ok(Value::Bool(false)),
                    (LogicOp::Or, true) => Ok(Value::Bool(true)),
                    _ => right.eval_operand_bool(scope, word).map(Value::Bool),
                }
            }
            ExprKind::Compare { op: CompareOp::In, left, right } => {
                let needle = left.eval(scope)?;
                let ExprKind::List(items) = &right.kind else {
                    return Err(error("`in` needs a list on its right", right.span));
                };
                for item in items {
                    if equal(&needle, &item.eval(scope)?) {
                        return Ok(Value::Bool(true));
                    }
                }
                Ok(Value::Bool(false))
            }
            ExprKind::Compare { op, left, right } => {
                let a = left.eval(scope)?;
                let b = right.eval(scope)?;
                let result = match op {
                    CompareOp::Eq => equal(&a, &b),
                    CompareOp::Ne => !equal(&a, &b),
                    _ => {
                        let ordering = order(&a, &b).ok_or_else(|| {
                            error(
                                format!(
                                    "cannot compare {} ({a}) with {} ({b}) using `{}`",
                                    a.type_name(),
                                    b.type_name(),
                                    op.symbol()
                                ),
                                self.span,
                            )
                        })?;
                        match op {
                            CompareOp::Lt => ordering == Ordering::Less,
                            CompareOp::Gt => ordering == Ordering::Greater,
                            CompareOp::Le => ordering != Ordering::Greater,
                            _ => ordering != Ordering::Less,
                        }
                    }
                };
                Ok(Value::Bool(result))
            }
            ExprKind::Exists(inner) => Ok(Value::Bool(inner.eval(scope)? != Value::Null)),
            ExprKind::Matches { subject, pattern, compiled } => {
                let text = match subject.eval(scope)? {
                    Value::String(s) => s,
                    // A missing value matches nothing.
                    Value::Null => return Ok(Value::Bool(false)),
                    other => {
                        return Err(error(
                            format!(
                                "matches() needs a string to search, found {} ({other})",
                                other.type_name()
                            ),
                            subject.span,
                        ));
                    }
                };
                if let Some(regex) = compiled {
                    return Ok(Value::Bool(regex.0.is_match(text)));
                }
                let source = match pattern.eval(scope)? {
                    Value::String(s) => s,
                    other => {
                        return Err(error(
                            format!(
                                "matches() needs a string pattern, found {} ({other})",
                                other.type_name()
                            ),
                            pattern.span,
                        ));
                    }
                };
                let regex = compile_regex(source).map_err(|err| {
                    error(format!("invalid regular expression {source:?}: {err}"), pattern.span)
                })?;
                Ok(Value::Bool(regex.is_match(text)))
            }
        }
    }

    fn eval_operand_bool(&self, scope: &Scope<'_>, operator: &str) -> Result<bool, EvalError> {
        match self.eval(scope)? {
            Value::Bool(b) => Ok(b),
            other => Err(error(
                format!("`{operator}` needs a boolean, found {} ({other})", other.type_name()),
                self.span,
            )),
        }
    }
}

fn lookup<'a>(path: &'a ContextPath, scope: &Scope<'a>) -> Value<'a> {
    match path {
        ContextPath::FlowName => scope.flow.map_or(Value::Null, |flow| Value::String(&flow.name)),
        ContextPath::FlowTag(key) => scope
            .flow
            .and_then(|flow| flow.tags.get(key.as_str()))
            .map_or(Value::Null, |value| Value::String(value)),
        ContextPath::ArtifactName => Value::String(scope.artifact_name),
        ContextPath::ArtifactFingerprint => Value::String(scope.artifact_fingerprint),
        // Parsed only inside `exists(…)`, which asks whether the context is there at all.
        ContextPath::Flow => scope.flow.map_or(Value::Null, |_| Value::Bool(true)),
        ContextPath::FlowTags => scope.flow.map_or(Value::Null, |_| Value::Bool(true)),
        ContextPath::Artifact => Value::Bool(true),
    }
}

/// `==`: same type and value; numbers by value; no coercion.
fn equal(a: &Value<'_>, b: &Value<'_>) -> bool {
    match (a, b) {
        (Value::List(x), Value::List(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| equal(p, q)),
        _ => a == b,
    }
}

/// Ordering: numbers (numeric strings coerced) by value, other strings lexicographically; anything else is
/// not comparable.
fn order(a: &Value<'_>, b: &Value<'_>) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (a.as_number(), b.as_number()) {
        return x.partial_cmp(&y);
    }
    match (a, b) {
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    }
}
