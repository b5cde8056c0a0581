//! `verdict fingerprint --artifact-type oci` and `attest artifact -t oci` against a fake registry on
//! loopback: the fingerprint is the SHA-256 of the manifest bytes served (the index for a multi-platform
//! image), a registry that lies about a digest is caught, and every failure has its exit code.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use assert_cmd::Command;
use predicates::prelude::*;
use verdict_testkit::registry::{FakeRegistry, Manifest};

const IMAGE: &[u8] = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#;
/// `printf '%s' "$IMAGE" | sha256sum`, computed outside verdict (Python hashlib).
const IMAGE_SHA: &str = "f20c43161d73848408ef247f0ec7111b19fe58ffebc0cbcaa0d2c8bda4967268";

fn verdict() -> Command {
    let mut command = Command::cargo_bin("verdict").unwrap();
    command
        .env("NO_COLOR", "1")
        .env_remove("VERDICT_REGISTRY_USERNAME")
        .env_remove("VERDICT_REGISTRY_PASSWORD");
    command
}

fn image() -> Manifest {
    Manifest::new("application/vnd.oci.image.manifest.v1+json", IMAGE)
}

#[test]
fn the_fingerprint_is_the_manifest_digest() {
    assert_eq!(image().digest(), format!("sha256:{IMAGE_SHA}"), "the golden is wrong");
    let index_body = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:{IMAGE_SHA}","size":{},"platform":{{"architecture":"amd64","os":"linux"}}}}]}}"#,
        IMAGE.len()
    );
    let index = Manifest::new("application/vnd.oci.image.index.v1+json", index_body.as_bytes());
    let index_sha = index.digest().trim_start_matches("sha256:").to_owned();
    let registry =
        FakeRegistry::start(vec![("team/app", "1.0", image()), ("team/multi", "latest", index)], None);
    let host = registry.host();
    verdict()
        .args(["fingerprint", &format!("{host}/team/app:1.0"), "--artifact-type", "oci"])
        .assert()
        .code(0)
        .stdout(format!("{IMAGE_SHA}\n"));
    // A multi-platform image is named by its index, as `docker pull` reports it.
    verdict()
        .args(["fingerprint", &format!("{host}/team/multi:latest"), "-t", "oci"])
        .assert()
        .code(0)
        .stdout(format!("{index_sha}\n"));
    // By digest.
    verdict()
        .args(["fingerprint", &format!("{host}/team/app@sha256:{IMAGE_SHA}"), "-t", "oci"])
        .assert()
        .code(0)
        .stdout(format!("{IMAGE_SHA}\n"));

    // attest artifact -t oci records that fingerprint.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("l.db").display().to_string();
    verdict().args(["--db", &db, "create", "flow", "f"]).assert().code(0);
    verdict().args(["--db", &db, "begin", "trail", "t", "--flow", "f"]).assert().code(0);
    verdict()
        .args(["--db", &db, "attest", "artifact", &format!("{host}/team/app:1.0"), "-t", "oci"])
        .args(["--name", "app", "--flow", "f", "--trail", "t"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(IMAGE_SHA));
}

#[test]
fn registry_failures_have_their_exit_codes() {
    let mut liar = image();
    liar.lie = Some(format!("sha256:{}", "0".repeat(64)));
    let registry = FakeRegistry::start(vec![("team/app", "1.0", image()), ("team/liar", "1.0", liar)], None);
    let host = registry.host();
    verdict()
        .args(["fingerprint", &format!("{host}/team/app:2.0"), "-t", "oci"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("manifest unknown"));
    verdict().args(["fingerprint", &format!("{host}/team/liar:1.0"), "-t", "oci"]).assert().code(3).stderr(
        predicate::str::contains("does not match its digest").and(predicate::str::contains(IMAGE_SHA)),
    );
    // A digest reference the served bytes do not match.
    verdict()
        .args(["fingerprint", &format!("{host}/team/app@sha256:{}", "1".repeat(64)), "-t", "oci"])
        .assert()
        .code(predicate::in_iter([2, 3]))
        .stdout("");
    verdict()
        .args(["fingerprint", "Not A Reference", "-t", "oci"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid image reference"));
    // Nothing listens on port 9 of loopback.
    verdict()
        .args(["fingerprint", "127.0.0.1:9/team/app:1.0", "-t", "oci"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("registry unavailable"));
    verdict()
        .args(["fingerprint", &format!("{host}/team/app:1.0"), "-t", "oci", "-x", "foo"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--exclude applies to --artifact-type dir only"));
}

#[test]
fn credentials_are_sent_when_given() {
    let registry = FakeRegistry::start(vec![("team/app", "1.0", image())], Some(("ci", "s3cret")));
    let reference = format!("{}/team/app:1.0", registry.host());
    verdict()
        .args([
            "fingerprint",
            &reference,
            "-t",
            "oci",
            "--registry-username",
            "ci",
            "--registry-password",
            "s3cret",
        ])
        .assert()
        .code(0)
        .stdout(format!("{IMAGE_SHA}\n"));
    verdict()
        .env("VERDICT_REGISTRY_USERNAME", "ci")
        .env("VERDICT_REGISTRY_PASSWORD", "wrong")
        .args(["fingerprint", &reference, "-t", "oci"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("refused access"));
    verdict()
        .args(["fingerprint", &reference, "-t", "oci"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("--registry-username"));
}
