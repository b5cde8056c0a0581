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
    verdict()
        .args(["demo", "--db", &db])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("The evidence stays in"));
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
