//! `verdict bundle push|pull|inspect oci://` against Debian's real `docker-registry` (started on loopback)
//! and the in-process fake registry for the faults a real one will not produce: an altered layer, a
//! manifest that is not a bundle, a failing or absent registry. Nothing unchecked is ever unpacked.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use verdict_testkit::docker_registry::DockerRegistry;
use verdict_testkit::registry::{FakeRegistry, Fault, Manifest};

fn verdict() -> Command {
    let mut command = Command::cargo_bin("verdict").unwrap();
    command
        .env("NO_COLOR", "1")
        .env_remove("VERDICT_REGISTRY_USERNAME")
        .env_remove("VERDICT_REGISTRY_PASSWORD");
    command
}

/// A bundle of the example environment policy, built by the binary.
fn bundle(dir: &Path) -> std::path::PathBuf {
    let source = dir.join("security");
    std::fs::create_dir_all(&source).unwrap();
    std::fs::copy(verdict_testkit::workspace_root().join("examples/policy.yml"), source.join("gate.yml"))
        .unwrap();
    let file = dir.join("bundle.tar");
    verdict()
        .args(["bundle", "build", "-o", file.to_str().unwrap()])
        .arg("--source")
        .arg(format!("security={}", source.display()))
        .assert()
        .code(0);
    file
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

#[test]
fn round_trip_through_a_real_registry() {
    let Some(registry) = DockerRegistry::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let file = bundle(dir.path());
    let reference = format!("{}/acme/policies:v1", registry.host());
    let output = verdict()
        .args(["bundle", "push", file.to_str().unwrap(), &reference, "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let pushed: Value = serde_json::from_slice(&output.stdout).unwrap();
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(pushed["bundle_digest"], sha256(&bytes).as_str());
    let pinned = pushed["pinned"].as_str().unwrap().to_owned();
    assert!(pinned.starts_with(&format!("{}/acme/policies@sha256:", registry.host())), "{pinned}");

    // Pulled by tag and by digest: the same bytes, unpacked file by file.
    let out = dir.path().join("unpacked");
    let saved = dir.path().join("pulled.tar");
    verdict()
        .args([
            "bundle",
            "pull",
            &format!("oci://{reference}"),
            "-o",
            out.to_str().unwrap(),
            "--file",
            saved.to_str().unwrap(),
            "--insecure-unsigned",
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("every file matches its manifest"));
    assert_eq!(std::fs::read(&saved).unwrap(), bytes);
    assert_eq!(
        std::fs::read(out.join("security/gate.yml")).unwrap(),
        std::fs::read(verdict_testkit::workspace_root().join("examples/policy.yml")).unwrap()
    );
    let manifest: Value = serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["sources"][0]["name"], "security");
    let by_digest: Value = serde_json::from_slice(
        &verdict()
            .args([
                "bundle",
                "pull",
                &pinned,
                "--file",
                saved.to_str().unwrap(),
                "--format",
                "json",
                "--insecure-unsigned",
            ])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(by_digest["manifest_digest"], pushed["manifest_digest"]);
    verdict().args(["bundle", "inspect", &format!("oci://{pinned}")]).assert().code(0);
    // Unpacking over something else is refused.
    verdict()
        .args(["bundle", "pull", &reference, "-o", out.to_str().unwrap(), "--insecure-unsigned"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is not empty"));
    // A digest the registry does not have, or a tag never pushed: exit 2.
    let wrong = format!("{}/acme/policies@sha256:{}", registry.host(), "0".repeat(64));
    verdict()
        .args(["bundle", "pull", &wrong, "--file", saved.to_str().unwrap(), "--insecure-unsigned"])
        .assert()
        .code(2);
    verdict()
        .args([
            "bundle",
            "pull",
            &format!("{}/acme/policies:nope", registry.host()),
            "--file",
            saved.to_str().unwrap(),
            "--insecure-unsigned",
        ])
        .assert()
        .code(2);
}

/// An OCI artifact manifest for `layer`, as `bundle push` writes it.
fn artifact(layer: &[u8], layer_digest: &str, layer_media_type: &str) -> Manifest {
    let body = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/vnd.verdict.bundle.v1",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": sha256(b"{}"), "size": 2},
        "layers": [{"mediaType": layer_media_type, "digest": layer_digest, "size": layer.len()}]
    });
    Manifest::new("application/vnd.oci.image.manifest.v1+json", body.to_string().as_bytes())
}

#[test]
fn what_does_not_verify_is_never_used() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(bundle(dir.path())).unwrap();
    let registry = FakeRegistry::empty(None, false);
    let digest = registry.put_blob("acme/policies", &bytes);
    registry.put_blob("acme/policies", b"{}");
    registry.put_manifest(
        "acme/policies",
        Some("good"),
        artifact(&bytes, &digest, "application/vnd.verdict.bundle.layer.v1.tar"),
    );
    let out = |name: &str| dir.path().join(name).display().to_string();
    // `bundle pull REFERENCE -o DIR/OUT --insecure-unsigned`.
    let pull = |reference: String, into: &str| {
        verdict().args(["bundle", "pull", &reference, "-o", &out(into), "--insecure-unsigned"]).assert()
    };
    pull(format!("{}/acme/policies:good", registry.host()), "good").code(0);

    // The layer's bytes were altered on the way: refused (exit 1), nothing unpacked.
    let mut altered = bytes.clone();
    let at = altered.windows(8).position(|w| w == b"required").unwrap();
    altered[at] = b'R';
    let claimed = sha256(b"the digest the manifest names");
    registry.put_blob_as("acme/policies", &claimed, &altered);
    registry.put_manifest(
        "acme/policies",
        Some("altered"),
        artifact(&altered, &claimed, "application/vnd.verdict.bundle.layer.v1.tar"),
    );
    pull(format!("{}/acme/policies:altered", registry.host()), "altered").code(1);
    assert!(!Path::new(&out("altered")).exists());

    // An image that is not a bundle: exit 2.
    registry.put_manifest(
        "acme/policies",
        Some("image"),
        artifact(&bytes, &digest, "application/vnd.oci.image.layer.v1.tar+gzip"),
    );
    pull(format!("{}/acme/policies:image", registry.host()), "image")
        .code(2)
        .stderr(predicate::str::contains("is not a verdict policy bundle"));

    // The registry fails, or is not there: exit 3, never a fallback.
    registry.set_fault(Fault::ServerError);
    pull(format!("{}/acme/policies:good", registry.host()), "down").code(3);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    pull(format!("127.0.0.1:{closed}/acme/policies:good"), "gone").code(3);
    verdict().args(["bundle", "push", "/nonexistent.tar", "127.0.0.1:1/x:y"]).assert().code(2);
}

fn bundle_policy(dir: &Path, name: &str, host: &str, public_pem: &str) -> std::path::PathBuf {
    let policy = verdict_testkit::bundles::key_bundle_policy(host, public_pem);
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, policy).unwrap();
    path
}

/// Signed with the release key: trusted, pulled by the verified digest. Unsigned, or signed by another
/// key: refused (exit 1) before anything is unpacked; `--insecure-unsigned` is the only way around it.
#[test]
fn only_bundles_signed_as_the_bundle_policy_says_are_used() {
    let Some(registry) = DockerRegistry::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let file = bundle(dir.path());
    let key = rcgen::KeyPair::generate().unwrap();
    let key_file = dir.path().join("release.key");
    std::fs::write(&key_file, key.serialize_pem()).unwrap();
    let other = rcgen::KeyPair::generate().unwrap();
    let trusted_policy = bundle_policy(dir.path(), "trusted", &registry.host(), &key.public_key_pem());
    let other_policy = bundle_policy(dir.path(), "other", &registry.host(), &other.public_key_pem());

    let signed_only = format!("{}/acme/signed-policies:v1", registry.host());
    let unsigned_only = format!("{}/acme/unsigned-policies:v1", registry.host());
    verdict().args(["bundle", "push", file.to_str().unwrap(), &signed_only]).assert().code(0);
    verdict().args(["bundle", "push", file.to_str().unwrap(), &unsigned_only]).assert().code(0);
    verdict()
        .args(["bundle", "sign", &signed_only, "--key", key_file.to_str().unwrap()])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(format!("signed {}/acme/signed-policies@sha256:", registry.host())));

    let policy = trusted_policy.to_str().unwrap();
    verdict()
        .args(["bundle", "verify", &signed_only, "--bundle-policy", policy])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("trusted"));
    let out = dir.path().join("trusted");
    verdict()
        .args(["bundle", "pull", &signed_only, "-o", out.to_str().unwrap(), "--bundle-policy", policy])
        .assert()
        .code(0);
    assert!(out.join("security/gate.yml").exists());

    // Unsigned: refused, nothing unpacked.
    let refused = dir.path().join("refused");
    verdict()
        .args(["bundle", "pull", &unsigned_only, "-o", refused.to_str().unwrap(), "--bundle-policy", policy])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not trusted by the bundle policy"));
    assert!(!refused.exists());
    // Signed, but by a key the policy does not name.
    verdict()
        .args(["bundle", "verify", &signed_only, "--bundle-policy", other_policy.to_str().unwrap()])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not trusted by the bundle policy"));
    // Neither a policy nor --insecure-unsigned: a usage error, not a silent unverified pull.
    verdict().args(["bundle", "pull", &unsigned_only, "-o", refused.to_str().unwrap()]).assert().code(2);
    verdict()
        .args(["bundle", "pull", &unsigned_only, "-o", refused.to_str().unwrap(), "--insecure-unsigned"])
        .assert()
        .code(0)
        .stderr(predicate::str::contains("are not checked"));
    // A key file that is not a key is a usage error; so is an encrypted one without its password, and
    // a damaged one.
    let bad_key = dir.path().join("bad.key");
    std::fs::write(&bad_key, "-----BEGIN PRIVATE KEY-----\nYWJjZA==\n-----END PRIVATE KEY-----\n").unwrap();
    verdict()
        .args(["bundle", "sign", &signed_only, "--key", bad_key.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("PKCS#8"));
    let cosign_key = dir.path().join("cosign.key");
    std::fs::write(&cosign_key, verdict_testkit::bundles::COSIGN_ENCRYPTED_KEY).unwrap();
    let sign_with_cosign_key = |password: Option<&str>| {
        let mut command = verdict();
        command
            .env_remove("COSIGN_PASSWORD")
            .args(["bundle", "sign", &signed_only, "--key"])
            .arg(&cosign_key);
        if let Some(password) = password {
            command.env("COSIGN_PASSWORD", password);
        }
        command.assert()
    };
    sign_with_cosign_key(None).code(2).stderr(predicate::str::contains("set COSIGN_PASSWORD"));
    sign_with_cosign_key(Some("not-it")).code(2).stderr(predicate::str::contains("wrong COSIGN_PASSWORD"));
    // cosign's own encrypted key (its password is empty) signs, and the signature verifies under its
    // public key.
    sign_with_cosign_key(Some("")).code(0);
    let public = verdict_bundle::sign::SigningKey::from_pem_with_password(
        verdict_testkit::bundles::COSIGN_ENCRYPTED_KEY,
        Some(""),
    )
    .unwrap()
    .public_pem()
    .unwrap();
    let cosign_policy = bundle_policy(dir.path(), "cosign", &registry.host(), &public);
    verdict()
        .args(["bundle", "verify", &signed_only, "--bundle-policy", cosign_policy.to_str().unwrap()])
        .assert()
        .code(0);
}

