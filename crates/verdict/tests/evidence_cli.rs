//! Kosli's evidence commands against the embedded ledger: what they record, what they refuse (exit 2,
//! nothing recorded), and that the chain verifies afterwards.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

struct Ledger {
    _dir: tempfile::TempDir,
    db: String,
}

impl Ledger {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("ledger.db").display().to_string();
        Ledger { _dir: dir, db }
    }

    fn verdict(&self) -> Command {
        let mut command = Command::cargo_bin("verdict").unwrap();
        command.env("NO_COLOR", "1").env("VERDICT_DB", &self.db).env_remove("VERDICT_ORG");
        command
    }

    fn entries(&self) -> u64 {
        let output = self.verdict().args(["ledger", "verify", "-o", "json"]).output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stdout));
        serde_json::from_slice::<Value>(&output.stdout).unwrap()["count"].as_u64().unwrap()
    }
}

const FP: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

#[test]
fn records_a_flow_trail_artifact_and_attestation() {
    let ledger = Ledger::new();
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
    let file = ledger._dir.path().join("app.bin");
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
    // Another organisation sees none of it.
    ledger.verdict().args(["list", "flows", "--org", "other", "-o", "json"]).assert().code(0).stdout("[]\n");
}

#[test]
fn refusals_exit_2_and_record_nothing() {
    let ledger = Ledger::new();
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
            "not a valid SHA256 fingerprint",
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

const TEMPLATE: &str = "version: 1\ntrail:\n  attestations:\n    - name: pull-request\n      type: pull_request\n  artifacts:\n    - name: backend\n      attestations:\n        - name: unit-tests\n          type: junit\n";

#[test]
fn get_trail_and_evaluate_trail_follow_the_template() {
    let ledger = Ledger::new();
    let template = ledger._dir.path().join("template.yml");
    std::fs::write(&template, TEMPLATE).unwrap();
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

    let policy = ledger._dir.path().join("compliant.rego");
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
    let trails_policy = ledger._dir.path().join("names.rego");
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
