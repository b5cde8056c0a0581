//! Recursive-descent parser: precedence lowest first `or`, `and`, `not`, comparisons and `in`.

use std::fmt;
use std::sync::Arc;

use super::ast::{CompareOp, ContextPath, Expr, ExprKind, Literal, LiteralRegex, LogicOp, Span};
use super::lexer::{Token, tokenize};
use crate::suggest::closest;

/// Largest compiled size allowed for a `matches` pattern, so a policy cannot ask for an enormous regex.
pub(crate) const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Deepest nesting of parentheses, lists and `not`s accepted, so hostile input cannot overflow the stack.
const MAX_DEPTH: usize = 64;

/// A load-time error in an expression, with the span it points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// What is wrong.
    pub message: String,
    /// Where, in the expression text.
    pub span: Span,
    /// What to write instead, when we can tell.
    pub hint: Option<String>,
}

impl ParseError {
    pub(crate) fn new(message: impl Into<String>, span: Span) -> Self {
        ParseError { message: message.into(), span, hint: None }
    }

    pub(crate) fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, " (hint: {hint})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseError {}

/// Parses the text between `${{` and `}}`.
pub fn parse(text: &str) -> Result<Expr, ParseError> {
    let tokens = tokenize(text)?;
    let mut parser = Parser { tokens, position: 0, depth: 0 };
    if parser.peek() == &Token::Eof {
        return Err(ParseError::new("empty expression", Span::new(0, text.len()))
            .with_hint("write a condition, e.g. ${{ flow.name == \"prod\" }}"));
    }
    let expr = parser.parse_or()?;
    match parser.peek() {
        Token::Eof => Ok(expr),
        token => {
            let message = format!("unexpected {} after a complete expression", token.describe());
            let hint = "join conditions with `and` or `or`";
            Err(ParseError::new(message, parser.span()).with_hint(hint))
        }
    }
}

struct Parser {
    tokens: Vec<(Token, Span)>,
    position: usize,
    depth: usize,
}

const FUNCTIONS: [&str; 2] = ["exists", "matches"];
const CONTEXTS: &str = "flow.name, flow.tags.<key>, artifact.name, artifact.fingerprint";

impl Parser {
    fn peek(&self) -> &Token {
        &self.tokens[self.position.min(self.tokens.len() - 1)].0
    }

    fn span(&self) -> Span {
        self.tokens[self.position.min(self.tokens.len() - 1)].1
    }

    fn advance(&mut self) -> (Token, Span) {
        let item = self.tokens[self.position.min(self.tokens.len() - 1)].clone();
        if self.position < self.tokens.len() - 1 {
            self.position += 1;
        }
        item
    }

