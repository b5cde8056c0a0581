//! End-to-end tests of `verdict policy validate` and `verdict policy eval`: the real binary, real files,
//! exit codes 0/1/2 and both output formats.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn example(name: &str) -> String {
    workspace().join("examples").join(name).display().to_string()
}

fn verdict() -> Command {
    let mut command = Command::cargo_bin("verdict").unwrap();
    command.env_remove("VERDICT_LOG").env("NO_COLOR", "1");
    command
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

const HEADER: &str = "_schema: https://kosli.com/schemas/policy/environment/v1\n";
const FP: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

#[test]
fn validate_accepts_the_example_policy() {
    verdict()
        .args(["policy", "validate", &example("policy.yml")])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("ok: "))
        .stdout(predicate::str::contains(
            "provenance required, trail-compliance required, 3 attestation rules",
        ));
}

#[test]
fn validate_reports_every_error_with_file_line_and_column_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(&dir, "good.yml", HEADER);
    let bad = write(
        &dir,
        "bad.yml",
        &format!("{HEADER}artifacts:\n  provenance:\n    required: yes\n  attestations:\n    - type: snik\n"),
    );
    let assert = verdict().args(["policy", "validate", &good, &bad]).assert().code(2);
    let output = assert.get_output();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("{bad}:4:15")), "{stderr}");
    assert!(stderr.contains(&format!("{bad}:6:13")), "{stderr}");
    assert!(stderr.contains("unknown attestation type `snik`"), "{stderr}");
    assert!(stderr.contains("1 of 2 policy files is invalid"), "{stderr}");
    assert!(String::from_utf8_lossy(&output.stdout).contains(&format!("ok: {good}")));
}

#[test]
fn validate_missing_file_is_invalid_input() {
    verdict()
        .args(["policy", "validate", "/nonexistent/policy.yml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read policy file /nonexistent/policy.yml: No such file"))
        // The file has no position to point at: no made-up `:1:1`.
        .stderr(predicate::str::contains("-->").not())
        .stderr(predicate::str::contains(":1:1").not());
    let output =
        verdict().args(["policy", "validate", "/nonexistent/policy.yml", "-o", "json"]).output().unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["files"][0]["errors"][0]["line"], 0, "{report}");
}

/// Every error at once, whichever phase finds it: a schema error and an expression error come in one run,
/// in file order; YAML syntax errors get a hint about what usually causes them.
#[test]
fn validate_reports_every_phase_at_once_with_fitting_hints() {
    let dir = tempfile::tempdir().unwrap();
    let both = write(
        &dir,
        "both.yml",
        &format!(
            "{HEADER}artifacts:\n  attestations:\n    - name: x\n      type: generic\n      if: ${{{{ flow.name == }}}}\n  bogus: 1\n"
        ),
    );
    let output = verdict().args(["policy", "validate", &both]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let expression = stderr.find("expected a value, found the end of the expression").expect(&stderr);
    let schema = stderr.find("unknown key `bogus`").expect(&stderr);
    assert!(expression < schema, "in file order: {stderr}");

    let cases = [
        ("tabs.yml", format!("{HEADER}artifacts:\n  provenance:\n\trequired: true\n"), "indent with spaces"),
        (
            "indent.yml",
            format!(
                "{HEADER}artifacts:\n  provenance:\n    required: true\n   trail-compliance:\n    required: true\n"
            ),
            "check the indentation",
        ),
        ("quote.yml", format!("{HEADER}artifacts:\n  attestations:\n    - name: a: b\n"), "must be quoted"),
    ];
    for (name, text, hint) in cases {
        let path = write(&dir, name, &text);
        let output = verdict().args(["policy", "validate", &path]).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{name}");
        let hint_line = stderr.lines().find(|line| line.contains("= hint:")).unwrap_or_default();
        assert!(hint_line.contains(hint), "{name}: {stderr}");
        if hint != "must be quoted" {
            assert!(!stderr.contains("must be quoted"), "{name}: not a quoting problem: {stderr}");
        }
    }
}

#[test]
fn validate_warns_without_failing() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "p.yml", &format!("{HEADER}artifacts:\n  attestations:\n    - type: junit\n"));
    verdict().args(["policy", "validate", &path]).assert().code(0).stderr(predicate::str::contains(
        "warning: this policy has attestation or trail-compliance rules but does not require provenance",
    ));
}

#[test]
fn validate_json_output() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(&dir, "bad.yml", "_schema: v2\n");
    let output =
        verdict().args(["policy", "validate", "-o", "json", &example("policy.yml"), &bad]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["valid"], false);
    assert_eq!(json["files"][0]["valid"], true);
    assert_eq!(json["files"][1]["valid"], false);
    let error = &json["files"][1]["errors"][0];
    assert_eq!((error["line"].as_u64(), error["column"].as_u64()), (Some(1), Some(10)));
    assert_eq!(error["severity"], "error");
    assert!(error["hint"].as_str().unwrap().contains("/v1"));
}

fn eval_json(args: &[&str]) -> (i32, Value) {
    let output = verdict().args(["policy", "eval", "-o", "json"]).args(args).output().unwrap();
    let json = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stderr)));
    (output.status.code().unwrap(), json)
}

