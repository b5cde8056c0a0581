//! Turns expression text into tokens, with byte spans for error carets.

use super::ast::Span;
use super::parser::ParseError;

/// One token of the expression language.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Token {
    /// A quoted string, escapes resolved.
    Str(String),
    /// An unsigned number.
    Num(f64),
    /// A name or dotted path (`flow.tags.risk-level`), or a keyword.
    Ident(String),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Minus,
    EqEq,
    NotEq,
    Lt,
    Gt,
    Le,
    Ge,
    Eof,
}

impl Token {
    /// How the token reads in an error message.
    pub(crate) fn describe(&self) -> String {
        match self {
            Token::Str(_) => "a string".to_owned(),
            Token::Num(_) => "a number".to_owned(),
            Token::Ident(name) => format!("`{name}`"),
            Token::LParen => "`(`".to_owned(),
            Token::RParen => "`)`".to_owned(),
            Token::LBracket => "`[`".to_owned(),
            Token::RBracket => "`]`".to_owned(),
            Token::Comma => "`,`".to_owned(),
            Token::Minus => "`-`".to_owned(),
            Token::EqEq => "`==`".to_owned(),
            Token::NotEq => "`!=`".to_owned(),
            Token::Lt => "`<`".to_owned(),
            Token::Gt => "`>`".to_owned(),
            Token::Le => "`<=`".to_owned(),
            Token::Ge => "`>=`".to_owned(),
            Token::Eof => "the end of the expression".to_owned(),
        }
    }
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

/// Characters that may continue a name or path. Hyphens, dots and slashes are allowed so that tag keys
/// such as `risk-level`, `key.with.dots` and `app.kubernetes.io/name` need no quoting.
fn is_ident_continue(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/')
}

/// Splits `text` into tokens, ending with [`Token::Eof`].
pub(crate) fn tokenize(text: &str) -> Result<Vec<(Token, Span)>, ParseError> {
    let mut tokens = Vec::new();
    let bytes = text.as_bytes();
    let mut chars = text.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let two = bytes.get(start + 1).copied().map(char::from);
        let simple = |token: Token, len: usize| (token, Span::new(start, start + len));
        let (token, span) = match (c, two) {
            ('(', _) => simple(Token::LParen, 1),
            (')', _) => simple(Token::RParen, 1),
            ('[', _) => simple(Token::LBracket, 1),
            (']', _) => simple(Token::RBracket, 1),
            (',', _) => simple(Token::Comma, 1),
            ('-', _) => simple(Token::Minus, 1),
            ('=', Some('=')) => simple(Token::EqEq, 2),
            ('!', Some('=')) => simple(Token::NotEq, 2),
            ('<', Some('=')) => simple(Token::Le, 2),
            ('>', Some('=')) => simple(Token::Ge, 2),
            ('<', _) => simple(Token::Lt, 1),
            ('>', _) => simple(Token::Gt, 1),
            ('=', _) => {
                return Err(ParseError::new("`=` is not an operator", Span::new(start, start + 1))
                    .with_hint("use `==` to compare"));
            }
            ('!', _) => {
                return Err(ParseError::new("`!` is not an operator", Span::new(start, start + 1))
                    .with_hint("use `not` to negate, or `!=` to compare"));
            }
            ('&', Some('&')) => {
                return Err(ParseError::new("`&&` is not an operator", Span::new(start, start + 2))
                    .with_hint("use `and`"));
            }
            ('|', Some('|')) => {
                return Err(ParseError::new("`||` is not an operator", Span::new(start, start + 2))
                    .with_hint("use `or`"));
            }
            ('\'' | '"', _) => {
                let (value, end) = lex_string(text, start, c)?;
                (Token::Str(value), Span::new(start, end))
            }
            (c, _) if c.is_ascii_digit() => {
                let end = scan_number(bytes, start);
                let literal = &text[start..end];
                let value = literal.parse::<f64>().map_err(|_| {
                    ParseError::new(format!("`{literal}` is not a number"), Span::new(start, end))
                })?;
                (Token::Num(value), Span::new(start, end))
            }
            (c, _) if is_ident_start(c) => {
                let mut end = start;
                for (index, c) in text[start..].char_indices() {
                    if !is_ident_continue(c) {
                        break;
                    }
                    end = start + index + c.len_utf8();
                }
                (Token::Ident(text[start..end].to_owned()), Span::new(start, end))
            }
            (c, _) => {
                let span = Span::new(start, start + c.len_utf8());
                let hint = if c == '$' || c == '{' || c == '}' {
                    "write one expression per value: `${{ … }}` cannot be nested"
                } else {
                    "expressions use names, quoted strings, numbers, comparisons, `and`, `or`, `not` and `in [ … ]`"
                };
                return Err(ParseError::new(format!("unexpected character `{c}`"), span).with_hint(hint));
            }
        };
        // Advance the char iterator past the token.
        while chars.peek().is_some_and(|&(index, _)| index < span.end) {
            chars.next();
        }
        tokens.push((token, span));
    }
    tokens.push((Token::Eof, Span::new(text.len(), text.len())));
    Ok(tokens)
}

/// Digits, then optionally a fraction (a dot followed by digits).
fn scan_number(bytes: &[u8], start: usize) -> usize {
    let mut end = start;
    while end < bytes.len() && bytes[end].is_ascii_digit() {
        end += 1;
    }
    if end + 1 < bytes.len() && bytes[end] == b'.' && bytes[end + 1].is_ascii_digit() {
        end += 1;
        while end < bytes.len() && bytes[end].is_ascii_digit() {
            end += 1;
        }
    }
    end
}

/// Reads a quoted string starting at `start`. `\\`, `\"` and `\'` are escapes; any other backslash is
/// kept as written, so regexes such as `"^\d+$"` read naturally.
fn lex_string(text: &str, start: usize, quote: char) -> Result<(String, usize), ParseError> {
    let mut value = String::new();
    let mut iter = text[start + 1..].char_indices();
    while let Some((offset, c)) = iter.next() {
        let index = start + 1 + offset;
        if c == quote {
            return Ok((value, index + 1));
        }
        if c == '\\' {
            match iter.clone().next() {
                Some((_, next @ ('\\' | '"' | '\''))) => {
                    value.push(next);
                    iter.next();
                }
                _ => value.push('\\'),
            }
        } else {
            value.push(c);
        }
    }
    Err(ParseError::new("unterminated string", Span::new(start, text.len()))
        .with_hint(format!("close the string with {quote}")))
}
