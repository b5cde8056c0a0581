//! Errors of loading and evaluating Rego policies, worded as Kosli words them where Kosli has a message.

use std::fmt;
use std::time::Duration;

/// Where in a policy file an error is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file, as the user named it.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// Why a policy could not be loaded or evaluated. Every variant is an error (exit 2 at the CLI, a deny at
/// an enforcement point): none of them ever means "allowed".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegoError {
    /// The policy does not parse.
    #[error("failed to parse policy: {location}: rego_parse_error: {message}")]
    Parse {
        /// Where.
        location: Location,
        /// What the parser said.
        message: String,
        /// The source line with a caret, as regorus renders it.
        snippet: String,
    },
    /// The policy parses but cannot be compiled or evaluated (unsafe variables, unknown functions, …).
    #[error("policy evaluation failed: {}{code}: {message}", location.as_ref().map(|l| format!("{l}: ")).unwrap_or_default())]
    Compile {
        /// Where, when known.
        location: Option<Location>,
        /// OPA's error code for the same problem (`rego_unsafe_var_error`, `rego_type_error`, …).
        code: &'static str,
        /// What is wrong.
        message: String,
        /// The source line with a caret, when known.
        snippet: String,
    },
    /// The package is not `policy`.
    #[error("policy package must be 'package policy', got '{found}'")]
    Package {
        /// The package the file declares.
        found: String,
    },
    /// The policy has no `allow` rule.
    #[error("policy must declare an 'allow' rule")]
    NoAllow,
    /// `allow` is undefined for this input.
    #[error("policy did not return a result for 'data.policy.allow'")]
    AllowUndefined,
    /// `allow` is not a boolean.
    #[error("'data.policy.allow' must be a boolean, got {found}")]
    AllowNotBoolean {
        /// What it was.
        found: String,
    },
    /// `violations` is not a set (or array) of strings.
    #[error("'data.policy.violations' must be a set of strings, got {found}")]
    ViolationsInvalid {
        /// What it was.
        found: String,
    },
    /// The evaluation did not finish within its budget.
    #[error("policy evaluation exceeded its time budget of {}", humanize(*.limit))]
    Timeout {
        /// The budget.
        limit: Duration,
    },
    /// The evaluation allocated more than the process's memory limit.
    #[error("policy evaluation exceeded the memory limit of {} MiB", .limit / (1024 * 1024))]
    MemoryLimit {
        /// The limit in bytes.
        limit: u64,
    },
    /// The engine panicked; the evaluation is an error, never a crash and never an allow.
    #[error("policy evaluation failed: internal error in the Rego engine: {message}")]
    Panic {
        /// The panic message.
        message: String,
    },
    /// The input or params could not be given to the engine.
    #[error("{0}")]
    Input(String),
}

fn humanize(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}

impl RegoError {
    /// The location of the error in the policy, if it has one.
    pub fn location(&self) -> Option<&Location> {
        match self {
            RegoError::Parse { location, .. } => Some(location),
            RegoError::Compile { location, .. } => location.as_ref(),
            _ => None,
        }
    }

    /// The offending source line with a caret, when there is one.
    pub fn snippet(&self) -> Option<&str> {
        match self {
            RegoError::Parse { snippet, .. } | RegoError::Compile { snippet, .. } if !snippet.is_empty() => {
                Some(snippet)
            }
            _ => None,
        }
    }
}

/// A regorus error message taken apart: regorus renders `\n--> file:line:col\n  |\nN | source\n  | ^\nerror: msg`.
pub(crate) struct EngineMessage {
    pub location: Option<Location>,
    pub message: String,
    pub snippet: String,
}

impl EngineMessage {
    pub(crate) fn parse(text: &str) -> Self {
        let mut location = None;
        let mut message = None;
        let mut snippet = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("--> ") {
                location = parse_location(rest);
            } else if let Some(rest) = line.strip_prefix("error: ") {
                message = Some(rest.to_owned());
            } else if location.is_some() && message.is_none() && !line.trim().is_empty() {
                snippet.push(line);
            }
        }
        let message = message.unwrap_or_else(|| text.trim().to_owned());
        EngineMessage { location, message, snippet: snippet.join("\n") }
    }
}

fn parse_location(text: &str) -> Option<Location> {
    let mut parts = text.rsplitn(3, ':');
    let column = parts.next()?.trim().parse().ok()?;
    let line = parts.next()?.trim().parse().ok()?;
    let file = parts.next()?.to_owned();
    Some(Location { file, line, column })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_regorus_messages() {
        let text = "\n--> p.rego:4:10\n  |\n4 | \tx := y\n  |          ^\nerror: var y is unsafe";
        let parsed = EngineMessage::parse(text);
        assert_eq!(parsed.location, Some(Location { file: "p.rego".into(), line: 4, column: 10 }));
        assert_eq!(parsed.message, "var y is unsafe");
        assert!(parsed.snippet.contains("x := y"));
        let plain = EngineMessage::parse("not a valid rule path");
        assert_eq!((plain.location, plain.message.as_str()), (None, "not a valid rule path"));
    }

    #[test]
    fn messages_match_kosli_wording() {
        assert_eq!(
            RegoError::Package { found: "foo".into() }.to_string(),
            "policy package must be 'package policy', got 'foo'"
        );
        assert_eq!(RegoError::NoAllow.to_string(), "policy must declare an 'allow' rule");
        assert_eq!(
            RegoError::AllowUndefined.to_string(),
            "policy did not return a result for 'data.policy.allow'"
        );
        assert_eq!(
            RegoError::Timeout { limit: Duration::from_millis(1500) }.to_string(),
            "policy evaluation exceeded its time budget of 1500ms"
        );
    }
}
