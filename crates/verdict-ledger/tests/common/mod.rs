//! Shared by the SQLite and PostgreSQL chain tests.

use serde_json::json;
use verdict_ledger::SqlLedger;

/// Eight writers, alternating between two independent pools (as two processes would), append 25 entries
/// each, concurrently.
pub async fn append_concurrently(a: &SqlLedger, b: &SqlLedger) {
    let mut tasks = Vec::new();
    for writer in 0..8 {
        let ledger = if writer % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                ledger.append("acme", "attestation", &format!("w{writer}"), &json!({"i": i})).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
}
