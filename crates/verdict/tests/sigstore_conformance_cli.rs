//! `verdict verify bundle` against every case in `../shared/oracles/sigstore-conformance/`, run as its
//! PROTOCOL.md says: each case twice, once with the artifact path and once with `sha256:<hex>`, and each
//! must give its expected outcome (exit 0 for pass, non-zero for `_fail`). Cases that cannot pass are
//! listed in docs/sigstore-conformance.md; the list below must match it exactly.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use assert_cmd::Command;
use serde_json::Value;

/// Cases verdict does not get right, with the reason in docs/sigstore-conformance.md.
const KNOWN_GAPS: &[&str] = &[];

#[test]
fn every_conformance_case_gives_its_expected_outcome() {
    let root = verdict_testkit::oracles().join("sigstore-conformance");
    let cases: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("cases.json")).unwrap()).unwrap();
    let mut wrong = Vec::new();
    let mut runs = 0;
    for case in cases["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let expect_pass = case["expect"] == "pass";
        for subject in [
            root.join(case["artifact"].as_str().unwrap()).display().to_string(),
            case["artifact_digest"].as_str().unwrap().to_owned(),
        ] {
            let mut command = Command::cargo_bin("verdict").unwrap();
            command.current_dir(&root).args([
                "verify",
                "bundle",
                "--bundle",
                case["bundle"].as_str().unwrap(),
            ]);
            match case.get("key").and_then(Value::as_str) {
                Some(key) => command.args(["--key", key]),
                None => command.args([
                    "--certificate-identity",
                    case["identity"].as_str().unwrap(),
                    "--certificate-oidc-issuer",
                    case["issuer"].as_str().unwrap(),
                ]),
            };
            if let Some(trusted_root) = case.get("trusted_root").and_then(Value::as_str) {
                command.args(["--trusted-root", trusted_root]);
            }
            let output = command.arg(&subject).output().unwrap();
            runs += 1;
            let code = output.status.code();
            // A failure is exit 1 (not verified), or 2 when the trust material the caller gave is itself
            // invalid (a configuration error); never 0, never a crash.
            let ok = if expect_pass { code == Some(0) } else { matches!(code, Some(1 | 2)) };
            if !ok {
                wrong.push(format!(
                    "{name} ({}) expected {} got {code:?}: {}{}",
                    if subject.starts_with("sha256:") { "digest" } else { "path" },
                    case["expect"],
                    String::from_utf8_lossy(&output.stdout).trim(),
                    String::from_utf8_lossy(&output.stderr).trim()
                ));
            }
        }
    }
    assert_eq!(runs, 76);
    let unexpected: Vec<&String> =
        wrong.iter().filter(|w| !KNOWN_GAPS.iter().any(|g| w.starts_with(&format!("{g} (")))).collect();
    assert!(
        unexpected.is_empty(),
        "{} of 76 runs wrong:\n{}",
        unexpected.len(),
        unexpected.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n")
    );
}

const CASE: &str = "bundle-verify/bundle-with-sct-with-extensions";
const IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const ISSUER: &str = "https://token.actions.githubusercontent.com";

fn verify(args: &[&str]) -> assert_cmd::assert::Assert {
    let root = verdict_testkit::oracles().join("sigstore-conformance");
    Command::cargo_bin("verdict")
        .unwrap()
        .current_dir(&root)
        .env("NO_COLOR", "1")
        .args([
            "verify",
            "bundle",
            "--bundle",
            &format!("{CASE}/bundle.sigstore.json"),
            "--trusted-root",
            &format!("{CASE}/trusted_root.json"),
        ])
        .args(args)
        .arg("bundle-verify/a.txt")
        .assert()
}

