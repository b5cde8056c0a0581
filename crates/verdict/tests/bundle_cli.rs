//! `verdict bundle build|inspect` through the binary: sources from a git checkout (made with the `git`
//! binary here; verdict reads it without one) and a plain directory, every policy kind validated, the
//! bundle's own tests run, reproducible bytes, and altered bundles refused.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use verdict_testkit::git::git;

fn verdict() -> Command {
    let mut command = Command::cargo_bin("verdict").unwrap();
    command.env("NO_COLOR", "1");
    command
}

fn workspace() -> PathBuf {
    verdict_testkit::workspace_root()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// `security`: a git checkout (remote `origin`) whose `policies/` holds an environment policy, an image
/// policy and a Rego policy with its tests. `platform`: a plain directory with a Kyverno policy and its
/// `kyverno test` suite from the oracle.
fn sources(root: &Path) -> (PathBuf, PathBuf, String) {
    let repo = root.join("security-repo");
    let security = repo.join("policies");
    std::fs::create_dir_all(&security).unwrap();
    std::fs::copy(workspace().join("examples/policy.yml"), security.join("release-gate.yml")).unwrap();
    std::fs::copy(workspace().join("examples/image-policy.yml"), security.join("images.yml")).unwrap();
    copy_dir(&workspace().join("examples/rego/pull-request"), &security.join("pull-request"));
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["remote", "add", "origin", "https://git.example/acme/security-policy.git"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "policies"]);
    let commit = git(&repo, &["rev-parse", "HEAD"]);
    let platform = root.join("platform");
    copy_dir(
        &verdict_testkit::oracles().join("kyverno-policies/best-practices/require-drop-all"),
        &platform.join("require-drop-all"),
    );
    (security, platform, commit)
}

