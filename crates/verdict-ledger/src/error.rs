//! Ledger errors, split by what the caller can do about them.

/// Why a ledger operation failed.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The database URL or path is not usable.
    #[error("invalid database location {location:?}: {message}")]
    InvalidLocation {
        /// What was given.
        location: String,
        /// Why it is not usable.
        message: String,
    },
    /// The request is invalid (a bad name, a bad fingerprint): nothing was recorded.
    #[error("{0}")]
    Invalid(String),
    /// Something the request refers to does not exist (an unknown flow or trail): nothing was recorded.
    #[error("{0}")]
    NotFound(String),
    /// The caller may not do this (no token, a revoked token, another org's data, a read-only role):
    /// nothing was recorded.
    #[error("{0}")]
    AccessDenied(String),
    /// The database or the ledger server could not be reached or failed (exit code 3: unavailable).
    #[error("{what} unavailable: {message}")]
    Unavailable {
        /// `database` or `ledger server`.
        what: &'static str,
        /// What went wrong.
        message: String,
    },
    /// The schema could not be brought up to date.
    #[error("database migration failed: {0}")]
    Migration(#[source] sqlx::migrate::MigrateError),
    /// Stored data could not be read back (a corrupted or foreign database).
    #[error("stored entry {seq} is unreadable: {message}")]
    Corrupt {
        /// The entry.
        seq: i64,
        /// What is wrong.
        message: String,
    },
}

impl From<sqlx::Error> for LedgerError {
    fn from(error: sqlx::Error) -> Self {
        LedgerError::Unavailable { what: "database", message: error.to_string() }
    }
}
