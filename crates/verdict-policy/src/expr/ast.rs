//! The expression tree, and its canonical printed form.

use std::fmt;
use std::sync::Arc;

/// A byte range inside the expression text (the part between `${{` and `}}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// First byte of the range.
    pub start: usize,
    /// One past the last byte of the range.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end`.
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn join(self, other: Span) -> Span {
        Span { start: self.start.min(other.start), end: self.end.max(other.end) }
    }
}

/// A parsed expression node. Equality ignores spans, so a re-parsed tree equals the original.
#[derive(Debug, Clone)]
pub struct Expr {
    /// What the node is.
    pub kind: ExprKind,
    /// Where it is in the expression text.
    pub span: Span,
}

impl PartialEq for Expr {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
    }
}

/// The node kinds of the expression language.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// A string, number, boolean or null literal.
    Literal(Literal),
    /// A list literal `[a, b, …]`.
    List(Vec<Expr>),
    /// A context value such as `flow.name`.
    Context(ContextPath),
    /// `not x`.
    Not(Box<Expr>),
    /// `a and b`, `a or b` (short-circuit, left to right).
    Logic {
        /// `and` or `or`.
        op: LogicOp,
        /// Evaluated first.
        left: Box<Expr>,
        /// Evaluated only when `left` does not decide.
        right: Box<Expr>,
    },
    /// A comparison or membership test.
    Compare {
        /// Which comparison.
        op: CompareOp,
        /// Left operand.
        left: Box<Expr>,
        /// Right operand (a list literal for `in`).
        right: Box<Expr>,
    },
    /// `exists(x)`: true when `x` is not null.
    Exists(Box<Expr>),
    /// `matches(subject, pattern)`: unanchored regex search.
    Matches {
        /// The string searched.
        subject: Box<Expr>,
        /// The pattern.
        pattern: Box<Expr>,
        /// The pattern compiled at load time, when it is a literal.
        compiled: Option<LiteralRegex>,
    },
}

/// Literal values.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// `'…'` or `"…"`, escapes already resolved.
    String(String),
    /// An integer or decimal number.
    Number(f64),
    /// `true` / `false`.
    Bool(bool),
    /// `null`.
    Null,
}

/// The values an expression can read from its evaluation context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextPath {
    /// `flow.name`.
    FlowName,
    /// `flow.tags.<key>`; the key is everything after `flow.tags.`.
    FlowTag(String),
    /// `artifact.name`.
    ArtifactName,
    /// `artifact.fingerprint`.
    ArtifactFingerprint,
    /// `flow` as a whole, only as `exists(flow)`: whether the artifact has a flow in this context.
    Flow,
    /// `flow.tags` as a whole, only as `exists(flow.tags)`: whether there is a flow (whose tags, possibly
    /// none, are then a map that exists).
    FlowTags,
    /// `artifact` as a whole, only as `exists(artifact)`: always true (there is always an artifact).
    Artifact,
}

impl ContextPath {
    /// The whole-context path a bare name stands for inside `exists(…)`.
    pub fn whole(name: &str) -> Option<ContextPath> {
        match name {
            "flow" => Some(ContextPath::Flow),
            "flow.tags" => Some(ContextPath::FlowTags),
            "artifact" => Some(ContextPath::Artifact),
            _ => None,
        }
    }
}

/// `and` / `or`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogicOp {
    /// Both must be true.
    And,
    /// Either must be true.
    Or,
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `>`
    Gt,
    /// `<=`
    Le,
    /// `>=`
    Ge,
    /// `in`
    In,
}

impl CompareOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            CompareOp::Eq => "==",
            CompareOp::Ne => "!=",
            CompareOp::Lt => "<",
            CompareOp::Gt => ">",
            CompareOp::Le => "<=",
            CompareOp::Ge => ">=",
            CompareOp::In => "in",
        }
    }
}

/// A regex compiled from a literal pattern; compares by its source text.
#[derive(Debug, Clone)]
pub struct LiteralRegex(pub Arc<regex::Regex>);

impl PartialEq for LiteralRegex {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

/// Binding strength, lowest first, used by the printer to place parentheses.
fn precedence(kind: &ExprKind) -> u8 {
    match kind {
        ExprKind::Logic { op: LogicOp::Or, .. } => 1,
        ExprKind::Logic { op: LogicOp::And, .. } => 2,
        ExprKind::Not(_) => 3,
        ExprKind::Compare { .. } => 4,
        _ => 5,
    }
}

struct Operand<'a>(&'a Expr, u8);

impl fmt::Display for Operand<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if precedence(&self.0.kind) < self.1 { write!(f, "({})", self.0) } else { write!(f, "{}", self.0) }
    }
}

/// Writes a string literal that the lexer reads back to the same text.
pub(crate) fn write_string_literal(f: &mut impl fmt::Write, text: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in text.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::String(s) => write_string_literal(f, s),
            Literal::Number(n) => write!(f, "{n}"),
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Null => f.write_str("null"),
        }
    }
}

impl fmt::Display for ContextPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContextPath::FlowName => f.write_str("flow.name"),
            ContextPath::FlowTag(key) => write!(f, "flow.tags.{key}"),
            ContextPath::ArtifactName => f.write_str("artifact.name"),
            ContextPath::ArtifactFingerprint => f.write_str("artifact.fingerprint"),
            ContextPath::Flow => f.write_str("flow"),
            ContextPath::FlowTags => f.write_str("flow.tags"),
            ContextPath::Artifact => f.write_str("artifact"),
        }
    }
}

/// Prints the canonical form: minimal parentheses, double-quoted strings. Parsing it gives an equal tree.
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ExprKind::Literal(literal) => write!(f, "{literal}"),
            ExprKind::List(items) => {
                f.write_str("[")?;
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            ExprKind::Context(path) => write!(f, "{path}"),
            ExprKind::Not(inner) => write!(f, "not {}", Operand(inner, 3)),
            ExprKind::Logic { op, left, right } => {
                let (word, level) = match op {
                    LogicOp::Or => ("or", 1),
                    LogicOp::And => ("and", 2),
                };
                write!(f, "{} {word} {}", Operand(left, level), Operand(right, level + 1))
            }
            ExprKind::Compare { op, left, right } => {
                write!(f, "{} {} {}", Operand(left, 5), op.symbol(), Operand(right, 5))
            }
            ExprKind::Exists(inner) => write!(f, "exists({inner})"),
            ExprKind::Matches { subject, pattern, .. } => write!(f, "matches({subject}, {pattern})"),
        }
    }
}