    fn peek_keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Token::Ident(name) if name == word)
    }

    fn expect(&mut self, token: Token, what: &str) -> Result<Span, ParseError> {
        if self.peek() == &token {
            Ok(self.advance().1)
        } else {
            Err(ParseError::new(format!("expected {what}, found {}", self.peek().describe()), self.span()))
        }
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError::new(
                format!("expression nested deeper than {MAX_DEPTH} levels"),
                self.span(),
            ));
        }
        Ok(())
    }

    fn parse_or(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.parse_and()?;
        while self.peek_keyword("or") {
            self.advance();
            let right = self.parse_and()?;
            left = logic(LogicOp::Or, left, right);
        }
        Ok(left)
    }

    fn parse_and(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.parse_not()?;
        while self.peek_keyword("and") {
            self.advance();
            let right = self.parse_not()?;
            left = logic(LogicOp::And, left, right);
        }
        Ok(left)
    }

    fn parse_not(&mut self) -> Result<Expr, ParseError> {
        if self.peek_keyword("not") {
            let (_, start) = self.advance();
            self.enter()?;
            let inner = self.parse_not()?;
            self.depth -= 1;
            let span = start.join(inner.span);
            return Ok(Expr { kind: ExprKind::Not(Box::new(inner)), span });
        }
        self.parse_comparison()
    }

    fn compare_op(&self) -> Option<CompareOp> {
        match self.peek() {
            Token::EqEq => Some(CompareOp::Eq),
            Token::NotEq => Some(CompareOp::Ne),
            Token::Lt => Some(CompareOp::Lt),
            Token::Gt => Some(CompareOp::Gt),
            Token::Le => Some(CompareOp::Le),
            Token::Ge => Some(CompareOp::Ge),
            Token::Ident(word) if word == "in" => Some(CompareOp::In),
            _ => None,
        }
    }

    fn parse_comparison(&mut self) -> Result<Expr, ParseError> {
        let left = self.parse_primary()?;
        let Some(op) = self.compare_op() else { return Ok(left) };
        self.advance();
        let right = self.parse_primary()?;
        if op == CompareOp::In && !matches!(right.kind, ExprKind::List(_)) {
            return Err(ParseError::new("`in` needs a list on its right", right.span)
                .with_hint("write the values in brackets, e.g. flow.name in [\"prod\", \"staging\"]"));
        }
        if let Some(next) = self.compare_op() {
            let message =
                format!("comparisons cannot be chained (`{}` follows `{}`)", next.symbol(), op.symbol());
            return Err(ParseError::new(message, self.span())
                .with_hint("join the comparisons with `and`, or add parentheses"));
        }
        let span = left.span.join(right.span);
        Ok(Expr { kind: ExprKind::Compare { op, left: Box::new(left), right: Box::new(right) }, span })
    }

    fn parse_primary(&mut self) -> Result<Expr, ParseError> {
        let (token, span) = self.advance();
        let literal = |value: Literal| Ok(Expr { kind: ExprKind::Literal(value), span });
        match token {
            Token::Str(value) => literal(Literal::String(value)),
            Token::Num(value) => literal(Literal::Number(value)),
            Token::Minus => match self.advance() {
                (Token::Num(value), end) => {
                    Ok(Expr { kind: ExprKind::Literal(Literal::Number(-value)), span: span.join(end) })
                }
                (_, other) => Err(ParseError::new("`-` must be followed by a number", span.join(other))),
            },
            Token::LParen => {
                self.enter()?;
                let mut inner = self.parse_or()?;
                self.depth -= 1;
                let end = self.expect(Token::RParen, "`)` to close the parenthesis")?;
                inner.span = span.join(end);
                Ok(inner)
            }
            Token::LBracket => self.parse_list(span),
            Token::Ident(name) => self.parse_name(name, span),
            other => {
                let message = format!("expected a value, found {}", other.describe());
                let hint = match other {
                    Token::Eof => "the expression ends too early: complete it or remove the last operator",
                    _ => {
                        "a value is a quoted string, a number, true/false/null, a list, a context such as flow.name, or a function call"
                    }
                };
                Err(ParseError::new(message, span).with_hint(hint))
            }
        }
    }

    fn parse_list(&mut self, start: Span) -> Result<Expr, ParseError> {
        self.enter()?;
        let mut items = Vec::new();
        loop {
            if self.peek() == &Token::RBracket {
                break;
            }
            items.push(self.parse_or()?);
            if self.peek() == &Token::Comma {
                self.advance();
            } else {
                break;
            }
        }
        self.depth -= 1;
        let end = self.expect(Token::RBracket, "`,` or `]` in the list")?;
        Ok(Expr { kind: ExprKind::List(items), span: start.join(end) })
    }

    fn parse_name(&mut self, name: String, span: Span) -> Result<Expr, ParseError> {
        let literal = |value: Literal| Ok(Expr { kind: ExprKind::Literal(value), span });
        match name.as_str() {
            "true" => return literal(Literal::Bool(true)),
            "false" => return literal(Literal::Bool(false)),
            "null" => return literal(Literal::Null),
            "and" | "or" | "not" | "in" => {
                return Err(ParseError::new(format!("expected a value, found the keyword `{name}`"), span));
            }
            _ => {}
        }
        if self.peek() == &Token::LParen {
            return self.parse_call(name, span);
        }
        let path = context_path(&name, span)?;
        Ok(Expr { kind: ExprKind::Context(path), span })
    }

    fn parse_call(&mut self, name: String, name_span: Span) -> Result<Expr, ParseError> {
        if !FUNCTIONS.contains(&name.as_str()) {
            let mut error = ParseError::new(format!("unknown function `{name}`"), name_span);
            error = match closest(&name, &FUNCTIONS) {
                Some(suggestion) => error.with_hint(format!("did you mean `{suggestion}`?")),
                None => error.with_hint("the functions are exists(x) and matches(string, regex)"),
            };
            return Err(error);
        }
        self.advance(); // `(`
        // `exists(flow)`, `exists(artifact)`, `exists(flow.tags)`: whether the context itself exists, as in
        // Kosli's function reference. These names are values only here.
        if name == "exists"
            && let Token::Ident(inner) = self.peek()
            && let Some(whole) = ContextPath::whole(inner)
            && self.tokens.get(self.position + 1).map(|(token, _)| token) == Some(&Token::RParen)
        {
            let (_, inner_span) = self.advance();
            let end = self.advance().1;
            let argument = Expr { kind: ExprKind::Context(whole), span: inner_span };
            return Ok(Expr { kind: ExprKind::Exists(Box::new(argument)), span: name_span.join(end) });
        }
        self.enter()?;
        let mut args = Vec::new();
        if self.peek() != &Token::RParen {
            loop {
                args.push(self.parse_or()?);
                if self.peek() == &Token::Comma {
                    self.advance();
                } else {
                    break;
                }
            }
        }
        self.depth -= 1;
        let end = self.expect(Token::RParen, "`,` or `)` in the argument list")?;
        let span = name_span.join(end);
        let wanted = if name == "exists" { 1 } else { 2 };
        if args.len() != wanted {
            let usage = if name == "exists" { "exists(x)" } else { "matches(string, regex)" };
            let message = format!("`{name}` takes {wanted} argument{}, found {}", plural(wanted), args.len());
            return Err(ParseError::new(message, span).with_hint(format!("write {usage}")));
        }
        let mut args = args.into_iter();
        let (Some(first), second) = (args.next(), args.next()) else {
            return Err(ParseError::new("missing arguments", span));
        };
        let kind = match second {
            None => ExprKind::Exists(Box::new(first)),
            Some(pattern) => {
                let compiled = match &pattern.kind {
                    ExprKind::Literal(Literal::String(source)) => {
                        Some(compile_literal(source, pattern.span)?)
                    }
                    _ => None,
                };
                ExprKind::Matches { subject: Box::new(first), pattern: Box::new(pattern), compiled }
            }
        };
        Ok(Expr { kind, span })
    }
}

fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

fn logic(op: LogicOp, left: Expr, right: Expr) -> Expr {
    let span = left.span.join(right.span);
    Expr { kind: ExprKind::Logic { op, left: Box::new(left), right: Box::new(right) }, span }
}

/// Compiles a regex the way every `matches` pattern is compiled.
pub(crate) fn compile_regex(source: &str) -> Result<regex::Regex, regex::Error> {
    regex::RegexBuilder::new(source).size_limit(REGEX_SIZE_LIMIT).build()
}

fn compile_literal(source: &str, span: Span) -> Result<LiteralRegex, ParseError> {
    match compile_regex(source) {
        Ok(regex) => Ok(LiteralRegex(Arc::new(regex))),
        Err(err) => {
            let last = err.to_string().lines().last().unwrap_or_default().trim().to_owned();
            let detail = last.strip_prefix("error: ").unwrap_or(&last).to_owned();
            Err(ParseError::new(format!("invalid regular expression: {detail}"), span).with_hint(
                "patterns use RE2 syntax (Rust regex): no backreferences or look-around; a backslash before any character but \\ \" ' is kept as written",
            ))
        }
    }
}

fn context_path(name: &str, span: Span) -> Result<ContextPath, ParseError> {
    if let Some(key) = name.strip_prefix("flow.tags.")
        && !key.is_empty()
    {
        return Ok(ContextPath::FlowTag(key.to_owned()));
    }
    match name {
        "flow.name" => Ok(ContextPath::FlowName),
        "artifact.name" => Ok(ContextPath::ArtifactName),
        "artifact.fingerprint" => Ok(ContextPath::ArtifactFingerprint),
        "flow.tags" | "flow.tags." => Err(ParseError::new("`flow.tags` needs a tag key", span)
            .with_hint("write flow.tags.<key>, e.g. flow.tags.risk-level")),
        "flow" | "artifact" => Err(ParseError::new(format!("`{name}` is not a value by itself"), span)
            .with_hint(format!("use one of {CONTEXTS}"))),
        _ if name.contains('.') => Err(ParseError::new(format!("unknown context `{name}`"), span)
            .with_hint(format!("the contexts are {CONTEXTS}"))),
        _ => Err(ParseError::new(format!("unknown name `{name}`"), span)
            .with_hint(format!("strings need quotes (\"{name}\"); the contexts are {CONTEXTS}"))),
    }
}
