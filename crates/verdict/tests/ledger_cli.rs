//! `verdict ledger verify` on the embedded SQLite ledger: intact, tampered, and unusable locations.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::json;
use verdict_ledger::SqlLedger;

fn verdict() -> Command {
    let mut command = Command::cargo_bin("verdict").unwrap();
    command
        .env("NO_COLOR", "1")
        .env_remove("VERDICT_DB")
        .env_remove("VERDICT_HOST")
        .env_remove("VERDICT_ORG");
    command
}

#[test]
fn verify_reports_the_head_or_the_first_tampered_entry() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.db").display().to_string();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let head = runtime.block_on(async {
        let ledger = SqlLedger::open(&db).await.unwrap();
        let mut last = String::new();
        for i in 0..4 {
            last = ledger.append("acme", "flow", &format!("f{i}"), &json!({"name": i})).await.unwrap().hash;
        }
        ledger.close().await;
        last
    });
    verdict()
        .args(["ledger", "verify", "--db", &db])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(format!("verified 4 entries; head {head}")));
    runtime.block_on(async {
        let ledger = SqlLedger::open(&db).await.unwrap();
        ledger.execute_raw("UPDATE entries SET kind = 'trail' WHERE seq = 2").await.unwrap();
        ledger.close().await;
    });
    verdict()
        .args(["ledger", "verify", "--db", &db])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("TAMPERED: entry 2 was modified"));
    let output = verdict().args(["ledger", "verify", "-o", "json"]).env("VERDICT_DB", &db).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["problem"], json!({"problem": "modified", "seq": 2}));
    assert_eq!(report["count"], 1);
}

