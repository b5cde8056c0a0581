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

/// Writers and verifiers together: while four writers append (through both pools), two verifiers verify
/// again and again; no verification may report a problem. Then a row is modified while the writers go
/// on, and from then on every verification names it. Bounded: 4 × 120 appends per phase.
pub async fn verify_while_writing(a: &SqlLedger, b: &SqlLedger) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    async fn phase(a: &SqlLedger, b: &SqlLedger, tamper: Option<&str>) -> Vec<verdict_ledger::ChainReport> {
        let writing = Arc::new(AtomicBool::new(true));
        let mut writers = Vec::new();
        for writer in 0..4 {
            let ledger = if writer % 2 == 0 { a.clone() } else { b.clone() };
            writers.push(tokio::spawn(async move {
                for i in 0..120 {
                    ledger
                        .append("acme", "attestation", &format!("v{writer}"), &json!({"i": i}))
                        .await
                        .unwrap();
                }
            }));
        }
        if let Some(statement) = tamper {
            a.execute_raw(statement).await.unwrap();
        }
        let mut verifiers = Vec::new();
        for verifier in 0..2 {
            let ledger = if verifier == 0 { a.clone() } else { b.clone() };
            let writing = writing.clone();
            verifiers.push(tokio::spawn(async move {
                let mut reports = Vec::new();
                while writing.load(Ordering::Relaxed) && reports.len() < 400 {
                    reports.push(ledger.verify().await.unwrap());
                }
                reports
            }));
        }
        for task in writers {
            task.await.unwrap();
        }
        writing.store(false, Ordering::Relaxed);
        let mut reports = Vec::new();
        for task in verifiers {
            reports.extend(task.await.unwrap());
        }
        reports.push(a.verify().await.unwrap());
        reports
    }

    let quiet = phase(a, b, None).await;
    assert!(quiet.len() > 2, "the verifiers ran while the writers wrote");
    let false_reports: Vec<_> = quiet.iter().filter(|r| r.problem.is_some()).collect();
    assert!(
        false_reports.is_empty(),
        "{} of {} verifications cried wolf: {:?}",
        false_reports.len(),
        quiet.len(),
        false_reports.first()
    );
    let tampered = phase(a, b, Some("UPDATE entries SET body = '{\"i\":999}' WHERE seq = 5")).await;
    for report in &tampered {
        assert_eq!(report.problem, Some(verdict_ledger::ChainProblem::Modified { seq: 5 }));
    }
}

/// Many writers append at once (so their entries share group commits), one of them a row the database
/// refuses and one with an invalid org: only those two fail; every other append is committed, chained.
pub async fn refused_rows_fail_only_their_writer(ledger: &SqlLedger) {
    let before = ledger.verify().await.unwrap().count;
    let mut tasks = Vec::new();
    for writer in 0..24 {
        let ledger = ledger.clone();
        tasks.push(tokio::spawn(async move {
            let (org, subject) = match writer {
                7 => ("acme", "poison".to_owned()),
                13 => ("Acme Corp", "fine".to_owned()),
                _ => ("acme", format!("w{writer}")),
            };
            (writer, ledger.append(org, "attestation", &subject, &json!({"writer": writer})).await)
        }));
    }
    let mut failed = Vec::new();
    for task in tasks {
        let (writer, result) = task.await.unwrap();
        if let Err(error) = result {
            failed.push((writer, error.to_string()));
        }
    }
    failed.sort_by_key(|(writer, _)| *writer);
    assert_eq!(failed.iter().map(|(w, _)| *w).collect::<Vec<_>>(), [7, 13], "{failed:?}");
    assert!(failed[0].1.contains("refused by the database"), "{failed:?}");
    assert!(failed[1].1.contains("invalid org name"), "{failed:?}");
    let report = ledger.verify().await.unwrap();
    assert_eq!((report.count, report.problem), (before + 22, None));
}
