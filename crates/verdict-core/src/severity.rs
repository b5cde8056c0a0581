//! How serious a finding about a policy is, shared by the YAML loader's diagnostics and the Rego linter.

use serde::{Deserialize, Serialize};

/// Error or warning. Errors make the checking command fail; warnings are reported and pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The policy cannot be used as written, or can decide wrongly.
    Error,
    /// The policy works, but probably not as intended.
    Warning,
}