#[test]
fn eval_example_denies_with_exit_1_and_names_every_failure() {
    let (code, json) =
        eval_json(&["--policy", &example("policy.yml"), "--evidence", &example("evidence.json")]);
    assert_eq!(code, 1);
    assert_eq!(json["compliant"], false);
    let verdicts: Vec<(&str, bool)> = json["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["name"].as_str().unwrap(), a["compliant"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        verdicts,
        [
            ("backend", true),
            ("frontend", false),
            ("checkout", false),
            ("datadog:agent-7.52", true),
            ("nginx:1.25", false)
        ]
    );
    let nginx = &json["artifacts"][4];
    assert_eq!(nginx["policy_decisions"][0]["policy_name"], "policy");
    assert_eq!(nginx["policy_decisions"][0]["status"], "NON-COMPLIANT");
    let rule = &nginx["policy_decisions"][0]["rule_evaluations"][0];
    assert_eq!(rule["rule"]["type"], "provenance");
    assert_eq!(rule["resolutions"][0]["type"], "no_provenance");
    assert_eq!(rule["resolutions"][0]["context"], Value::Null);
}

#[test]
fn eval_example_json_matches_the_reviewed_golden() {
    let output = verdict()
        .current_dir(workspace())
        .args([
            "policy",
            "eval",
            "-o",
            "json",
            "--policy",
            "examples/policy.yml",
            "--evidence",
            "examples/evidence.json",
        ])
        .output()
        .unwrap();
    insta::assert_snapshot!(String::from_utf8(output.stdout).unwrap());
}

#[test]
fn eval_table_lists_artifacts_reasons_and_summary() {
    verdict()
        .args(["policy", "eval", "--policy", &example("policy.yml"), "--evidence", &example("evidence.json")])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("ARTIFACT"))
        .stdout(predicate::str::contains("nginx:1.25"))
        .stdout(predicate::str::contains("the artifact was never reported in any flow or trail"))
        .stdout(predicate::str::contains("in flow checkout-ci trail 9f8e7d"))
        .stdout(predicate::str::contains("NON-COMPLIANT: 2 of 5 artifacts compliant with 1 policy (policy)"));
}

#[test]
fn eval_all_compliant_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(&dir, "prov.yml", &format!("{HEADER}artifacts:\n  provenance:\n    required: true\n"));
    let evidence = write(
        &dir,
        "e.json",
        &format!(
            r#"{{"artifacts":[{{"name":"a","fingerprint":"{FP}","contexts":[{{"flow":{{"name":"f"}},"trail":{{"name":"t"}},"artifact_status":"INCOMPLETE"}}]}}]}}"#
        ),
    );
    verdict()
        .args(["policy", "eval", "--policy", &policy, "--evidence", &evidence])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("COMPLIANT: 1 of 1 artifacts compliant with 1 policy (prov)"));
}

#[test]
fn eval_several_policies_are_anded() {
    let dir = tempfile::tempdir().unwrap();
    let empty = write(&dir, "empty.yml", HEADER);
    let (code, json) = eval_json(&["--policy", &empty, "--evidence", &example("evidence.json")]);
    assert_eq!((code, &json["compliant"]), (0, &Value::Bool(true)));
    let (code, json) = eval_json(&[
        "--policy",
        &empty,
        "--policy",
        &example("policy.yml"),
        "--evidence",
        &example("evidence.json"),
    ]);
    assert_eq!(code, 1);
    let names: Vec<&str> = json["artifacts"][0]["policy_decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["policy_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["empty", "policy"]);
}

#[test]
fn eval_reads_evidence_from_stdin() {
    let evidence = std::fs::read(example("evidence.json")).unwrap();
    verdict()
        .args(["policy", "eval", "--policy", &example("policy.yml"), "--evidence", "-"])
        .write_stdin(evidence)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("2 of 5 artifacts compliant"));
}

#[test]
fn eval_invalid_policy_is_exit_2_and_evaluates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(
        &dir,
        "bad.yml",
        &format!(
            "{HEADER}artifacts:\n  provenance:\n    exceptions:\n      - if: ${{{{ exist(flow.name) }}}}\n"
        ),
    );
    verdict()
        .args(["policy", "eval", "--policy", &bad, "--evidence", &example("evidence.json")])
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains(format!("{bad}:5:17")))
        .stderr(predicate::str::contains("did you mean `exists`?"))
        .stderr(predicate::str::contains("1 policy file is invalid: nothing was evaluated"));
}

#[test]
fn eval_invalid_evidence_names_file_line_column_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "{\"artifacts\": [\n {\"name\": \"a\", \"fingerprint\": \"xyz\"}]}",
            ":2:",
            "artifacts[0].fingerprint",
        ),
        ("{\"artifacts\": [}", ":1:", "expected value"),
        ("{\"artefacts\": []}", ":1:", "unknown field `artefacts`"),
        ("", ":1:", "EOF"),
    ];
    for (text, position, message) in cases {
        let path = write(&dir, "e.json", text);
        verdict()
            .args(["policy", "eval", "--policy", &example("policy.yml"), "--evidence", &path])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!("{path}{position}")))
            .stderr(predicate::str::contains(message));
    }
}

#[test]
fn usage_errors_exit_2() {
    verdict()
        .args(["policy", "eval", "--evidence", "x.json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--policy"));
    verdict()
        .args(["policy", "eval", "--policy", "p.yml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--evidence"));
    verdict().args(["policy", "validate"]).assert().code(2);
    verdict().args(["policy", "frobnicate"]).assert().code(2);
    verdict().args(["policy", "eval", "-o", "yaml", "--policy", "p", "--evidence", "e"]).assert().code(2);
    verdict().args(["--version"]).assert().code(0).stdout(predicate::str::contains("verdict"));
}

#[test]
fn missing_evidence_file_is_invalid_input() {
    verdict()
        .args(["policy", "eval", "--policy", &example("policy.yml"), "--evidence", "/nonexistent.json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read evidence file /nonexistent.json"));
}
