//! The first hour with verdict, through the binary: how it behaves in pipes, in help, and when a
//! newcomer's input is slightly off (issue 16's friction items).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const POLICY: &str = r#"apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: disallow-latest
spec:
  validationFailureAction: Audit
  rules:
    - name: no-latest
      match:
        any:
          - resources:
              kinds: [Pod]
      validate:
        message: "latest tag"
        pattern:
          spec:
            containers:
              - image: "!*:latest"
"#;

/// `verdict apply … -o json | head -1`: the reader goes away after one line while verdict still has
/// hundreds of kilobytes to write (far more than a pipe buffers); verdict ends quietly with exit 0.
#[test]
fn a_closed_stdout_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("policy.yaml"), POLICY).unwrap();
    let pods: String = (0..3000)
        .map(|i| {
            format!(
                "apiVersion: v1\nkind: Pod\nmetadata: {{name: pod-{i}, namespace: shop}}\nspec:\n  containers: [{{name: c, image: \"nginx:latest\"}}]\n---\n"
            )
        })
        .collect();
    std::fs::write(dir.path().join("pods.yaml"), pods).unwrap();

    let mut child = Command::new(assert_cmd::cargo::cargo_bin("verdict"))
        .args(["apply", "policy.yaml", "--resource", "pods.yaml", "-o", "json"])
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    assert_eq!(first.trim(), "{");
    // The reader is dropped here: stdout is closed under verdict's feet.
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "stderr: {stderr}");
    assert!(!stderr.contains("Broken pipe"), "stderr: {stderr}");
    assert!(stderr.trim().is_empty(), "stderr: {stderr}");
}
