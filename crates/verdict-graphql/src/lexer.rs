//! Tokens of the GraphQL language (spec §2.1): punctuators, names, numbers and strings, with ignored
//! tokens (white space, commas, comments, a byte-order mark) skipped. String values are decoded here, so
//! the parser and the AST only ever see a token's value.

use std::fmt;

use crate::error::{GraphqlError, Position};

/// What a token is. `Display` spells it as gqlparser does in its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A character that starts no token, or a malformed token; the lexer error says which.
    Invalid,
    /// End of the document.
    Eof,
    /// `!`
    Bang,
    /// `$`
    Dollar,
    /// `&`
    Amp,
    /// `(`
    ParenL,
    /// `)`
    ParenR,
    /// `...`
    Spread,
    /// `:`
    Colon,
    /// `=`
    Equals,
    /// `@`
    At,
    /// `[`
    BracketL,
    /// `]`
    BracketR,
    /// `{`
    BraceL,
    /// `}`
    BraceR,
    /// `|`
    Pipe,
    /// A name: `[_A-Za-z][_0-9A-Za-z]*`.
    Name,
    /// An integer literal.
    Int,
    /// A float literal.
    Float,
    /// A `"…"` string, decoded.
    String,
    /// A `"""…"""` block string, decoded and dedented.
    BlockString,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Invalid => "<Invalid>",
            Kind::Eof => "<EOF>",
            Kind::Bang => "!",
            Kind::Dollar => "$",
            Kind::Amp => "&",
            Kind::ParenL => "(",
            Kind::ParenR => ")",
            Kind::Spread => "...",
            Kind::Colon => ":",
            Kind::Equals => "=",
            Kind::At => "@",
            Kind::BracketL => "[",
            Kind::BracketR => "]",
            Kind::BraceL => "{",
            Kind::BraceR => "}",
            Kind::Pipe => "|",
            Kind::Name => "Name",
            Kind::Int => "Int",
            Kind::Float => "Float",
            Kind::String => "String",
            Kind::BlockString => "BlockString",
        })
    }
}

/// One token: its kind, its (decoded) value, and where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// What it is.
    pub kind: Kind,
    /// The name, the number's text, or the decoded string; empty for punctuators.
    pub value: String,
    /// Where it starts.
    pub position: Position,
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            Kind::Name | Kind::Int | Kind::Float | Kind::String | Kind::BlockString => {
                write!(f, "{} {}", self.kind, go_quote(&self.value))
            }
            kind => kind.fmt(f),
        }
    }
}

/// A string quoted as Go's `strconv.Quote` does, since gqlparser's messages are built with it.
pub fn go_quote(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\r' => quoted.push_str("\\r"),
            '\t' => quoted.push_str("\\t"),
            '\u{7}' => quoted.push_str("\\a"),
            '\u{8}' => quoted.push_str("\\b"),
            '\u{c}' => quoted.push_str("\\f"),
            '\u{b}' => quoted.push_str("\\v"),
            c if c.is_control() => {
                if (c as u32) < 0x10000 {
                    quoted.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    quoted.push_str(&format!("\\U{:08x}", c as u32));
                }
            }
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// Reads tokens from a GraphQL document, one at a time.
pub struct Lexer<'a> {
    text: &'a str,
    offset: usize,
    line: usize,
    line_start: usize,
    /// The last offset whose column was computed on the current line, and that column: columns are
    /// counted on from there, so a long single-line document costs linear, not quadratic, time.
    column_mark: std::cell::Cell<(usize, usize)>,
}

impl<'a> Lexer<'a> {
    /// A lexer at the start of `text`.
    pub fn new(text: &'a str) -> Self {
        Self { text, offset: 0, line: 1, line_start: 0, column_mark: std::cell::Cell::new((0, 1)) }
    }

    fn position_of(&self, offset: usize) -> Position {
        let (mark, mark_column) = self.column_mark.get();
        let (from, base) = if mark >= self.line_start && mark <= offset {
            (mark, mark_column)
        } else {
            (self.line_start, 1)
        };
        let column = self.text.get(from..offset).map_or(0, |s| s.chars().count()) + base;
        self.column_mark.set((offset, column));
        Position { line: self.line, column }
    }

    fn peek_char(&self) -> Option<char> {
        self.text.get(self.offset..).and_then(|rest| rest.chars().next())
    }

