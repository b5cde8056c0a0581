//! Typed attestations end to end on every backend: JUnit and Snyk results from the oracles with their
//! exact counts in the trail document, must-reject files refused (exit 2, nothing stored), SARIF
//! thresholds, decisions matched by `for_control`, and overrides that keep the original.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

use common::{Env, ok};
use predicates::prelude::*;
use serde_json::Value;

fn statuses(env: &Env) -> Value {
    let output = env.verdict().args(["get", "trail", "t", "--flow", "f", "-o", "json"]).output().unwrap();
    let document: Value = serde_json::from_slice(&output.stdout).unwrap();
    document["compliance_status"]["attestations_statuses"].clone()
}

fn typed_attestations(env: &Env) {
    let oracles = verdict_testkit::oracles();
    ok(env, &["create", "flow", "f"]);
    ok(env, &["begin", "trail", "t", "--flow", "f"]);
    let junit = oracles.join("junit/go-junit");
    ok(
        env,
        &[
            "attest",
            "junit",
            "--name",
            "tests",
            "--flow",
            "f",
            "--trail",
            "t",
            "--results-dir",
            junit.to_str().unwrap(),
        ],
    );
    let snyk = oracles.join("snyk-sarif/sarif-iac.json");
    ok(
        env,
        &[
            "attest",
            "snyk",
            "--name",
            "iac",
            "--flow",
            "f",
            "--trail",
            "t",
            "--scan-results",
            snyk.to_str().unwrap(),
        ],
    );
    let empty = oracles.join("snyk-sarif/sarif-empty-container.json");
    ok(
        env,
        &[
            "attest",
            "snyk",
            "--name",
            "container",
            "--flow",
            "f",
            "--trail",
            "t",
            "--scan-results",
            empty.to_str().unwrap(),
        ],
    );
    let s = statuses(env);
    // The sums over the 11 go-junit files of ../shared/oracles/junit/expected.json.
    assert_eq!(
        s["tests"]["junit_results"]["totals"],
        serde_json::json!({"tests": 55, "passed": 36, "failed": 15, "errors": 1, "skipped": 3})
    );
    assert_eq!(s["tests"]["is_compliant"], false);
    assert_eq!(s["iac"]["snyk_results"]["runs"], serde_json::json!([{"high": 4, "medium": 9, "low": 113}]));
    assert_eq!(
        (s["iac"]["snyk_results"]["tool"].as_str(), s["iac"]["is_compliant"].as_bool()),
        (Some("Snyk IaC"), Some(false))
    );
    assert_eq!(s["container"]["is_compliant"], true);

    // Must-reject inputs: exit 2, a message naming the file, nothing stored.
    let before = env.entries();
    let iso = oracles.join("junit/kosli/iso8859");
    env.verdict()
        .args([
            "attest",
            "junit",
            "--name",
            "x",
            "--flow",
            "f",
            "--trail",
            "t",
            "--results-dir",
            iso.to_str().unwrap(),
        ])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("results.xml")
                .and(predicate::str::contains("only UTF-8 encoding is supported"))
                .and(predicate::str::contains("--results-dir")),
        );
    let native = oracles.join("snyk-sarif/snyk.json");
    env.verdict()
        .args([
            "attest",
            "snyk",
            "--name",
            "x",
            "--flow",
            "f",
            "--trail",
            "t",
            "--scan-results",
            native.to_str().unwrap(),
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("snyk.json").and(predicate::str::contains("sarif-file-output")));
    let nowhere = env.dir.path().join("none");
    std::fs::create_dir(&nowhere).unwrap();
    env.verdict()
        .args([
            "attest",
            "junit",
            "--name",
            "x",
            "--flow",
            "f",
            "--trail",
            "t",
            "--results-dir",
            nowhere.to_str().unwrap(),
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no tests found"));
    env.verdict()
        .args([
            "attest",
            "sarif",
            "--name",
            "x",
            "--flow",
            "f",
            "--trail",
            "t",
            "--scan-results",
            "/no/such.sarif",
        ])
        .assert()
        .code(2);
    env.verdict()
        .args([
            "attest",
            "override",
            "--name",
            "nope",
            "--flow",
            "f",
            "--trail",
            "t",
            "--reason",
            "r",
            "--new-compliance-status",
            "true",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no attestation \"nope\" to override"));
    assert_eq!(env.entries(), before);

    // SARIF thresholds: sarif-code has 9 warnings and 25 notes, no errors.
    let code = oracles.join("snyk-sarif/sarif-code.json");
    ok(
        env,
        &[
            "attest",
            "sarif",
            "--name",
            "lint-error",
            "--flow",
            "f",
            "--trail",
            "t",
            "--scan-results",
            code.to_str().unwrap(),
        ],
    );
    ok(
        env,
        &[
            "attest",
            "sarif",
            "--name",
            "lint-warning",
            "--flow",
            "f",
            "--trail",
            "t",
            "--scan-results",
            code.to_str().unwrap(),
            "--fail-on",
            "warning",
        ],
    );
    let s = statuses(env);
    assert_eq!(
        (s["lint-error"]["is_compliant"].as_bool(), s["lint-warning"]["is_compliant"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(s["lint-error"]["sarif_results"]["runs"][0]["warning"], 9);

    // An override makes the latest attestation compliant; the original stays in the ledger.
    ok(
        env,
        &[
            "attest",
            "override",
            "--name",
            "tests",
            "--flow",
            "f",
            "--trail",
            "t",
            "--reason",
            "known flaky suite",
            "--new-compliance-status",
            "true",
        ],
    );
    let s = statuses(env);
    assert_eq!(s["tests"]["is_compliant"], true);
    assert_eq!(s["tests"]["type"], "junit");
    assert_eq!(s["tests"]["override"]["reason"], "known flaky suite");
    assert_eq!(s["tests"]["override"]["original_is_compliant"], false);
    let list = env.verdict().args(["list", "trails", "--flow", "f", "-o", "json"]).output().unwrap();
    assert!(list.status.success());

    // Custom types: the schema refuses bad data (exit 2, nothing stored), the jq rules decide compliance.
    let schema = env.write(
        "schema.json",
        br#"{"type": "object", "required": ["coverage"], "properties": {"coverage": {"type": "number"}}}"#,
    );
    ok(
        env,
        &[
            "create",
            "attestation-type",
            "coverage-metrics",
            "--schema",
            schema.to_str().unwrap(),
            "--jq",
            ".coverage >= 80",
        ],
    );
    let low = env.write("low.json", br#"{"coverage": 72.5}"#);
    let high = env.write("high.json", br#"{"coverage": 91}"#);
    let bad = env.write("bad.json", br#"{"coverage": "lots"}"#);
    let before = env.entries();
    env.verdict()
        .args([
            "attest",
            "custom",
            "--type",
            "coverage-metrics",
            "--name",
            "coverage",
            "--flow",
            "f",
            "--trail",
            "t",
            "--attestation-data",
            bad.to_str().unwrap(),
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("at /coverage"));
    env.verdict()
        .args([
            "attest",
            "custom",
            "--type",
            "nope",
            "--name",
            "coverage",
            "--flow",
            "f",
            "--trail",
            "t",
            "--attestation-data",
            low.to_str().unwrap(),
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("attestation type \"nope\" does not exist"));
    env.verdict()
        .args([
            "create",
            "attestation-type",
            "broken",
            "--schema",
            schema.to_str().unwrap(),
            "--jq",
            ".coverage >=",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("jq rule 1"));
    assert_eq!(env.entries(), before);
    env.verdict()
        .args([
            "attest",
            "custom",
            "--type",
            "coverage-metrics",
            "--name",
            "coverage",
            "--flow",
            "f",
            "--trail",
            "t",
            "--attestation-data",
            low.to_str().unwrap(),
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("rule `.coverage >= 80` returned false"));
    let s = statuses(env);
    assert_eq!(
        (s["coverage"]["type"].as_str(), s["coverage"]["is_compliant"].as_bool()),
        (Some("custom:coverage-metrics"), Some(false))
    );
    assert_eq!(s["coverage"]["attestation_data"]["coverage"], 72.5);
    ok(
        env,
        &[
            "attest",
            "custom",
            "--type",
            "coverage-metrics",
            "--name",
            "coverage",
            "--flow",
            "f",
            "--trail",
            "t",
            "--attestation-data",
            high.to_str().unwrap(),
        ],
    );
    assert_eq!(statuses(env)["coverage"]["is_compliant"], true);

    // A decision is matched by a policy's for_control.
    let fingerprint = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    ok(
        env,
        &["attest", "artifact", "--fingerprint", fingerprint, "--name", "app", "--flow", "f", "--trail", "t"],
    );
    let policy = env.write(
        "decision.yml",
        b"_schema: https://kosli.com/schemas/policy/environment/v1\nartifacts:\n  attestations:\n    - type: decision\n      for_control: RCTL-1\n",
    );
    env.verdict()
        .args(["assert", "artifact", "--fingerprint", fingerprint, "--policy"])
        .arg(&policy)
        .assert()
        .code(1);
    ok(
        env,
        &[
            "attest",
            "decision",
            "--name",
            "app.release-approval",
            "--flow",
            "f",
            "--trail",
            "t",
            "--control",
            "RCTL-1",
            "--compliant",
            "true",
        ],
    );
    env.verdict()
        .args(["assert", "artifact", "--fingerprint", fingerprint, "--policy"])
        .arg(&policy)
        .assert()
        .code(0);
    ok(
        env,
        &[
            "attest",
            "decision",
            "--name",
            "app.release-approval",
            "--flow",
            "f",
            "--trail",
            "t",
            "--control",
            "RCTL-1",
            "--compliant",
            "false",
        ],
    );
    env.verdict()
        .args(["assert", "artifact", "--fingerprint", fingerprint, "--policy"])
        .arg(&policy)
        .assert()
        .code(1);
}

on_every_backend!(typed_attestations);