#[test]
fn only_writes_create_a_ledger_and_bad_locations_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let default = dir.path().join("verdict/ledger.db");
    // A read on a ledger that does not exist names the path and creates nothing.
    for args in [
        &["ledger", "verify"][..],
        &["list", "flows"],
        &["get", "trail", "t", "--flow", "f"],
        &["server", "token", "list"],
    ] {
        verdict()
            .args(args)
            .env("XDG_DATA_HOME", dir.path())
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!("no ledger at {}", default.display())));
    }
    assert!(!default.exists(), "a read created the ledger");
    let typo = dir.path().join("ledgr.db");
    verdict()
        .args(["assert", "snapshot", "prod", "--db"])
        .arg(&typo)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no ledger at"));
    assert!(!typo.exists());
    // A write creates it, and says so once.
    verdict()
        .args(["create", "flow", "backend"])
        .env("XDG_DATA_HOME", dir.path())
        .assert()
        .code(0)
        .stderr(predicate::str::contains(format!("created a new ledger at {}", default.display())));
    verdict()
        .args(["create", "flow", "frontend"])
        .env("XDG_DATA_HOME", dir.path())
        .assert()
        .code(0)
        .stderr(predicate::str::contains("created a new ledger").not());
    verdict()
        .args(["ledger", "verify"])
        .env("XDG_DATA_HOME", dir.path())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("verified 2 entries"));
    // A file that is not a database: one line, exit 2, the file untouched.
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "not a ledger").unwrap();
    let output = verdict().args(["list", "flows", "--db"]).arg(&notes).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("is not a verdict ledger"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "not a ledger");
    // --host and --db together are an error, not a silent choice.
    verdict()
        .args(["list", "flows", "--host", "http://127.0.0.1:9", "--db"])
        .arg(&default)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("both --host"));
    // Empty variables are unset (CI systems set undefined ones to ""), and org names are checked.
    verdict()
        .args(["list", "flows"])
        .env("XDG_DATA_HOME", dir.path())
        .env("VERDICT_HOST", "")
        .env("VERDICT_ORG", "")
        .env("VERDICT_API_TOKEN", "")
        .env("VERDICT_DRY_RUN", "")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("backend"));
    for org in ["", "Acme Corp"] {
        verdict()
            .args(["list", "flows", "--org", org])
            .env("XDG_DATA_HOME", dir.path())
            .assert()
            .code(2)
            .stderr(predicate::str::contains("invalid org name"));
    }
    verdict()
        .args(["get", "trail", "t", "--flow", "nope", "--org", "acme"])
        .env("XDG_DATA_HOME", dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("flow \"nope\" does not exist in org \"acme\""));
    verdict()
        .args(["ledger", "verify", "--db", "mysql://x"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid database location"));
    verdict()
        .args(["ledger", "verify", "--db", "/no/such/dir/l.db"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no ledger at /no/such/dir/l.db"));
    verdict()
        .args(["create", "flow", "f", "--db", "/no/such/dir/l.db"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("the directory /no/such/dir does not exist"));
    // Nothing listens on port 1: the database is unavailable, exit 3.
    verdict()
        .args(["ledger", "verify", "--db", "postgres://verdict@127.0.0.1:1/postgres"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("database unavailable"));
}

#[test]
fn bench_commands_report_what_they_measured() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bench.db").display().to_string();
    let output = verdict()
        .args(["bench", "ledger", "--db", &db, "--appends", "20", "--concurrency", "3"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let stats: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!((stats["appends"].as_u64(), stats["verified_entries"].as_u64()), (Some(20), Some(20)));
    assert!(stats["appends_per_second"].as_f64().unwrap() > 0.0);

    let output = verdict()
        .args(["bench", "server", "--db", &dir.path().join("server.db").display().to_string()])
        .args(["--clients", "1,4", "--attestations", "12", "--reads", "5"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let stats: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let runs: Vec<_> = stats["ingest"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["clients"].as_u64(), r["attestations"].as_u64()))
        .collect();
    assert_eq!(runs, [(Some(1), Some(12)), (Some(4), Some(12))]);
    assert_eq!(
        (stats["get_trail_attestations"].as_u64(), stats["get_trail_requests"].as_u64()),
        (Some(100), Some(5))
    );
    // Everything it recorded went into the database and verifies: 1 flow, 3 trails, 124 attestations.
    let output = verdict()
        .args(["--db", &dir.path().join("server.db").display().to_string(), "ledger", "verify", "-o", "json"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!((report["count"].as_u64(), output.status.code()), (Some(1 + 3 + 124), Some(0)));

    // 100 artifacts: enough to take the bulk read path; every 10th fails its scan.
    let output = verdict()
        .args([
            "bench",
            "snapshot",
            "--artifacts",
            "100",
            "--db",
            &dir.path().join("snap.db").display().to_string(),
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let stats: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        (stats["non_compliant"].as_u64(), stats["status"].as_str()),
        (Some(10), Some("NON-COMPLIANT"))
    );
    let snap = dir.path().join("snap.db").display().to_string();
    let fingerprint = |i: u32| {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(format!("artifact-{i}").as_bytes()))
    };
    verdict()
        .args([
            "--db",
            &snap,
            "assert",
            "artifact",
            "--fingerprint",
            &fingerprint(1),
            "--environment",
            "prod",
        ])
        .assert()
        .code(0);
    verdict()
        .args([
            "--db",
            &snap,
            "assert",
            "artifact",
            "--fingerprint",
            &fingerprint(10),
            "--environment",
            "prod",
        ])
        .assert()
        .code(1);

    let root = verdict_testkit::workspace_root();
    let output = verdict()
        .current_dir(&root)
        .args(["bench", "rego", "--policy", "examples/rego/pull-request/pull-request.rego"])
        .args([
            "--input-file",
            "examples/rego/pull-request/trails-input.json",
            "--iterations",
            "5",
            "--warmup",
            "1",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let stats: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        (stats["iterations"].as_u64(), stats["allow"].as_bool(), stats["violations"].as_u64()),
        (Some(5), Some(false), Some(1))
    );
}