/// `bundle sign` attaches a Sigstore bundle as an OCI 1.1 referrer of the bundle's manifest. A registry
/// with the referrers API lists it by itself (no tag written); one without it gets the referrers tag
/// `sha256-HEX`, which keeps every signature already listed there. `--legacy-tag` writes cosign 2's
/// `.sig` tag instead. Every layout verifies under the bundle policy; a stranger's key still does not.
#[test]
fn signatures_are_referrers_found_with_or_without_the_referrers_api() {
    let dir = tempfile::tempdir().unwrap();
    let file = bundle(dir.path());
    let release = rcgen::KeyPair::generate().unwrap();
    let second = rcgen::KeyPair::generate().unwrap();
    let stranger = rcgen::KeyPair::generate().unwrap();
    let key_file = |name: &str, key: &rcgen::KeyPair| {
        let path = dir.path().join(name);
        std::fs::write(&path, key.serialize_pem()).unwrap();
        path.display().to_string()
    };
    let (release_key, second_key) = (key_file("release.key", &release), key_file("second.key", &second));
    for referrers_api in [true, false] {
        let registry = FakeRegistry::empty(None, referrers_api);
        let host = registry.host();
        let policy = |name: &str, key: &rcgen::KeyPair| {
            let name = format!("{name}-{referrers_api}");
            bundle_policy(dir.path(), &name, &host, &key.public_key_pem()).display().to_string()
        };
        let (release_policy, second_policy, stranger_policy) =
            (policy("release", &release), policy("second", &second), policy("stranger", &stranger));
        let reference = format!("{host}/acme/policies:v1");
        let pushed = verdict()
            .args(["bundle", "push", file.to_str().unwrap(), &reference, "--format", "json"])
            .output()
            .unwrap();
        assert!(pushed.status.success(), "{}", String::from_utf8_lossy(&pushed.stderr));
        let pushed: Value = serde_json::from_slice(&pushed.stdout).unwrap();
        let digest = pushed["manifest_digest"].as_str().unwrap().to_owned();
        let referrers_tag = digest.replace(':', "-");

        // Unsigned so far: not trusted.
        verdict().args(["bundle", "verify", &reference, "--bundle-policy", &release_policy]).assert().code(1);
        verdict()
            .args(["bundle", "sign", &reference, "--key", &release_key])
            .assert()
            .code(0)
            .stdout(predicate::str::contains("a Sigstore bundle referrer"));
        let index = registry.manifest("acme/policies", &referrers_tag);
        if referrers_api {
            assert!(index.is_none(), "a registry with the referrers API needs no referrers tag");
        } else {
            let index: Value = serde_json::from_slice(&index.expect("the referrers tag").body).unwrap();
            assert_eq!(index["manifests"].as_array().unwrap().len(), 1);
            assert_eq!(
                index["manifests"][0]["artifactType"],
                "application/vnd.dev.sigstore.bundle.v0.3+json"
            );
            // The referrer manifest names the bundle's manifest as its subject.
            let referrer_digest = index["manifests"][0]["digest"].as_str().unwrap();
            let referrer = registry.manifest("acme/policies", referrer_digest).unwrap();
            let referrer: Value = serde_json::from_slice(&referrer.body).unwrap();
            assert_eq!(referrer["subject"]["digest"], digest.as_str());
        }
        assert!(registry.manifest("acme/policies", &format!("{referrers_tag}.sig")).is_none());
        verdict()
            .args(["bundle", "verify", &reference, "--bundle-policy", &release_policy])
            .assert()
            .code(0)
            .stdout(predicate::str::contains(format!("trusted ({digest})")));
        verdict()
            .args(["bundle", "verify", &reference, "--bundle-policy", &stranger_policy])
            .assert()
            .code(1)
            .stderr(predicate::str::contains("not trusted by the bundle policy"));

        // A second signer: both signatures stay findable.
        verdict().args(["bundle", "sign", &reference, "--key", &second_key]).assert().code(0);
        if !referrers_api {
            let index = registry.manifest("acme/policies", &referrers_tag).unwrap();
            let index: Value = serde_json::from_slice(&index.body).unwrap();
            assert_eq!(index["manifests"].as_array().unwrap().len(), 2, "the first signature is kept");
        }
        for policy in [&release_policy, &second_policy] {
            verdict().args(["bundle", "verify", &reference, "--bundle-policy", policy]).assert().code(0);
        }

        // cosign 2's layout, on another repository.
        let legacy = format!("{host}/acme/legacy:v1");
        verdict().args(["bundle", "push", file.to_str().unwrap(), &legacy]).assert().code(0);
        verdict()
            .args(["bundle", "sign", &legacy, "--key", &release_key, "--legacy-tag"])
            .assert()
            .code(0)
            .stdout(predicate::str::contains("cosign's .sig tag"));
        assert!(registry.manifest("acme/legacy", &format!("{referrers_tag}.sig")).is_some());
        assert!(registry.manifest("acme/legacy", &referrers_tag).is_none());
        verdict().args(["bundle", "verify", &legacy, "--bundle-policy", &release_policy]).assert().code(0);
        verdict().args(["bundle", "verify", &legacy, "--bundle-policy", &second_policy]).assert().code(1);
    }
}