    fn new_line(&mut self, after: usize) {
        self.line += 1;
        self.line_start = after;
        self.column_mark.set((after, 1));
    }

    /// The next token. On a lexer error the token is `Invalid`, positioned where the error is, and the
    /// error says what is wrong; the parser decides which of the two to report.
    pub fn next_token(&mut self) -> (Token, Option<GraphqlError>) {
        self.skip_ignored();
        let start = self.offset;
        let position = self.position_of(start);
        let Some(c) = self.peek_char() else {
            return (Token { kind: Kind::Eof, value: String::new(), position }, None);
        };
        let punctuator = match c {
            '!' => Some(Kind::Bang),
            '$' => Some(Kind::Dollar),
            '&' => Some(Kind::Amp),
            '(' => Some(Kind::ParenL),
            ')' => Some(Kind::ParenR),
            ':' => Some(Kind::Colon),
            '=' => Some(Kind::Equals),
            '@' => Some(Kind::At),
            '[' => Some(Kind::BracketL),
            ']' => Some(Kind::BracketR),
            '{' => Some(Kind::BraceL),
            '}' => Some(Kind::BraceR),
            '|' => Some(Kind::Pipe),
            _ => None,
        };
        if let Some(kind) = punctuator {
            self.offset += 1;
            return (Token { kind, value: String::new(), position }, None);
        }
        match c {
            '.' => {
                if self.text.get(start..start + 3) == Some("...") {
                    self.offset += 3;
                    (Token { kind: Kind::Spread, value: String::new(), position }, None)
                } else {
                    self.invalid(start, format!("Unexpected character {}.", go_quote(".")))
                }
            }
            '_' | 'a'..='z' | 'A'..='Z' => {
                let end = self.text[start..]
                    .find(|c: char| !(c == '_' || c.is_ascii_alphanumeric()))
                    .map_or(self.text.len(), |i| start + i);
                self.offset = end;
                (Token { kind: Kind::Name, value: self.text[start..end].to_owned(), position }, None)
            }
            '-' | '0'..='9' => self.number(start),
            '"' => {
                if self.text.get(start..start + 3) == Some("\"\"\"") {
                    self.block_string(start)
                } else {
                    self.string(start)
                }
            }
            c if c.is_control() && c != '\t' => self
                .invalid(start, format!("Cannot contain the invalid character {}", go_quote(&c.to_string()))),
            c => self.invalid(
                start,
                format!("Cannot parse the unexpected character {}.", go_quote(&c.to_string())),
            ),
        }
    }

    fn invalid(&mut self, at: usize, message: String) -> (Token, Option<GraphqlError>) {
        let position = self.position_of(at);
        (
            Token { kind: Kind::Invalid, value: String::new(), position },
            Some(GraphqlError::at(position, message)),
        )
    }

    fn skip_ignored(&mut self) {
        while let Some(c) = self.peek_char() {
            match c {
                '\u{feff}' | ' ' | '\t' | ',' => self.offset += c.len_utf8(),
                '\n' => {
                    self.offset += 1;
                    self.new_line(self.offset);
                }
                '\r' => {
                    self.offset += 1;
                    if self.peek_char() == Some('\n') {
                        self.offset += 1;
                    }
                    self.new_line(self.offset);
                }
                '#' => {
                    let rest = &self.text[self.offset..];
                    let end = rest.find(['\n', '\r']).unwrap_or(rest.len());
                    self.offset += end;
                }
                _ => return,
            }
        }
    }

    fn digits(&mut self) -> Result<(), (usize, String)> {
        match self.peek_char() {
            Some(c) if c.is_ascii_digit() => {
                while self.peek_char().is_some_and(|c| c.is_ascii_digit()) {
                    self.offset += 1;
                }
                Ok(())
            }
            other => {
                Err((self.offset, format!("Invalid number, expected digit but got: {}.", describe(other))))
            }
        }
    }

