//! The one error type: a message and the line and column in the GraphQL text it is about.

use std::fmt;

/// A 1-based line and column in a GraphQL document.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Position {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

/// A parse or validation error. Its message is the text OPA's GraphQL library (gqlparser) gives, so a
/// policy that matches on it behaves the same; `Display` adds the location the way OPA reports it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct GraphqlError {
    /// What is wrong, without the location.
    pub message: String,
    /// Where, when known (errors about a whole schema have none).
    pub position: Option<Position>,
}

impl GraphqlError {
    /// An error at `position`.
    pub fn at(position: Position, message: impl Into<String>) -> Self {
        Self { message: message.into(), position: Some(position) }
    }

    /// An error with no position.
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into(), position: None }
    }
}

impl fmt::Display for GraphqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some(Position { line, column }) => {
                write!(f, "{} in GraphQL string at location {line}:{column}", self.message)
            }
            None => f.write_str(&self.message),
        }
    }
}
