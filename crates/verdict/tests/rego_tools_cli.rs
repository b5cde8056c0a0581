//! End-to-end tests of `verdict policy lint` and `verdict policy test`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn verdict() -> Command {
    let mut command = Command::cargo_bin("verdict").unwrap();
    command.env("NO_COLOR", "1").env_remove("VERDICT_LOG");
    command
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn lint_passes_the_example_and_fails_the_trap() {
    let example = workspace().join("examples/rego/pull-request/pull-request.rego");
    verdict()
        .arg("policy")
        .arg("lint")
        .arg(&example)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("0 errors, 0 warnings in 1 file"));
    let dir = tempfile::tempdir().unwrap();
    let bad = write(
        &dir,
        "bad.rego",
        "package policy\nallow if {\n\tcount(violations) == 0\n}\nviolations contains \"x\" if { input.bad }\n",
    );
    verdict()
        .args(["policy", "lint", &bad])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(format!("{bad}:3:2: error[allow-from-absence]")))
        .stdout(predicate::str::contains(format!("{bad}:2:1: warning[no-default-allow]")))
        .stdout(predicate::str::contains("hint:"));
}

#[test]
fn lint_json_and_warning_only_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    let warn = write(&dir, "warn.rego", "package policy\nallow if { input.ok }\n");
    let output = verdict().args(["policy", "lint", "-o", "json", &warn]).output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!((json["errors"].as_u64(), json["warnings"].as_u64()), (Some(0), Some(1)));
    assert_eq!(json["findings"][0]["check"], "no-default-allow");
    assert_eq!(json["findings"][0]["line"], 2);
}

#[test]
fn lint_missing_file_is_invalid_input() {
    verdict()
        .args(["policy", "lint", "/nonexistent.rego"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read /nonexistent.rego"));
}

#[test]
fn test_runs_the_example_suite() {
    verdict()
        .arg("policy")
        .arg("test")
        .arg(workspace().join("examples/rego/pull-request"))
        .assert()
        .code(0)
        .stdout(predicate::str::contains("PASS data.policy_test.test_denies_self_approval"))
        .stdout(predicate::str::contains("4 passed, 0 failed"));
}

const POLICY: &str = "package policy\ndefault allow := false\nallow if { input.score >= data.params.min }\n";

#[test]
fn test_reports_failures_and_errors_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir, "policy.rego", POLICY);
    write(
        &dir,
        "policy_test.rego",
        "package policy_test\nimport data.policy\n\
         test_pass if { policy.allow with input as {\"score\": 5} with data.params as {\"min\": 3} }\n\
         test_fail if { policy.allow with input as {\"score\": 1} with data.params as {\"min\": 3} }\n\
         test_error if { to_number(\"abc\") > 0 }\n",
    );
    let output = verdict().arg("policy").arg("test").arg(dir.path()).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("PASS data.policy_test.test_pass"), "{stdout}");
    assert!(stdout.contains("FAIL data.policy_test.test_fail"), "{stdout}");
    assert!(stdout.contains("ERROR data.policy_test.test_error"), "{stdout}");
    assert!(stdout.contains("1 passed, 2 failed"), "{stdout}");

    let output = verdict()
        .args(["policy", "test", "-o", "json", "--run", "test_pass$"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!((json["passed"].as_u64(), json["failed"].as_u64()), (Some(1), Some(0)));
    assert_eq!(json["tests"][0]["outcome"], "PASS");
}

#[test]
fn test_without_tests_or_with_a_broken_file_is_invalid_input() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir, "policy.rego", POLICY);
    verdict()
        .arg("policy")
        .arg("test")
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no tests found"));
    write(&dir, "broken_test.rego", "package t\ntest_x if {{{\n");
    verdict()
        .arg("policy")
        .arg("test")
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("broken_test.rego:"));
}