    fn number(&mut self, start: usize) -> (Token, Option<GraphqlError>) {
        let position = self.position_of(start);
        let mut kind = Kind::Int;
        let result = (|| {
            if self.peek_char() == Some('-') {
                self.offset += 1;
            }
            if self.peek_char() == Some('0') {
                self.offset += 1;
                if let Some(c) = self.peek_char().filter(char::is_ascii_digit) {
                    return Err((
                        self.offset,
                        format!("Invalid number, unexpected digit after 0: {}.", go_quote(&c.to_string())),
                    ));
                }
            } else {
                self.digits()?;
            }
            if self.peek_char() == Some('.') {
                kind = Kind::Float;
                self.offset += 1;
                self.digits()?;
            }
            if matches!(self.peek_char(), Some('e' | 'E')) {
                kind = Kind::Float;
                self.offset += 1;
                if matches!(self.peek_char(), Some('+' | '-')) {
                    self.offset += 1;
                }
                self.digits()?;
            }
            if let Some(c) = self.peek_char().filter(|c| *c == '.' || *c == '_' || c.is_ascii_alphabetic()) {
                return Err((
                    self.offset,
                    format!("Invalid number, expected digit but got: {}.", go_quote(&c.to_string())),
                ));
            }
            Ok(())
        })();
        match result {
            Ok(()) => (Token { kind, value: self.text[start..self.offset].to_owned(), position }, None),
            Err((at, message)) => self.invalid(at, message),
        }
    }

    fn string(&mut self, start: usize) -> (Token, Option<GraphqlError>) {
        // gqlparser positions a string token at its first character, after the quote.
        let position = self.position_of(start + 1);
        self.offset += 1;
        let mut value = String::new();
        loop {
            let Some(c) = self.peek_char() else {
                return self.invalid(self.offset, "Unterminated string.".to_owned());
            };
            match c {
                '"' => {
                    self.offset += 1;
                    return (Token { kind: Kind::String, value, position }, None);
                }
                '\n' | '\r' => return self.invalid(self.offset, "Unterminated string.".to_owned()),
                '\\' => {
                    let escape_at = self.offset;
                    self.offset += 1;
                    let decoded = match self.peek_char() {
                        Some('"') => '"',
                        Some('\\') => '\\',
                        Some('/') => '/',
                        Some('b') => '\u{8}',
                        Some('f') => '\u{c}',
                        Some('n') => '\n',
                        Some('r') => '\r',
                        Some('t') => '\t',
                        Some('u') => {
                            let hex = self.text.get(self.offset + 1..self.offset + 5).unwrap_or_default();
                            let code = (hex.len() == 4 && hex.chars().all(|c| c.is_ascii_hexdigit()))
                                .then(|| u32::from_str_radix(hex, 16).ok())
                                .flatten()
                                .and_then(char::from_u32);
                            match code {
                                Some(decoded) => {
                                    self.offset += 4;
                                    decoded
                                }
                                None => {
                                    return self.invalid(
                                        escape_at,
                                        format!("Invalid character escape sequence: \\u{hex}."),
                                    );
                                }
                            }
                        }
                        other => {
                            let shown = other.map(String::from).unwrap_or_default();
                            return self.invalid(
                                escape_at,
                                format!("Invalid character escape sequence: \\{shown}."),
                            );
                        }
                    };
                    self.offset += 1;
                    value.push(decoded);
                }
                c => {
                    if let Some(invalid) = self.string_char(c, &mut value) {
                        return invalid;
                    }
                }
            }
        }
    }

    /// One ordinary character of a string or block string: appended, or (a control character other
    /// than tab) the token's error.
    fn string_char(&mut self, c: char, out: &mut String) -> Option<(Token, Option<GraphqlError>)> {
        if c.is_control() && c != '\t' {
            let message = format!("Invalid character within String: {}.", go_quote(&c.to_string()));
            return Some(self.invalid(self.offset, message));
        }
        self.offset += c.len_utf8();
        out.push(c);
        None
    }

    fn block_string(&mut self, start: usize) -> (Token, Option<GraphqlError>) {
        // As for strings: after the opening quotes.
        let position = self.position_of(start + 3);
        self.offset += 3;
        let mut raw = String::new();
        loop {
            let rest = &self.text[self.offset..];
            if rest.starts_with("\"\"\"") {
                self.offset += 3;
                return (Token { kind: Kind::BlockString, value: block_string_value(&raw), position }, None);
            }
            if rest.starts_with("\\\"\"\"") {
                self.offset += 4;
                raw.push_str("\"\"\"");
                continue;
            }
            let Some(c) = rest.chars().next() else {
                return self.invalid(self.offset, "Unterminated string.".to_owned());
            };
            match c {
                '\n' => {
                    self.offset += 1;
                    self.new_line(self.offset);
                    raw.push('\n');
                }
                '\r' => {
                    self.offset += 1;
                    if self.peek_char() == Some('\n') {
                        self.offset += 1;
                    }
                    self.new_line(self.offset);
                    raw.push('\n');
                }
                c => {
                    if let Some(invalid) = self.string_char(c, &mut raw) {
                        return invalid;
                    }
                }
            }
        }
    }
}

