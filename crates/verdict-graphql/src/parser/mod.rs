//! A recursive-descent parser for GraphQL documents. Like gqlparser, it stops at the first error and
//! reports it with the token's position, so the error a policy sees is the one OPA gives.

mod query;
mod schema;

pub use query::parse_query;
pub use schema::parse_schema;

use crate::ast::{Argument, ChildValue, Directive, Type, Value, value_kind};
use crate::error::{GraphqlError, Position};
use crate::lexer::{Kind, Lexer, Token};

/// How deep values, types and selections may nest before the parser refuses the document: deep enough
/// for any real query, shallow enough that recursion cannot exhaust the stack.
const MAX_DEPTH: usize = 256;

/// Parser state. Once an error is recorded every read returns the previous token, so parsing unwinds
/// without further errors and the first one is what is reported.
struct Parser<'a> {
    lexer: Lexer<'a>,
    peeked: Option<(Token, Option<GraphqlError>)>,
    prev: Token,
    err: Option<GraphqlError>,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            lexer: Lexer::new(text),
            peeked: None,
            prev: Token { kind: Kind::Eof, value: String::new(), position: Position { line: 1, column: 1 } },
            err: None,
            depth: 0,
        }
    }

    fn finish<T>(self, value: T) -> Result<T, GraphqlError> {
        match self.err {
            Some(err) => Err(err),
            None => Ok(value),
        }
    }

    fn peek(&mut self) -> &Token {
        if self.err.is_some() {
            return &self.prev;
        }
        if self.peeked.is_none() {
            self.peeked = Some(self.lexer.next_token());
        }
        match &self.peeked {
            Some((token, _)) => token,
            None => &self.prev,
        }
    }

    fn peek_kind(&mut self) -> Kind {
        self.peek().kind
    }

    fn peek_is_name(&mut self, value: &str) -> bool {
        let token = self.peek();
        token.kind == Kind::Name && token.value == value
    }

    fn peek_position(&mut self) -> Position {
        self.peek().position
    }

    fn next(&mut self) -> Token {
        if self.err.is_some() {
            return self.prev.clone();
        }
        let (token, error) = self.peeked.take().unwrap_or_else(|| self.lexer.next_token());
        self.prev = token;
        self.err = error;
        self.prev.clone()
    }

    fn error(&mut self, position: Position, message: String) {
        if self.err.is_none() {
            self.err = Some(GraphqlError::at(position, message));
        }
    }

    fn unexpected(&mut self) {
        let token = self.peek().clone();
        self.unexpected_token(&token);
    }

    fn unexpected_token(&mut self, token: &Token) {
        self.error(token.position, format!("Unexpected {token}"));
    }

    fn expect(&mut self, kind: Kind) -> Token {
        let token = self.peek().clone();
        if token.kind == kind {
            return self.next();
        }
        self.error(token.position, format!("Expected {kind}, found {}", token.kind));
        token
    }

    fn expect_keyword(&mut self, keyword: &str) -> Token {
        let token = self.peek().clone();
        if token.kind == Kind::Name && token.value == keyword {
            return self.next();
        }
        self.error(token.position, format!("Expected {}, found {token}", crate::lexer::go_quote(keyword)));
        token
    }

    fn skip(&mut self, kind: Kind) -> bool {
        if self.err.is_some() || self.peek_kind() != kind {
            return false;
        }
        self.next();
        true
    }

    /// `start item* end`, or nothing when the next token is not `start`.
    fn many(&mut self, start: Kind, end: Kind, mut item: impl FnMut(&mut Self)) {
        if !self.skip(start) {
            return;
        }
        while self.peek_kind() != end && self.err.is_none() {
            item(self);
        }
        self.next();
    }

    /// `start item+ end`, or nothing when the next token is not `start`.
    fn some(&mut self, start: Kind, end: Kind, mut item: impl FnMut(&mut Self)) {
        if !self.skip(start) {
            return;
        }
        let mut called = false;
        while self.peek_kind() != end && self.err.is_none() {
            called = true;
            item(self);
        }
        if !called {
            let token = self.peek().clone();
            self.error(token.position, format!("expected at least one definition, found {}", token.kind));
            return;
        }
        self.next();
    }

    fn enter(&mut self) -> bool {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let position = self.peek_position();
            self.error(position, format!("document nests deeper than {MAX_DEPTH} levels"));
            return false;
        }
        true
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn parse_name(&mut self) -> String {
        self.expect(Kind::Name).value
    }

    fn parse_variable(&mut self) -> String {
        self.expect(Kind::Dollar);
        self.parse_name()
    }

    fn parse_value(&mut self, is_const: bool) -> Value {
        if !self.enter() {
            return Value::default();
        }
        let value = self.parse_value_inner(is_const);
        self.leave();
        value
    }

    fn parse_value_inner(&mut self, is_const: bool) -> Value {
        let token = self.peek().clone();
        let kind = match token.kind {
            Kind::BracketL => {
                let mut children = Vec::new();
                self.many(Kind::BracketL, Kind::BracketR, |p| {
                    let value = p.parse_value(is_const);
                    children.push(ChildValue { name: String::new(), position: value.position, value });
                });
                return Value {
                    children,
                    kind: value_kind::LIST,
                    position: token.position,
                    ..Value::default()
                };
            }
            Kind::BraceL => {
                let mut children = Vec::new();
                self.many(Kind::BraceL, Kind::BraceR, |p| {
                    let position = p.peek_position();
                    let name = p.parse_name();
                    p.expect(Kind::Colon);
                    let value = p.parse_value(is_const);
                    children.push(ChildValue { name, value, position });
                });
                return Value {
                    children,
                    kind: value_kind::OBJECT,
                    position: token.position,
                    ..Value::default()
                };
            }
            Kind::Dollar if !is_const => {
                let raw = self.parse_variable();
                return Value {
                    raw,
                    kind: value_kind::VARIABLE,
                    position: token.position,
                    ..Value::default()
                };
            }
            Kind::Int => value_kind::INT,
            Kind::Float => value_kind::FLOAT,
            Kind::String => value_kind::STRING,
            Kind::BlockString => value_kind::BLOCK,
            Kind::Name => match token.value.as_str() {
                "true" | "false" => value_kind::BOOLEAN,
                "null" => value_kind::NULL,
                _ => value_kind::ENUM,
            },
            _ => {
                self.unexpected();
                return Value::default();
            }
        };
        self.next();
        Value { raw: token.value, kind, position: token.position, ..Value::default() }
    }

    fn parse_arguments(&mut self, is_const: bool) -> Vec<Argument> {
        let mut arguments = Vec::new();
        self.many(Kind::ParenL, Kind::ParenR, |p| {
            let position = p.peek_position();
            let name = p.parse_name();
            p.expect(Kind::Colon);
            let value = p.parse_value(is_const);
            arguments.push(Argument { name, value, position });
        });
        arguments
    }

    fn parse_directives(&mut self, is_const: bool) -> Vec<Directive> {
        let mut directives = Vec::new();
        while self.peek_kind() == Kind::At && self.err.is_none() {
            self.expect(Kind::At);
            let position = self.peek_position();
            let name = self.parse_name();
            let arguments = self.parse_arguments(is_const);
            directives.push(Directive { name, arguments, location: String::new(), position });
        }
        directives
    }

    fn parse_type(&mut self) -> Type {
        if !self.enter() {
            return Type::default();
        }
        let mut ty = Type::default();
        if self.skip(Kind::BracketL) {
            ty.position = self.peek_position();
            ty.elem = Some(Box::new(self.parse_type()));
            self.expect(Kind::BracketR);
        } else {
            ty.position = self.peek_position();
            ty.named_type = self.parse_name();
        }
        if self.skip(Kind::Bang) {
            ty.non_null = true;
        }
        self.leave();
        ty
    }

    fn parse_operation_type(&mut self) -> String {
        let token = self.next();
        match token.value.as_str() {
            "query" | "mutation" | "subscription" if token.kind == Kind::Name => token.value,
            _ => {
                self.unexpected_token(&token);
                String::new()
            }
        }
    }
}