#[test]
fn identities_exact_or_by_regex() {
    use predicates::prelude::*;
    verify(&["--certificate-identity", IDENTITY, "--certificate-oidc-issuer", ISSUER])
        .code(0)
        .stdout(predicates::str::contains("VERIFIED").and(predicates::str::contains(ISSUER)));
    // Anchored regexes.
    verify(&[
        "--certificate-identity-regexp",
        "^https://github\\.com/sigstore-conformance/.*@refs/heads/main$",
        "--certificate-oidc-issuer-regexp",
        "^https://token\\.actions\\.githubusercontent\\.com$",
    ])
    .code(0);
    // The unanchored pitfall: it matches (cosign semantics) and verdict warns.
    verify(&["--certificate-identity-regexp", "sigstore-conformance", "--certificate-oidc-issuer", ISSUER])
        .code(0)
        .stderr(predicates::str::contains("not anchored"));
    // Wrong identity or issuer: not verified, with the reason; JSON for scripts.
    verify(&["--certificate-identity", "https://github.com/evil/repo", "--certificate-oidc-issuer", ISSUER])
        .code(1)
        .stdout(predicates::str::contains("does not match"));
    verify(&[
        "--certificate-identity",
        IDENTITY,
        "--certificate-oidc-issuer",
        "https://accounts.google.com",
        "-o",
        "json",
    ])
    .code(1)
    .stdout(predicates::str::contains("\"verified\": false").and(predicates::str::contains("OIDC issuer")));
    verify(&[
        "--certificate-identity-regexp",
        "^https://github\\.com/evil/",
        "--certificate-oidc-issuer",
        ISSUER,
    ])
    .code(1);
    // Usage: no signer, a bad regex, a key that is not a key.
    verify(&[]).code(2);
    verify(&["--certificate-identity-regexp", "(", "--certificate-oidc-issuer", ISSUER])
        .code(2)
        .stderr(predicates::str::contains("invalid regular expression"));
    verify(&["--key", "bundle-verify/a.txt"])
        .code(2)
        .stderr(predicates::str::contains("not a PEM public key"));
}

#[test]
fn bench_bundle_reports_what_it_measured() {
    let root = verdict_testkit::oracles().join("sigstore-conformance");
    let output = Command::cargo_bin("verdict")
        .unwrap()
        .current_dir(&root)
        .args([
            "bench",
            "bundle",
            "--bundle",
            &format!("{CASE}/bundle.sigstore.json"),
            "--trusted-root",
            &format!("{CASE}/trusted_root.json"),
        ])
        .args([
            "--certificate-identity",
            IDENTITY,
            "--certificate-oidc-issuer",
            ISSUER,
            "--iterations",
            "5",
            "bundle-verify/a.txt",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let stats: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(stats["iterations"], 5);
    assert!(stats["median_us"].as_f64().unwrap() > 0.0);
    // A bundle that does not verify is not benchmarked.
    Command::cargo_bin("verdict")
        .unwrap()
        .current_dir(&root)
        .args([
            "bench",
            "bundle",
            "--bundle",
            &format!("{CASE}/bundle.sigstore.json"),
            "--trusted-root",
            &format!("{CASE}/trusted_root.json"),
        ])
        .args([
            "--certificate-identity",
            "someone-else",
            "--certificate-oidc-issuer",
            ISSUER,
            "--iterations",
            "5",
            "bundle-verify/a.txt",
        ])
        .assert()
        .code(2);
}

/// `verify bundle --key K --insecure-ignore-tlog`: a key-signed bundle that was never logged verifies
/// only with the flag; the flag needs `--key` (keyless always needs the log) and still checks the key.
#[test]
fn insecure_ignore_tlog_accepts_an_unlogged_key_signature_only() {
    use verdict_testkit::sigstore::{Options, SigningKey, TestSigstore};
    let sigstore = TestSigstore::new();
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate();
    let artifact = dir.path().join("artifact.txt");
    std::fs::write(&artifact, b"air-gapped").unwrap();
    let bundle =
        sigstore.sign_blob(&key, b"air-gapped", None, &Options { omit_tlog: true, ..Options::default() });
    std::fs::write(dir.path().join("bundle.json"), bundle.to_string()).unwrap();
    std::fs::write(dir.path().join("key.pem"), key.public_pem()).unwrap();
    std::fs::write(dir.path().join("other.pem"), SigningKey::generate().public_pem()).unwrap();
    std::fs::write(dir.path().join("root.json"), sigstore.trusted_root()).unwrap();
    let run = |extra: &[&str]| {
        Command::cargo_bin("verdict")
            .unwrap()
            .current_dir(dir.path())
            .args(["verify", "bundle", "--bundle", "bundle.json", "--trusted-root", "root.json"])
            .args(extra)
            .arg("artifact.txt")
            .assert()
    };
    run(&["--key", "key.pem"]).code(1).stdout(predicates::str::contains("no transparency-log entry"));
    run(&["--key", "key.pem", "--insecure-ignore-tlog"]).code(0);
    run(&["--key", "other.pem", "--insecure-ignore-tlog"]).code(1);
    run(&["--certificate-identity", IDENTITY, "--certificate-oidc-issuer", ISSUER, "--insecure-ignore-tlog"])
        .code(2)
        .stderr(predicates::str::contains("--key"));
}
