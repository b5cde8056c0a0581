//! The error type at the binary edge: a message and the exit status it maps to.

use std::fmt;

use verdict_core::ExitStatus;

/// A command failure: what to tell the user, and which documented exit code to leave with.
#[derive(Debug)]
pub struct CliError {
    /// The exit status (never `Ok`).
    pub status: ExitStatus,
    /// What went wrong, with its causes.
    pub error: anyhow::Error,
}

impl CliError {
    /// Invalid input or usage: exit 2.
    pub fn invalid(error: impl Into<anyhow::Error>) -> Self {
        CliError { status: ExitStatus::Invalid, error: error.into() }
    }
}

impl CliError {
    /// Something needed is unavailable (database, server, network): exit 3.
    pub fn unavailable(error: impl Into<anyhow::Error>) -> Self {
        CliError { status: ExitStatus::Unavailable, error: error.into() }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#}", self.error)
    }
}

/// What every command returns: the status to exit with, or an error.
pub type CliResult = Result<ExitStatus, CliError>;