/// A bundle signed keyless (a Fulcio certificate for a CI workflow's identity, logged in Rekor — here
/// the test's own Sigstore instance, trusted with `--bundle-trusted-root`) is checked by the same verifier
/// `verify image` uses: the identity the bundle policy names is trusted, any other is not.
#[test]
fn keyless_signed_bundles_are_trusted_by_identity() {
    use verdict_testkit::cosign::{COSIGN_SIGN, push_bundles};
    use verdict_testkit::sigstore::{Options, SigningKey, TestSigstore, statement};
    const ISSUER: &str = "https://token.actions.githubusercontent.com";
    const RELEASE: &str = "https://github.com/acme/policies/.github/workflows/release.yml@refs/heads/main";
    let dir = tempfile::tempdir().unwrap();
    let file = bundle(dir.path());
    let registry = FakeRegistry::empty(None, false);
    let reference = format!("{}/acme/policies:v1", registry.host());
    let pushed = verdict()
        .args(["bundle", "push", file.to_str().unwrap(), &reference, "--format", "json"])
        .output()
        .unwrap();
    let pushed: Value = serde_json::from_slice(&pushed.stdout).unwrap();
    let digest = pushed["manifest_digest"].as_str().unwrap().to_owned();
    let size = registry.manifest("acme/policies", &digest).unwrap().body.len();
    let sigstore = TestSigstore::new();
    let root = dir.path().join("root.json");
    std::fs::write(&root, sigstore.trusted_root()).unwrap();
    let signed = statement(&format!("{}/acme/policies", registry.host()), &digest, COSIGN_SIGN, json!({}));
    let bundle =
        sigstore.attest(&SigningKey::generate(), &signed, Some((RELEASE, ISSUER)), &Options::default());
    push_bundles(&registry, "acme/policies", &digest, size, &[(bundle, COSIGN_SIGN)], true);

    let policy = |name: &str, subject: &str| {
        let path = dir.path().join(name);
        std::fs::write(
            &path,
            format!(
                "apiVersion: verdict.dev/v1\nkind: ImagePolicy\nnoMatch: deny\nrules:\n  - name: ours\n    images: [\"{}/acme/**\"]\n    attestors:\n      entries:\n        - keyless:\n            issuer: {ISSUER}\n            subject: {subject}\n",
                registry.host()
            ),
        )
        .unwrap();
        path.display().to_string()
    };
    let trusted = policy("release.yaml", RELEASE);
    let other =
        policy("other.yaml", "https://github.com/acme/other/.github/workflows/release.yml@refs/heads/main");
    let root = root.display().to_string();
    verdict()
        .args(["bundle", "verify", &reference, "--bundle-policy", &trusted, "--bundle-trusted-root", &root])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(format!("trusted ({digest})")));
    let out = dir.path().join("out");
    verdict()
        .args(["bundle", "pull", &reference, "-o", out.to_str().unwrap()])
        .args(["--bundle-policy", &trusted, "--bundle-trusted-root", &root])
        .assert()
        .code(0);
    assert!(out.join("security/gate.yml").exists());
    verdict()
        .args(["bundle", "verify", &reference, "--bundle-policy", &other, "--bundle-trusted-root", &root])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not trusted by the bundle policy"));
    // Without the instance's trust root the certificate chains to nothing trusted: refused.
    verdict().args(["bundle", "verify", &reference, "--bundle-policy", &trusted]).assert().code(1);
}
