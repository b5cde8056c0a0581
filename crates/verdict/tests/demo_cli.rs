//! `verdict demo`: the README's main job runs end to end, denies the bad trail for the right reasons, and
//! with --db leaves a ledger the other commands can read.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use assert_cmd::Command;
use predicates::prelude::*;

fn verdict() -> Command {
    let mut command = Command::cargo_bin("verdict").unwrap();
    command.env("NO_COLOR", "1").env_remove("VERDICT_DB").env_remove("VERDICT_ORG");
    command
}

#[test]
fn demo_explains_an_allowed_and_a_denied_trail() {
    verdict()
        .arg("demo")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("(temporary)"))
        .stdout(predicate::str::contains("trail release-1.4.2: COMPLIANT"))
        .stdout(predicate::str::contains("trail hotfix-1.4.3: NON-COMPLIANT"))
        .stdout(predicate::str::contains("ALLOWED release-1.4.2"))
        .stdout(predicate::str::contains("DENIED  hotfix-1.4.3"))
        .stdout(predicate::str::contains(
            "attestation \"security-scan\" of artifact \"backend\" is NON-COMPLIANT",
        ))
        .stdout(predicate::str::contains(
            "the pull request was not approved by someone other than its author",
        ))
        .stdout(predicate::str::contains("COMPLIANT     registry.example/backend:1.4.2"))
        .stdout(predicate::str::contains("NON-COMPLIANT registry.example/backend:1.4.3"))
        .stdout(predicate::str::contains("snapshot production#1 is NON-COMPLIANT"))
        .stdout(predicate::str::contains("ADMITTED (enforce) backend 1.4.2"))
        .stdout(predicate::str::contains("DENIED   (enforce) backend 1.4.3"))
        .stdout(predicate::str::contains("the image is not signed (no signature was found)"))
        .stdout(predicate::str::contains(
            "attestation \"provenance\" (https://slsa.dev/provenance/v1): none was found",
        ))
        .stdout(predicate::str::contains("not compliant in environment production"))
        .stdout(predicate::str::contains("ADMITTED (warn   ) backend 1.4.3, with warnings:"))
        .stdout(predicate::str::contains("ADMITTED (audit  ) backend 1.4.3\n"))
        .stdout(predicate::str::contains("6 admission decisions recorded in the ledger"))
        .stdout(predicate::str::contains("24 entries, each chained"));
}

#[test]
fn demo_with_db_leaves_a_readable_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db").display().to_string();
    let first = verdict().args(["demo", "--db", &db]).output().unwrap();
    assert_eq!(first.status.code(), Some(0), "{}", String::from_utf8_lossy(&first.stderr));
    let stdout = String::from_utf8(first.stdout).unwrap();
    assert!(stdout.contains("The evidence stays in"), "{stdout}");
    assert!(stdout.contains("== Next steps"), "{stdout}");
    assert!(!stdout.contains("artifact_started_running"), "internal event names stay out of the demo");
    // The commands the demo suggests work when pasted, with the exit codes it announces.
    let suggested: Vec<(i32, Vec<String>)> = stdout
        .lines()
        .zip(stdout.lines().skip(1))
        .filter_map(|(announcement, command)| {
            let code = if announcement.starts_with("exits 0") {
                0
            } else if announcement.starts_with("exits 1") {
                1
            } else {
                return None;
            };
            let words =
                command.trim().strip_prefix("verdict ")?.split_whitespace().map(str::to_owned).collect();
            Some((code, words))
        })
        .collect();
    assert_eq!(suggested.len(), 2, "{stdout}");
    for (code, words) in &suggested {
        assert!(words.contains(&"--db".to_owned()), "{words:?}");
        verdict().args(words).assert().code(*code);
    }
    for line in stdout.lines().filter(|line| {
        line.trim_start().starts_with("verdict get") || line.trim_start().starts_with("verdict ledger")
    }) {
        let words: Vec<&str> = line.split_whitespace().skip(1).collect();
        verdict().args(&words).assert().code(predicate::in_iter([0, 1]));
    }
    // A second run refuses before writing anything, rather than failing halfway.
    verdict()
        .args(["demo", "--db", &db])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("already holds 1 flow(s) and 1 environment(s)"))
        .stderr(predicate::str::contains("Nothing was written"));
    verdict()
        .args(["get", "trail", "hotfix-1.4.3", "--flow", "backend-ci", "--db", &db])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("NON-COMPLIANT"));
    verdict()
        .args(["ledger", "verify", "--db", &db])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("verified 24 entries"));
    // What the demo says about production holds for the real commands.
    verdict().args(["assert", "snapshot", "production", "--db", &db]).assert().code(1);
    // The backend artifact is its container image: the fingerprint CI reported is the image digest the
    // webhook looked up.
    let fingerprint = |version: &str| {
        let trail = if version == "1.4.2" { "release-1.4.2" } else { "hotfix-1.4.3" };
        let output = verdict()
            .args(["get", "trail", trail, "--flow", "backend-ci", "--db", &db, "-o", "json"])
            .output()
            .unwrap();
        let document: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        document["compliance_status"]["artifacts_statuses"]["backend"]["fingerprint"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    verdict()
        .args([
            "assert",
            "artifact",
            "--fingerprint",
            &fingerprint("1.4.2"),
            "--environment",
            "production",
            "--db",
            &db,
        ])
        .assert()
        .code(0);
    verdict()
        .args([
            "assert",
            "artifact",
            "--fingerprint",
            &fingerprint("1.4.3"),
            "--environment",
            "production",
            "--db",
            &db,
        ])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("flow backend-ci trail hotfix-1.4.3"));
}
