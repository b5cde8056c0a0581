//! Diagnostics that name file, line and column, and render with the source line and a caret.

use std::fmt::Write as _;

use serde::Serialize;

pub use verdict_core::Severity;

/// A problem found in a policy file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The file, as the user named it.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// How many characters the caret underlines (at least one).
    #[serde(skip)]
    pub width: usize,
    /// What is wrong.
    pub message: String,
    /// What to write instead, when we can tell.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// Splits text into lines the way YAML counts them: `\r\n`, `\n` and a lone `\r` each end a line, so a
/// diagnostic's line number always names the line the parser meant.
pub fn source_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        match current.find(['\r', '\n']) {
            Some(end) => {
                let skip = if current[end..].starts_with("\r\n") { 2 } else { 1 };
                rest = Some(&current[end + skip..]);
                Some(&current[..end])
            }
            None => {
                rest = None;
                (!current.is_empty()).then_some(current)
            }
        }
    })
}

impl Diagnostic {
    /// An error at a position.
    pub fn error(file: &str, line: usize, column: usize, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            file: file.to_owned(),
            line,
            column,
            width: 1,
            message: message.into(),
            hint: None,
        }
    }

    /// A warning at a position.
    pub fn warning(file: &str, line: usize, column: usize, message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(file, line, column, message) }
    }

    /// An error about the file as a whole (it cannot be read): no line or column (both 0), and none is
    /// shown.
    pub fn file_error(file: &str, message: impl Into<String>) -> Self {
        Diagnostic { line: 0, column: 0, ..Self::error(file, 1, 1, message) }
    }

    /// Adds what to do about it.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Sets the caret width.
    pub fn with_width(mut self, width: usize) -> Self {
        self.width = width.max(1);
        self
    }

    /// One line: `file:line:col: error: message (hint: …)`.
    pub fn short(&self) -> String {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut text = format!("{}:{}:{}: {severity}: {}", self.file, self.line, self.column, self.message);
        if let Some(hint) = &self.hint {
            let _ = write!(text, " (hint: {hint})");
        }
        text
    }

    /// The full form, with the offending source line and a caret under the column:
    ///
    /// ```text
    /// error: unknown function `match`
    ///   --> policy.yml:7:17
    ///    |
    ///  7 |       - if: ${{ match(flow.name, "^prod") }}
    ///    |                 ^^^^^
    ///    = hint: did you mean `matches`?
    /// ```
    pub fn render(&self, source: &str) -> String {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut out = format!("{severity}: {}\n", self.message);
        if self.line == 0 {
            // The file itself (it could not be read): there is no position to point at.
            return out;
        }
        let number = self.line.to_string();
        let pad = " ".repeat(number.len());
        let _ = writeln!(out, "{pad}--> {}:{}:{}", self.file, self.line, self.column);
        if let Some(text) = source_lines(source).nth(self.line.saturating_sub(1)) {
            let before: String = text
                .chars()
                .take(self.column.saturating_sub(1))
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let available = text.chars().count().saturating_sub(self.column.saturating_sub(1)).max(1);
            let carets = "^".repeat(self.width.min(available));
            let _ = writeln!(out, "{pad} |");
            let _ = writeln!(out, "{number} | {text}");
            let _ = writeln!(out, "{pad} | {before}{carets}");
        }
        if let Some(hint) = &self.hint {
            let _ = writeln!(out, "{pad} = hint: {hint}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_line_and_caret() {
        let source = "a: 1\nb: ${{ match(x) }}\n";
        let diagnostic = Diagnostic::error("p.yml", 2, 8, "unknown function `match`")
            .with_width(5)
            .with_hint("did you mean `matches`?");
        assert_eq!(
            diagnostic.render(source),
            "error: unknown function `match`\n --> p.yml:2:8\n  |\n2 | b: ${{ match(x) }}\n  |        ^^^^^\n  = hint: did you mean `matches`?\n"
        );
        assert_eq!(
            diagnostic.short(),
            "p.yml:2:8: error: unknown function `match` (hint: did you mean `matches`?)"
        );
    }

    #[test]
    fn lines_split_like_yaml() {
        let lines: Vec<&str> = source_lines("a\r\nb\rc\n\nd").collect();
        assert_eq!(lines, ["a", "b", "c", "", "d"]);
        assert_eq!(source_lines("").count(), 0);
        assert_eq!(source_lines("x\n").collect::<Vec<_>>(), ["x"]);
        let diagnostic = Diagnostic::error("p.yml", 3, 1, "m");
        assert!(diagnostic.render("a\rb\rthird").contains("3 | third"));
    }

    #[test]
    fn caret_is_clamped_to_the_line() {
        let diagnostic = Diagnostic::warning("p.yml", 1, 3, "x").with_width(50);
        assert!(diagnostic.render("abcd").ends_with("  |   ^^\n"));
        // A line past the end of the file still renders the header.
        assert!(Diagnostic::error("p.yml", 9, 1, "x").render("a").contains("--> p.yml:9:1"));
    }
}
