//! Kosli's evidence commands against the embedded ledger, through a server on SQLite, and through a
//! server on PostgreSQL: what they record, what they refuse (exit 2, nothing recorded), and that the
//! chain verifies afterwards. Every scenario runs unchanged on all three.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use predicates::prelude::*;
use serde_json::Value;

#[macro_use]
mod common;

use common::Env;

const FP: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn records_a_flow_trail_artifact_and_attestation(ledger: &Env) {
    ledger
        .verdict()
        .args(["create", "flow", "backend", "--tag", "risk-level=high", "--description", "Backend CI"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("recorded flow backend (ledger entry 1"));
    ledger
        .verdict()
        .args(["begin", "trail", "a1b2", "--flow", "backend", "--commit", "abc"])
        .assert()
        .code(0);
    let file = ledger.dir.path().join("app.bin");
    std::fs::write(&file, b"").unwrap();
    ledger
        .verdict()
        .arg("attest")
        .arg("artifact")
        .arg(&file)
        .args(["-t", "file", "--name", "app", "--flow", "backend", "--trail", "a1b2"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(FP));
    ledger
        .verdict()
        .args([
            "attest",
            "generic",
            "--name",
            "tests",
            "--flow",
            "backend",
            "--trail",
            "a1b2",
            "--compliant=false",
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("NON-COMPLIANT"));
    let flows: Value = serde_json::from_slice(
        &ledger.verdict().args(["list", "flows", "-o", "json"]).output().unwrap().stdout,
    )
    .unwrap();
    assert_eq!(flows[0]["name"], "backend");
    assert_eq!(flows[0]["tags"]["risk-level"], "high");
    let trails: Value = serde_json::from_slice(
        &ledger
            .verdict()
            .args(["list", "trails", "--flow", "backend", "-o", "json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!((trails[0]["name"].as_str(), trails[0]["commit"].as_str()), (Some("a1b2"), Some("abc")));
    assert_eq!(ledger.entries(), 4);
    // Another organisation sees none of it; through a server, a token of one org cannot even ask.
    if ledger.server.is_some() {
        ledger
            .verdict()
            .args(["list", "flows", "--org", "other", "-o", "json"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("cannot access org \"other\""));
    } else {
        ledger
            .verdict()
            .args(["list", "flows", "--org", "other", "-o", "json"])
            .assert()
            .code(0)
            .stdout("[]\n");
    }
}

fn refusals_exit_2_and_record_nothing(ledger: &Env) {
    ledger.verdict().args(["create", "flow", "backend"]).assert().code(0);
    let refusals: [(&[&str], &str); 6] = [
        (&["create", "flow", "bad name"], "invalid flow name"),
        (&["create", "flow", "x", "--tag", "novalue"], "is not KEY=VALUE"),
        (&["begin", "trail", "t1", "--flow", "nope"], "flow \"nope\" does not exist"),
        (
            &["attest", "generic", "--name", "n", "--flow", "backend", "--trail", "t9"],
            "trail \"t9\" does not exist",
        ),
        (
            &[
                "attest",
                "artifact",
                "--fingerprint",
                "abc",
                "--name",
                "n",
                "--flow",
                "backend",
                "--trail",
                "t9",
            ],
            "fingerprint prefix \"abc\" is too short",
        ),
        (&["list", "trails", "--flow", "nope"], "flow \"nope\" does not exist"),
    ];
    for (args, message) in refusals {
        ledger.verdict().args(args).assert().code(2).stderr(predicate::str::contains(message));
    }
    ledger
        .verdict()
        .args(["begin", "trail", "t1", "--flow", "backend", "--user-data", "/nonexistent.json"])
        .assert()
        .code(2);
    assert_eq!(ledger.entries(), 1);
}

const TEMPLATE: &str = "version: 1\ntrail:\n  attestations:\n    - name: pull-request\n      type: generic\n  artifacts:\n    - name: backend\n      attestations:\n        - name: unit-tests\n";

fn get_trail_and_evaluate_trail_follow_the_template(ledger: &Env) {
    let template = ledger.dir.path().join("template.yml");
    std::fs::write(&template, TEMPLATE).unwrap();
    // A template slot's type is enforced: a generic attestation cannot fill a junit slot.
    let typed = ledger
        .write("typed.yml", b"version: 1\ntrail:\n  attestations:\n    - name: tests\n      type: junit\n");
    ledger.verdict().args(["create", "flow", "typed", "--template-file"]).arg(&typed).assert().code(0);
    ledger.verdict().args(["begin", "trail", "t1", "--flow", "typed"]).assert().code(0);
    ledger
        .verdict()
        .args(["attest", "generic", "--name", "tests", "--flow", "typed", "--trail", "t1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("expects attestation \"tests\" to be of type junit, not generic"));
    // Templates are checked when recorded: duplicate names and unknown keys are refused.
    let duplicate = ledger.write(
        "dup.yml",
        b"version: 1\ntrail:\n  attestations:\n    - name: a\n    - name: a\n      type: junit\n",
    );
    ledger
        .verdict()
        .args(["create", "flow", "dup", "--template-file"])
        .arg(&duplicate)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("duplicate attestation name \"a\" in trail.attestations"));
    assert_eq!(ledger.entries(), 2);
    ledger.verdict().args(["create", "flow", "backend", "--template-file"]).arg(&template).assert().code(0);
    ledger.verdict().args(["begin", "trail", "t1", "--flow", "backend", "--commit", "abc"]).assert().code(0);
    ledger.verdict().args(["begin", "trail", "t2", "--flow", "backend"]).assert().code(0);
    // An artifact attestation named before its artifact is reported binds when the artifact arrives.
    ledger
        .verdict()
        .args(["attest", "generic", "--name", "backend.unit-tests", "--flow", "backend", "--trail", "t1"])
        .assert()
        .code(0);
    ledger
        .verdict()
        .args([
            "attest",
            "artifact",
            "--fingerprint",
            FP,
            "--name",
            "backend",
            "--flow",
            "backend",
            "--trail",
            "t1",
        ])
        .assert()
        .code(0);

    let document = |trail: &str| -> Value {
        serde_json::from_slice(
            &ledger
                .verdict()
                .args(["get", "trail", trail, "--flow", "backend", "-o", "json"])
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap()
    };
    let t1 = document("t1");
    assert_eq!(t1["compliance_status"]["status"], "INCOMPLETE");
    assert_eq!(t1["compliance_status"]["attestations_statuses"]["pull-request"]["status"], "MISSING");
    assert_eq!(
        t1["compliance_status"]["artifacts_statuses"]["backend"]["attestations_statuses"]["unit-tests"]["status"],
        "COMPLIANT"
    );
    assert_eq!(t1["git_commit"]["sha1"], "abc");

    let policy = ledger.dir.path().join("compliant.rego");
    std::fs::write(
        &policy,
        "package policy\ndefault allow := false\nallow if { input.trail.compliance_status.status == \"COMPLIANT\" }\nviolations contains sprintf(\"trail %s is %s\", [input.trail.name, input.trail.compliance_status.status]) if { not allow }\n",
    )
    .unwrap();
    ledger
        .verdict()
        .args(["evaluate", "trail", "t1", "--flow", "backend", "--policy"])
        .arg(&policy)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("trail t1 is INCOMPLETE"));
    ledger
        .verdict()
        .args(["attest", "generic", "--name", "pull-request", "--flow", "backend", "--trail", "t1"])
        .assert()
        .code(0);
    assert_eq!(document("t1")["compliance_status"]["status"], "COMPLIANT");
    ledger
        .verdict()
        .args(["evaluate", "trail", "t1", "--flow", "backend", "--policy"])
        .arg(&policy)
        .assert()
        .code(0);
    ledger
        .verdict()
        .args(["get", "trail", "t1", "--flow", "backend"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("trail t1 of flow backend: COMPLIANT"));
    ledger
        .verdict()
        .args(["get", "trail", "t1", "--flow", "backend", "-o", "markdown"])
        .assert()
        .stdout(predicate::str::contains("| attestation | `backend.unit-tests` |"));

    // evaluate trails gives input.trails in argument order.
    let trails_policy = ledger.dir.path().join("names.rego");
    std::fs::write(
        &trails_policy,
        "package policy\nallow if { [t.name | some t in input.trails] == [\"t2\", \"t1\"] }\n",
    )
    .unwrap();
    ledger
        .verdict()
        .args(["evaluate", "trails", "t2", "t1", "--flow", "backend", "--policy"])
        .arg(&trails_policy)
        .assert()
        .code(0);
    ledger
        .verdict()
        .args(["evaluate", "trails", "t1", "missing", "--flow", "backend", "--policy"])
        .arg(&trails_policy)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("trail \"missing\" does not exist"));
    // A non-compliant current attestation makes the trail NON-COMPLIANT, whatever is missing.
    ledger
        .verdict()
        .args([
            "attest",
            "generic",
            "--name",
            "scan",
            "--flow",
            "backend",
            "--trail",
            "t2",
            "--compliant=false",
        ])
        .assert()
        .code(0);
    assert_eq!(document("t2")["compliance_status"]["status"], "NON-COMPLIANT");
}

fn attachments_artifact_list_and_dry_run(ledger: &Env) {
    ledger.verdict().args(["create", "flow", "backend"]).assert().code(0);
    ledger.verdict().args(["begin", "trail", "t1", "--flow", "backend"]).assert().code(0);
    // --dry-run prints the record and sends nothing.
    ledger
        .verdict()
        .args(["--dry-run", "create", "flow", "other", "--description", "d"])
        .assert()
        .code(0)
        .stdout(
            predicate::str::contains("dry run: would record flow")
                .and(predicate::str::contains("\"description\": \"d\"")),
        );
    ledger
        .verdict()
        .args(["attest", "generic", "--name", "x", "--flow", "backend", "--trail", "t1", "--dry-run"])
        .assert()
        .code(0);
    assert_eq!(ledger.entries(), 2);

    let report = ledger.write("report.txt", b"all 12 tests passed\n");
    let data = ledger.write("data.json", br#"{"coverage": 0.91}"#);
    ledger
        .verdict()
        .args(["attest", "generic", "--name", "tests", "--flow", "backend", "--trail", "t1", "--attachments"])
        .arg(format!("{},{}", report.display(), data.display()))
        .assert()
        .code(0);
    let document: Value = serde_json::from_slice(
        &ledger
            .verdict()
            .args(["get", "trail", "t1", "--flow", "backend", "-o", "json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let attachments = &document["compliance_status"]["attestations_statuses"]["tests"]["attachments"];
    // sha256("all 12 tests passed\n"), computed independently with sha256sum.
    assert_eq!(attachments[1]["name"], "report.txt");
    assert_eq!(attachments[1]["sha256"], "74c4803a61ebe3ca35ab4b4014c44d6dd23f4228cba0526be17ba02f923cef8f");
    assert_eq!(attachments[1]["size"], 20);
    assert_eq!(attachments[0]["name"], "data.json");

    // Two attachments with one name, or one that cannot be read: exit 2, nothing recorded.
    let elsewhere = ledger.dir.path().join("sub");
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::write(elsewhere.join("report.txt"), b"other").unwrap();
    ledger
        .verdict()
        .args(["attest", "generic", "--name", "tests", "--flow", "backend", "--trail", "t1", "--attachments"])
        .arg(&report)
        .arg("--attachments")
        .arg(elsewhere.join("report.txt"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("two attachments are named \"report.txt\""));
    ledger
        .verdict()
        .args([
            "attest",
            "generic",
            "--name",
            "tests",
            "--flow",
            "backend",
            "--trail",
            "t1",
            "--attachments",
            "/no/such/file",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read attachment /no/such/file"));
    assert_eq!(ledger.entries(), 3);

    ledger
        .verdict()
        .args([
            "attest",
            "artifact",
            "--fingerprint",
            FP,
            "--name",
            "app",
            "--flow",
            "backend",
            "--trail",
            "t1",
        ])
        .assert()
        .code(0);
    let artifacts: Value = serde_json::from_slice(
        &ledger
            .verdict()
            .args(["list", "artifacts", "--flow", "backend", "--trail", "t1", "-o", "json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(
        (artifacts[0]["name"].as_str(), artifacts[0]["fingerprint"].as_str()),
        (Some("app"), Some(FP))
    );
    ledger
        .verdict()
        .args(["list", "artifacts", "--flow", "backend", "--trail", "nope"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("trail \"nope\" does not exist"));
}

on_every_backend!(
    records_a_flow_trail_artifact_and_attestation,
    refusals_exit_2_and_record_nothing,
    get_trail_and_evaluate_trail_follow_the_template,
    attachments_artifact_list_and_dry_run
);