fn describe(c: Option<char>) -> String {
    c.map_or_else(|| "<EOF>".to_owned(), |c| go_quote(&c.to_string()))
}

/// The value of a block string (spec "BlockStringValue"): common indentation removed from every line
/// but the first, and leading and trailing blank lines dropped. Line ends are already `\n`.
fn block_string_value(raw: &str) -> String {
    let lines: Vec<&str> = raw.split('\n').collect();
    let indent_of = |line: &str| line.len() - line.trim_start_matches([' ', '\t']).len();
    let common =
        lines.iter().skip(1).filter(|line| indent_of(line) < line.len()).map(|line| indent_of(line)).min();
    let mut out: Vec<&str> = lines
        .iter()
        .enumerate()
        .map(|(index, line)| match common {
            Some(common) if index > 0 => line.get(common..).unwrap_or(""),
            _ => line,
        })
        .collect();
    let blank = |line: &&str| line.trim_matches([' ', '\t']).is_empty();
    while out.first().is_some_and(blank) {
        out.remove(0);
    }
    while out.last().is_some_and(blank) {
        out.pop();
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(Kind, String)> {
        let mut lexer = Lexer::new(text);
        let mut out = Vec::new();
        loop {
            let (token, error) = lexer.next_token();
            assert!(error.is_none(), "{error:?}");
            if token.kind == Kind::Eof {
                return out;
            }
            out.push((token.kind, token.value));
        }
    }

    #[test]
    fn punctuators_names_numbers_and_ignored_tokens() {
        let tokens = kinds("\u{feff}query Q($a: [Int!]! = -12.5e3) { f, ...on } # comment\n 0 1.0");
        let shown: Vec<String> = tokens.iter().map(|(k, v)| format!("{k}{v}")).collect();
        assert_eq!(
            shown,
            [
                "Namequery",
                "NameQ",
                "(",
                "$",
                "Namea",
                ":",
                "[",
                "NameInt",
                "!",
                "]",
                "!",
                "=",
                "Float-12.5e3",
                ")",
                "{",
                "Namef",
                "...",
                "Nameon",
                "}",
                "Int0",
                "Float1.0"
            ]
        );
    }

    #[test]
    fn strings_decode_escapes_and_block_strings_dedent() {
        assert_eq!(kinds(r#""a\"b\u00e9\n""#), [(Kind::String, "a\"bé\n".to_owned())]);
        let block = "\"\"\"\n    Hello,\n      World!\n\n    Yours,\n      GraphQL. \\\"\"\"\n  \"\"\"";
        assert_eq!(
            kinds(block),
            [(Kind::BlockString, "Hello,\n  World!\n\nYours,\n  GraphQL. \"\"\"".to_owned())]
        );
    }

    #[test]
    fn bad_tokens_are_invalid_with_a_positioned_error() {
        for (text, line, column) in [
            ("\n  \"abc", 2, 7),
            ("0x", 1, 2),
            ("\"\\q\"", 1, 2),
            ("?", 1, 1),
            ("1.", 1, 3),
            ("\"\"\"\r", 2, 1),
        ] {
            let mut lexer = Lexer::new(text);
            let (token, error) = lexer.next_token();
            assert_eq!(token.kind, Kind::Invalid, "{text:?}");
            let error = error.unwrap_or_else(|| panic!("{text:?} lexed"));
            assert_eq!(error.position, Some(Position { line, column }), "{text:?}: {error}");
        }
    }

    #[test]
    fn tokens_display_as_gqlparser_messages_spell_them() {
        let token = Token { kind: Kind::Name, value: "on".into(), position: Position::default() };
        assert_eq!(token.to_string(), "Name \"on\"");
        let token = Token { kind: Kind::Eof, value: String::new(), position: Position::default() };
        assert_eq!(token.to_string(), "<EOF>");
    }
}
