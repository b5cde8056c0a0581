//! What every request handler shares: built once at start-up and passed by `Arc`.

use verdict_ledger::SqlLedger;

/// The server's shared state.
#[derive(Debug)]
pub struct AppState {
    /// The ledger the server fronts.
    pub ledger: SqlLedger,
}
