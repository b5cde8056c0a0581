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

/// Appends a batch whose subjects and bodies hold text that JSON and SQL treat specially (quotes,
/// backslashes, control characters, non-ASCII, a large number), interleaved with concurrent single
/// appends, and checks that every entry reads back exactly, consecutively, on a chain that verifies.
pub async fn append_many_round_trips(ledger: &SqlLedger) {
    let awkward = [
        "it's",
        "\"quoted\"",
        "back\\slash",
        "line\nbreak\ttab\u{1}",
        "é ü 漢字 🚀",
        "'; DROP TABLE entries; --",
    ];
    let items: Vec<(String, serde_json::Value)> = (0..300)
        .map(|i| {
            let text = awkward[i % awkward.len()];
            (format!("batch/{text}/{i}"), json!({"i": i, "text": text, "big": 9_007_199_254_740_993_i64, "nested": {"b": [text], "a": null}}))
        })
        .collect();
    let before = ledger.verify().await.unwrap().count;
    let single = {
        let ledger = ledger.clone();
        tokio::spawn(async move {
            for i in 0..20 {
                ledger.append("acme", "attestation", "single", &json!({"i": i})).await.unwrap();
            }
        })
    };
    let entries = ledger.append_many("acme", "attestation", items.clone()).await.unwrap();
    single.await.unwrap();
    assert_eq!(entries.len(), 300);
    for (window, (subject, body)) in entries.windows(2).zip(&items) {
        assert_eq!(window[1].seq, window[0].seq + 1, "a batch is consecutive in the chain");
        assert_eq!(window[1].prev_hash, window[0].hash);
        assert_eq!(&window[0].subject, subject);
        assert_eq!(&window[0].body, body);
    }
    for (entry, (subject, body)) in entries.iter().zip(&items) {
        let stored = ledger.entries("acme", "attestation", subject).await.unwrap();
        assert_eq!(stored.len(), 1);
        assert_eq!(&stored[0], entry);
        assert_eq!(&stored[0].body, body);
    }
    let report = ledger.verify().await.unwrap();
    assert_eq!((report.count, report.problem), (before + 320, None));
    assert!(ledger.append_many("acme", "attestation", Vec::new()).await.unwrap().is_empty());
}
