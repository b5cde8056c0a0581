//! The hash chain in an embedded SQLite ledger: appends verify, concurrent appends (also from two
//! independent pools on one file) stay one linear chain, and tampering with any row is found and named.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use serde_json::json;
use verdict_ledger::{ChainProblem, GENESIS, SqlLedger};

async fn ledger_with(n: i64) -> (tempfile::TempDir, SqlLedger) {
    let dir = tempfile::tempdir().unwrap();
    let ledger = SqlLedger::open(&dir.path().join("ledger.db").display().to_string()).await.unwrap();
    for i in 1..=n {
        ledger
            .append(
                "acme",
                "flow",
                &format!("flow-{i}"),
                &json!({"name": format!("flow-{i}"), "tags": {"team": "a"}}),
            )
            .await
            .unwrap();
    }
    (dir, ledger)
}

#[tokio::test]
async fn appends_chain_and_verify() {
    let (_dir, ledger) = ledger_with(0).await;
    let empty = ledger.verify().await.unwrap();
    assert_eq!((empty.count, empty.head_hash.as_str(), empty.problem), (0, GENESIS, None));
    let first = ledger.append("acme", "flow", "backend", &json!({"name": "backend"})).await.unwrap();
    let second = ledger.append("acme", "trail", "backend/a1", &json!({"name": "a1"})).await.unwrap();
    assert_eq!((first.seq, first.prev_hash.as_str()), (1, GENESIS));
    assert_eq!((second.seq, second.prev_hash.as_str()), (2, first.hash.as_str()));
    let report = ledger.verify().await.unwrap();
    assert_eq!((report.count, report.head_hash, report.problem), (2, second.hash, None));
    let entries = ledger.entries("acme", "flow", "backend").await.unwrap();
    assert_eq!(entries, vec![first]);
    assert!(ledger.entries("other-org", "flow", "backend").await.unwrap().is_empty());
}

#[tokio::test]
async fn reopening_keeps_everything() {
    let (dir, ledger) = ledger_with(3).await;
    ledger.close().await;
    let reopened = SqlLedger::open(&dir.path().join("ledger.db").display().to_string()).await.unwrap();
    assert_eq!(reopened.verify().await.unwrap().count, 3);
    assert_eq!(reopened.append("acme", "flow", "x", &json!({})).await.unwrap().seq, 4);
}

#[tokio::test]
async fn modified_rows_are_named() {
    let (_dir, ledger) = ledger_with(5).await;
    ledger.execute_raw("UPDATE entries SET body = '{\"name\":\"evil\"}' WHERE seq = 3").await.unwrap();
    assert_eq!(ledger.verify().await.unwrap().problem, Some(ChainProblem::Modified { seq: 3 }));
}

#[tokio::test]
async fn unreadable_rows_are_modifications() {
    let (_dir, ledger) = ledger_with(4).await;
    ledger.execute_raw("UPDATE entries SET body = 'not json' WHERE seq = 2").await.unwrap();
    assert_eq!(ledger.verify().await.unwrap().problem, Some(ChainProblem::Modified { seq: 2 }));
}

#[tokio::test]
async fn deleted_rows_are_named() {
    let (_dir, ledger) = ledger_with(5).await;
    ledger.execute_raw("DELETE FROM entries WHERE seq = 2").await.unwrap();
    assert_eq!(ledger.verify().await.unwrap().problem, Some(ChainProblem::Deleted { seq: 2 }));
    let (_dir, tail) = ledger_with(5).await;
    tail.execute_raw("DELETE FROM entries WHERE seq >= 4").await.unwrap();
    assert_eq!(tail.verify().await.unwrap().problem, Some(ChainProblem::Truncated { seq: 4, head_seq: 5 }));
}

#[tokio::test]
async fn reordered_rows_are_named() {
    let (_dir, ledger) = ledger_with(5).await;
    ledger.execute_raw("UPDATE entries SET seq = -2 WHERE seq = 2").await.unwrap();
    ledger.execute_raw("UPDATE entries SET seq = 2 WHERE seq = 3").await.unwrap();
    ledger.execute_raw("UPDATE entries SET seq = 3 WHERE seq = -2").await.unwrap();
    assert_eq!(ledger.verify().await.unwrap().problem, Some(ChainProblem::Unlinked { seq: 2 }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_from_two_pools_form_one_chain() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db").display().to_string();
    let a = SqlLedger::open(&path).await.unwrap();
    let b = SqlLedger::open(&path).await.unwrap();
    common::append_concurrently(&a, &b).await;
    let report = a.verify().await.unwrap();
    assert_eq!((report.count, report.problem), (200, None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_appends_consecutively_and_reads_back_exactly() {
    let (_dir, ledger) = ledger_with(3).await;
    common::append_many_round_trips(&ledger).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_verify_never_cries_wolf_while_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.db").display().to_string();
    let a = SqlLedger::open(&path).await.unwrap();
    let b = SqlLedger::open(&path).await.unwrap();
    common::verify_while_writing(&a, &b).await;
}

/// One writer's record that the database refuses fails only that writer (see the PostgreSQL twin).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_one_refused_row_fails_only_its_writer() {
    let (_dir, ledger) = ledger_with(0).await;
    ledger
        .execute_raw(
            "CREATE TRIGGER refuse_poison BEFORE INSERT ON entries WHEN NEW.subject = 'poison' \
             BEGIN SELECT RAISE(ABORT, 'refused by the database'); END",
        )
        .await
        .unwrap();
    common::refused_rows_fail_only_their_writer(&ledger).await;
}