fn build(security: &Path, platform: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    verdict()
        .args(["bundle", "build", "--format", "json", "-o", out.to_str().unwrap()])
        .arg("--source")
        .arg(format!("security={}", security.display()))
        .arg("--source")
        .arg(format!("platform={}", platform.display()))
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn bundles_are_validated_tested_and_reproducible() {
    let root = tempfile::tempdir().unwrap();
    let (security, platform, commit) = sources(root.path());
    let first = root.path().join("first.tar");
    let output = build(&security, &platform, &first, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["tests_passed"], 6, "4 Rego tests and 2 kyverno test rows: {report}");
    let manifest = &report["manifest"];
    let by_name = |name: &str| {
        manifest["sources"].as_array().unwrap().iter().find(|s| s["name"] == name).unwrap().clone()
    };
    let security_entry = by_name("security");
    assert_eq!(security_entry["origin"]["type"], "git");
    assert_eq!(security_entry["origin"]["url"], "https://git.example/acme/security-policy.git");
    assert_eq!(security_entry["origin"]["commit"], commit.as_str());
    assert_eq!(security_entry["origin"]["path"], "policies");
    let kinds: Vec<(String, String)> = security_entry["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["path"].as_str().unwrap().to_owned(), f["kind"].as_str().unwrap().to_owned()))
        .collect();
    assert!(kinds.contains(&("release-gate.yml".into(), "environment-policy".into())), "{kinds:?}");
    assert!(kinds.contains(&("images.yml".into(), "image-policy".into())), "{kinds:?}");
    assert!(kinds.contains(&("pull-request/pull-request_test.rego".into(), "rego-test".into())), "{kinds:?}");
    assert_eq!(by_name("platform")["origin"]["type"], "directory");

    // The same inputs, the same bytes (so the same digest).
    let second = root.path().join("second.tar");
    assert_eq!(build(&security, &platform, &second, &[]).status.code(), Some(0));
    assert_eq!(std::fs::read(&first).unwrap(), std::fs::read(&second).unwrap());
    let digest = report["digest"].as_str().unwrap().to_owned();

    // inspect checks the files and lists them.
    verdict()
        .args(["bundle", "inspect", first.to_str().unwrap()])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(format!("({digest}): every file matches its manifest")))
        .stdout(predicate::str::contains(
            "security: git https://git.example/acme/security-policy.git /policies at",
        ))
        .stdout(predicate::str::contains("platform/require-drop-all/.kyverno-test/kyverno-test.yaml"));
    let inspected: Value = serde_json::from_slice(
        &verdict()
            .args(["bundle", "inspect", first.to_str().unwrap(), "--format", "json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(inspected["digest"], digest.as_str());
    assert_eq!(inspected["manifest"], *manifest);

    // One byte of a policy changed inside the archive: refused (exit 1), as a decision not to use it.
    let mut bytes = std::fs::read(&first).unwrap();
    let at = bytes.windows(14).position(|w| w == b"package policy").expect("a Rego module in the tar");
    bytes[at + 8] = b'P';
    let altered = root.path().join("altered.tar");
    std::fs::write(&altered, &bytes).unwrap();
    verdict()
        .args(["bundle", "inspect", altered.to_str().unwrap()])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("the bundle was altered"));
    let junk = root.path().join("junk.tar");
    std::fs::write(&junk, b"not a bundle").unwrap();
    verdict()
        .args(["bundle", "inspect", junk.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a usable policy bundle"));
}

#[test]
fn broken_policies_and_failing_tests_refuse_the_bundle() {
    let root = tempfile::tempdir().unwrap();
    let (security, platform, _) = sources(root.path());
    // Three broken policies of three kinds: every one is listed with its position; no file is written.
    std::fs::write(
        security.join("broken-gate.yml"),
        "_schema: https://kosli.com/schemas/policy/environment/v1\nartifacts:\n  bogus: 1\n",
    )
    .unwrap();
    std::fs::write(security.join("broken.rego"), "package broken\n\nallow if {\n  input.a ==\n}\n").unwrap();
    std::fs::write(
        platform.join("broken-kyverno.yaml"),
        "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: x\nspec:\n  rules: 7\n",
    )
    .unwrap();
    let out = root.path().join("bundle.tar");
    let output = build(&security, &platform, &out, &[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("broken-gate.yml:3:3: unknown key `bogus`"), "{stderr}");
    assert!(stderr.contains("broken.rego:5:1:"), "{stderr}");
    assert!(stderr.contains("broken-kyverno.yaml:6:"), "{stderr}");
    assert!(stderr.contains("3 problem(s) in the sources"), "{stderr}");
    assert!(!out.exists());
    for broken in ["broken-gate.yml", "broken.rego"] {
        std::fs::remove_file(security.join(broken)).unwrap();
    }
    std::fs::remove_file(platform.join("broken-kyverno.yaml")).unwrap();

    // A failing Rego test: exit 1, nothing written; --skip-tests builds anyway.
    std::fs::write(
        security.join("pull-request/extra_test.rego"),
        "package policy_test\n\nimport rego.v1\n\ntest_always_fails if {\n  1 == 2\n}\n",
    )
    .unwrap();
    let output = build(&security, &platform, &out, &[]);
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stderr).contains("test_always_fails"));
    assert!(!out.exists());
    let output = build(&security, &platform, &out, &["--skip-tests"]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(out.exists());
}

#[test]
fn bad_sources_are_usage_errors() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().to_str().unwrap();
    let out = root.path().join("b.tar");
    let out = out.to_str().unwrap();
    for (sources, message) in [
        (vec!["Security=.".to_owned()], "source name \"Security\""),
        (vec!["a=/nonexistent/dir".to_owned()], "source directory /nonexistent/dir"),
        (vec![format!("a={dir}"), format!("a={dir}")], "given twice"),
        (vec!["no-equals-sign".to_owned()], "is not NAME=DIR"),
    ] {
        let mut command = verdict();
        command.args(["bundle", "build", "-o", out]);
        for source in &sources {
            command.args(["--source", source]);
        }
        command.assert().code(2).stderr(predicate::str::contains(message));
    }
}
