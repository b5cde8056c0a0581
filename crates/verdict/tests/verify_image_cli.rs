//! `verdict verify image` against an in-process fake registry holding images signed by the test-only
//! Sigstore (custom trusted root): OCI 1.1 referrers with bundles (and the referrers-tag fallback),
//! cosign's legacy `.sig` tag, keyless and key-based, tag and digest references — and every way to fail:
//! unsigned, wrong identity or key, attestation about another image, Rego predicate policy denying,
//! legacy payload for another image, no matching rule, registry 404/500/slow/unreachable.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use assert_cmd::Command;
use serde_json::{Value, json};
use verdict_testkit::cosign::{
    push_bundles, push_image, push_legacy_attestations, push_legacy_signatures, simple_signing_payload,
};
use verdict_testkit::registry::{FakeRegistry, Fault};
use verdict_testkit::sigstore::{Options, SigningKey, TestSigstore, statement};

const ID: &str = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main";
const ISSUER: &str = "https://token.actions.githubusercontent.com";
const SIGN: &str = "https://sigstore.dev/cosign/sign/v1";
const SLSA: &str = "https://slsa.dev/provenance/v1";
const GHA: &str = "https://actions.github.io/buildtypes/workflow/v1";

struct World {
    dir: tempfile::TempDir,
    sigstore: TestSigstore,
    registry: FakeRegistry,
    key: SigningKey,
}

impl World {
    fn new(referrers_api: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let sigstore = TestSigstore::new();
        std::fs::write(dir.path().join("root.json"), sigstore.trusted_root()).unwrap();
        World {
            dir,
            sigstore,
            registry: FakeRegistry::empty(None, referrers_api),
            key: SigningKey::generate(),
        }
    }

    fn host(&self) -> String {
        self.registry.host()
    }

    /// An image signed keyless (by `identity`) with a provenance attestation of `build_type` about
    /// `subject` (default: the image), as referrers.
    fn signed(
        &self,
        repository: &str,
        identity: &str,
        build_type: &str,
        subject: Option<&str>,
        fallback_tag: bool,
    ) -> String {
        let (digest, size) = push_image(&self.registry, repository, "v1", repository.as_bytes());
        let name = format!("{}/{repository}", self.host());
        let sign = statement(&name, &digest, SIGN, json!({}));
        let provenance = statement(
            &name,
            subject.unwrap_or(&digest),
            SLSA,
            json!({"buildDefinition": {"buildType": build_type}}),
        );
        let who = Some((identity, ISSUER));
        let bundles = [
            (self.sigstore.attest(&self.key, &sign, who, &Options::default()), SIGN),
            (self.sigstore.attest(&self.key, &provenance, who, &Options::default()), SLSA),
        ];
        push_bundles(&self.registry, repository, &digest, size, &bundles, fallback_tag);
        digest
    }

    fn policy(&self, text: &str) -> std::path::PathBuf {
        let path = self.dir.path().join("policy.yml");
        std::fs::write(
            &path,
            text.replace("HOST", &self.host()).replace("KEY", &indent(&self.key.public_pem())),
        )
        .unwrap();
        path
    }

    fn verify(&self, image: &str, policy: &std::path::Path, extra: &[&str]) -> (i32, Value, String) {
        let output = Command::cargo_bin("verdict")
            .unwrap()
            .args(["verify", "image", image, "--policy"])
            .arg(policy)
            .arg("--trusted-root")
            .arg(self.dir.path().join("root.json"))
            .args(["-o", "json"])
            .args(extra)
            .env("DOCKER_CONFIG", self.dir.path())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).to_string();
        let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
        (output.status.code().unwrap_or(-1), json, String::from_utf8_lossy(&output.stderr).to_string())
    }
}

fn indent(pem: &str) -> String {
    pem.trim_end().lines().collect::<Vec<_>>().join("\n              ")
}

const POLICY: &str = r#"apiVersion: verdict.dev/v1
kind: ImagePolicy
rules:
  - name: acme
    images: ["HOST/acme/*"]
    attestors:
      entries:
        - keyless:
            issuer: https://token.actions.githubusercontent.com
            subjectRegExp: ^https://github\.com/acme/[^/]+/\.github/workflows/release\.yml@refs/heads/main$
    attestations:
      - name: provenance
        predicateType: https://slsa.dev/provenance/v1
        policy: |
          package policy
          default allow := false
          allow if input.predicate.buildDefinition.buildType == "https://actions.github.io/buildtypes/workflow/v1"
          violations contains msg if {
            not allow
            msg := sprintf("build type %v is not GitHub Actions", [input.predicate.buildDefinition.buildType])
          }
  - name: legacy
    images: ["HOST/legacy/*"]
    attestors:
      entries:
        - key:
            publicKey: |
              KEY
"#;

fn reasons(json: &Value) -> String {
    json["reasons"]
        .as_array()
        .map(|r| r.iter().map(|v| v.as_str().unwrap_or_default().to_owned()).collect::<Vec<_>>().join("\n"))
        .unwrap_or_default()
}

#[test]
fn signed_images_verify_by_tag_and_by_digest() {
    let world = World::new(true);
    let digest = world.signed("acme/app", ID, GHA, None, false);
    let policy = world.policy(POLICY);
    let image = format!("{}/acme/app:v1", world.host());
    let (code, json, stderr) = world.verify(&image, &policy, &[]);
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    assert_eq!(json["allowed"], true);
    assert_eq!(json["digest"], digest.as_str());
    let rule = &json["rules"][0];
    assert_eq!(rule["signatures"]["satisfied"][0]["identity"], ID);
    assert_eq!(rule["signatures"]["satisfied"][0]["issuer"], ISSUER);
    assert!(rule["signatures"]["satisfied"][0]["integrated_time"].is_string());
    assert_eq!(rule["attestations"][0]["satisfied"], true);
    assert_eq!(json["attestations_found"][0]["predicateType"], SLSA);
    assert_eq!(json["attestations_found"][0]["subject_matches_image"], true);
    assert_eq!(json["attestations_found"][0]["log_index"], 0);
    let (code, json, _) = world.verify(&format!("{}/acme/app@{digest}", world.host()), &policy, &[]);
    assert_eq!((code, &json["allowed"]), (0, &Value::Bool(true)));
}

#[test]
fn the_referrers_tag_fallback_serves_registries_without_the_api() {
    let world = World::new(false);
    world.signed("acme/app", ID, GHA, None, true);
    let (code, json, stderr) =
        world.verify(&format!("{}/acme/app:v1", world.host()), &world.policy(POLICY), &[]);
    assert_eq!(code, 0, "{json:#}\n{stderr}");
}

#[test]
fn legacy_cosign_signatures_verify_with_a_key() {
    let world = World::new(true);
    let (digest, _) = push_image(&world.registry, "legacy/app", "v1", b"legacy");
    let name = format!("{}/legacy/app", world.host());
    let payload = simple_signing_payload(&name, &digest);
    let annotations = world.sigstore.sign_legacy(&world.key, &payload, None, &Options::default());
    push_legacy_signatures(&world.registry, "legacy/app", &digest, &[(payload, annotations)]);
    let policy = world.policy(POLICY);
    let (code, json, stderr) = world.verify(&format!("{name}:v1"), &policy, &[]);
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    assert_eq!(json["signatures_found"][0]["origin"], "cosign .sig layer 0");

    // A signature whose payload names another image, copied next to this one, is refused.
    let (other, _) = push_image(&world.registry, "legacy/copy", "v1", b"copy");
    let payload = simple_signing_payload(&name, &digest);
    let annotations = world.sigstore.sign_legacy(&world.key, &payload, None, &Options::default());
    push_legacy_signatures(&world.registry, "legacy/copy", &other, &[(payload, annotations)]);
    let (code, json, _) = world.verify(&format!("{}/legacy/copy:v1", world.host()), &policy, &[]);
    assert_eq!(code, 1);
    assert!(reasons(&json).contains("names sha256:"), "{json:#}");
}

#[test]
fn every_failure_is_a_failure_with_its_reason() {
    let world = World::new(true);
    let (unsigned, _) = push_image(&world.registry, "acme/unsigned", "v1", b"unsigned");
    push_image(&world.registry, "other/app", "v1", b"no rule names it");
    world.signed(
        "acme/evil",
        "https://github.com/evil/app/.github/workflows/release.yml@refs/heads/main",
        GHA,
        None,
        false,
    );
    world.signed("acme/sloppy", ID, "https://example.com/hand-built", None, false);
    world.signed("acme/moved", ID, GHA, Some(&unsigned), false);
    let policy = world.policy(POLICY);
    let host = world.host();
    for (image, expected) in [
        (format!("{host}/acme/unsigned:v1"), "is not signed"),
        (format!("{host}/acme/evil:v1"), "does not match"),
        (format!("{host}/acme/sloppy:v1"), "build type https://example.com/hand-built is not GitHub Actions"),
        (format!("{host}/acme/moved:v1"), "not the image"),
        (format!("{host}/other/app:v1"), "denied by default"),
        (format!("{host}/acme/missing:v1"), "no such image"),
    ] {
        let (code, json, stderr) = world.verify(&image, &policy, &[]);
        assert_eq!(code, 1, "{image}: {json:#}\n{stderr}");
        assert_eq!(json["allowed"], false, "{image}");
        assert!(reasons(&json).contains(expected), "{image}: expected {expected:?} in {json:#}");
    }
    // A digest that is not the one the registry serves for the tag's repository.
    let wrong = format!("{host}/acme/evil@sha256:{}", "0".repeat(64));
    assert_eq!(world.verify(&wrong, &policy, &[]).0, 1);
}

#[test]
fn an_unavailable_registry_fails_with_exit_3() {
    let world = World::new(true);
    world.signed("acme/app", ID, GHA, None, false);
    let policy = world.policy(POLICY);
    let image = format!("{}/acme/app:v1", world.host());
    world.registry.set_fault(Fault::ServerError);
    let (code, json, stderr) = world.verify(&image, &policy, &[]);
    assert_eq!(code, 3, "{stderr}");
    assert_eq!(json["allowed"], false);
    assert!(stderr.contains("registry unavailable"), "{stderr}");
    world.registry.set_fault(Fault::Slow(std::time::Duration::from_secs(3)));
    let (code, _, stderr) = world.verify(&image, &policy, &["--timeout", "500ms", "--budget", "1s"]);
    assert_eq!(code, 3, "{stderr}");
    world.registry.set_fault(Fault::NotFound);
    assert_eq!(world.verify(&image, &policy, &[]).0, 1);
    world.registry.set_fault(Fault::None);
    assert_eq!(world.verify(&image, &policy, &[]).0, 0);
    // Nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let (code, _, stderr) = world.verify(&format!("{closed}/acme/app:v1"), &policy, &[]);
    assert_eq!(code, 3, "{stderr}");
}

#[test]
fn bad_policies_and_arguments_exit_2() {
    let world = World::new(true);
    let policy = world
        .policy("apiVersion: verdict.dev/v1\nkind: ImagePolicy\nrules:\n  - name: r\n    image: [\"**\"]\n");
    let (code, _, stderr) = world.verify(&format!("{}/acme/app:v1", world.host()), &policy, &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("policy.yml:5:5"), "{stderr}");
    assert!(stderr.contains("did you mean `images`"), "{stderr}");
    let policy = world.policy(POLICY);
    let (code, _, stderr) = world.verify("Not A Reference", &policy, &[]);
    assert_eq!(code, 2, "{stderr}");
    // The unanchored-pattern pitfall: `https://github.com/acme/` would also match
    // `https://github.com/acme/../evil/…`-like identities and any SAN that merely contains it.
    let unanchored = POLICY.replace(
        r"^https://github\.com/acme/[^/]+/\.github/workflows/release\.yml@refs/heads/main$",
        r"https://github\.com/acme/",
    );
    assert_ne!(unanchored, POLICY);
    let (code, _, stderr) =
        world.verify(&format!("{}/acme/app:v1", world.host()), &world.policy(&unanchored), &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("is not anchored"), "{stderr}");
}

/// A real registry (Debian's docker-registry, distribution 2.8: no referrers API) holding images pushed
/// with the test kit's own pusher: bundles are found through the referrers-tag fallback, legacy
/// signatures through the `.sig` tag, and an unsigned image fails.
#[test]
fn a_real_registry_serves_both_layouts() {
    let Some(registry) = verdict_testkit::docker_registry::DockerRegistry::start() else { return };
    let world = World::new(true);
    let host = registry.host();
    let (digest, size) = push_image(&registry, "acme/app", "v1", b"real registry");
    let name = format!("{host}/acme/app");
    let who = Some((ID, ISSUER));
    let sign = statement(&name, &digest, SIGN, json!({}));
    let provenance = statement(&name, &digest, SLSA, json!({"buildDefinition": {"buildType": GHA}}));
    let bundles = [
        (world.sigstore.attest(&world.key, &sign, who, &Options::default()), SIGN),
        (world.sigstore.attest(&world.key, &provenance, who, &Options::default()), SLSA),
    ];
    push_bundles(&registry, "acme/app", &digest, size, &bundles, true);
    let (legacy, _) = push_image(&registry, "legacy/app", "v1", b"legacy on a real registry");
    let payload = simple_signing_payload(&format!("{host}/legacy/app"), &legacy);
    let annotations = world.sigstore.sign_legacy(&world.key, &payload, None, &Options::default());
    push_legacy_signatures(&registry, "legacy/app", &legacy, &[(payload, annotations)]);
    push_image(&registry, "acme/unsigned", "v1", b"nobody signed this");

    let policy = world.policy(&POLICY.replace("HOST", &host));
    for (image, expected) in [
        (format!("{host}/acme/app:v1"), 0),
        (format!("{host}/acme/app@{digest}"), 0),
        (format!("{host}/legacy/app:v1"), 0),
        (format!("{host}/acme/unsigned:v1"), 1),
    ] {
        let (code, json, stderr) = world.verify(&image, &policy, &[]);
        assert_eq!(code, expected, "{image}: {json:#}\n{stderr}");
    }
}

/// cosign's legacy layout, keyless: a `.sig` simple-signing layer with certificate and chain, and an
/// `.att` DSSE layer with an in-toto Rekor entry, satisfy the rule that needs a signature and provenance;
/// and key-based bundles as referrers satisfy the key rule.
#[test]
fn legacy_keyless_signatures_and_attestations_and_key_bundles_verify() {
    let world = World::new(true);
    let (digest, _) = push_image(&world.registry, "acme/old", "v1", b"old style");
    let name = format!("{}/acme/old", world.host());
    let who = Some((ID, ISSUER));
    let payload = simple_signing_payload(&name, &digest);
    let signature = world.sigstore.sign_legacy(&world.key, &payload, who, &Options::default());
    push_legacy_signatures(&world.registry, "acme/old", &digest, &[(payload, signature)]);
    let policy = world.policy(POLICY);
    // Signed but no provenance yet: the attestation is missing.
    let (code, json, _) = world.verify(&format!("{name}:v1"), &policy, &[]);
    assert_eq!(code, 1);
    assert!(reasons(&json).contains("none was found"), "{json:#}");
    let provenance = statement(&name, &digest, SLSA, json!({"buildDefinition": {"buildType": GHA}}));
    let attestation = world.sigstore.attest_legacy(&world.key, &provenance, who, &Options::default());
    push_legacy_attestations(&world.registry, "acme/old", &digest, &[attestation]);
    let (code, json, stderr) = world.verify(&format!("{name}:v1"), &policy, &[]);
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    assert_eq!(json["attestations_found"][0]["origin"], "cosign .att layer 0");

    // Key-based bundles as referrers, for the rule that names the key.
    let (digest, size) = push_image(&world.registry, "legacy/keyed", "v1", b"keyed");
    let sign = statement(&format!("{}/legacy/keyed", world.host()), &digest, SIGN, json!({}));
    let bundle = world.sigstore.attest(&world.key, &sign, None, &Options::default());
    push_bundles(&world.registry, "legacy/keyed", &digest, size, &[(bundle, SIGN)], false);
    let (code, json, stderr) = world.verify(&format!("{}/legacy/keyed:v1", world.host()), &policy, &[]);
    assert_eq!(code, 0, "{json:#}\n{stderr}");
}

/// Log evidence that does not verify makes the image fail, whatever the registry says.
#[test]
fn forged_log_evidence_and_untrusted_signers_fail() {
    let world = World::new(true);
    let policy = world.policy(POLICY);
    for (repository, options, key) in [
        ("acme/forged-set", Options { forge_set: true, ..Options::default() }, None),
        ("acme/bad-proof", Options { break_inclusion_proof: true, ..Options::default() }, None),
        (
            "acme/expired",
            Options { cert_not_before: -7200, cert_not_after: -3600, ..Options::default() },
            None,
        ),
        ("acme/stranger", Options::default(), Some(SigningKey::generate())),
    ] {
        let (digest, size) = push_image(&world.registry, repository, "v1", repository.as_bytes());
        let name = format!("{}/{repository}", world.host());
        let signer = key.as_ref().unwrap_or(&world.key);
        // The stranger signs with a key but claims the keyless identity: the bundle names no certificate.
        let who = if key.is_some() { None } else { Some((ID, ISSUER)) };
        let bundles = [
            (world.sigstore.attest(signer, &statement(&name, &digest, SIGN, json!({})), who, &options), SIGN),
            (
                world.sigstore.attest(
                    signer,
                    &statement(&name, &digest, SLSA, json!({"buildDefinition": {"buildType": GHA}})),
                    who,
                    &options,
                ),
                SLSA,
            ),
        ];
        push_bundles(&world.registry, repository, &digest, size, &bundles, false);
        let (code, json, stderr) = world.verify(&format!("{name}:v1"), &policy, &[]);
        assert_eq!(code, 1, "{repository}: {json:#}\n{stderr}");
        assert!(reasons(&json).contains("needs 1 of its attestors, 0 verified"), "{repository}: {json:#}");
    }
}

/// Registry credentials from the flags or from Docker's config.json; without them, access is refused
/// and the command fails with exit 3 (an environment problem, not a verdict on the image).
#[test]
fn registry_credentials_come_from_flags_or_docker_config() {
    let mut world = World::new(true);
    world.registry = FakeRegistry::empty(Some(("ci", "s3cret")), true);
    world.signed("acme/app", ID, GHA, None, false);
    let policy = world.policy(POLICY);
    let image = format!("{}/acme/app:v1", world.host());
    let (code, _, stderr) = world.verify(&image, &policy, &[]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("credentials"), "{stderr}");
    let flags = ["--registry-username", "ci", "--registry-password", "s3cret"];
    let (code, _, stderr) = world.verify(&image, &policy, &flags);
    assert_eq!(code, 0, "{stderr}");
    let wrong = ["--registry-username", "ci", "--registry-password", "wrong"];
    assert_eq!(world.verify(&image, &policy, &wrong).0, 3);
    use base64::Engine;
    let auth = base64::engine::general_purpose::STANDARD.encode("ci:s3cret");
    let config = format!(r#"{{"auths": {{"{}": {{"auth": "{auth}"}}}}}}"#, world.host());
    std::fs::write(world.dir.path().join("config.json"), config).unwrap();
    let (code, _, stderr) = world.verify(&image, &policy, &[]);
    assert_eq!(code, 0, "{stderr}");

    // A bearer token, from the flag or from config.json's registrytoken.
    world.registry = FakeRegistry::empty_with_token("t0ken", true);
    world.signed("acme/app", ID, GHA, None, false);
    let policy = world.policy(POLICY);
    let image = format!("{}/acme/app:v1", world.host());
    assert_eq!(world.verify(&image, &policy, &[]).0, 3);
    let (code, _, stderr) = world.verify(&image, &policy, &["--registry-token", "t0ken"]);
    assert_eq!(code, 0, "{stderr}");
    let config = format!(r#"{{"auths": {{"{}": {{"registrytoken": "t0ken"}}}}}}"#, world.host());
    std::fs::write(world.dir.path().join("config.json"), config).unwrap();
    let (code, _, stderr) = world.verify(&image, &policy, &[]);
    assert_eq!(code, 0, "{stderr}");
}

/// Air-gapped signers: a key-based signature that was never logged (cosign `--tlog-upload=false`), as a
/// legacy `.sig` layer and as a bundle referrer, is refused with the reason unless the policy's key
/// entry says `ignoreTlog: true`; even then a signature by another key is refused.
#[test]
fn unlogged_key_signatures_pass_only_where_the_policy_waives_the_log() {
    let world = World::new(true);
    let unlogged = Options { omit_tlog: true, ..Options::default() };
    let (legacy_digest, _) = push_image(&world.registry, "legacy/airgap", "v1", b"airgap");
    let name = format!("{}/legacy/airgap", world.host());
    let payload = simple_signing_payload(&name, &legacy_digest);
    let annotations = world.sigstore.sign_legacy(&world.key, &payload, None, &unlogged);
    assert!(!annotations.contains_key("dev.sigstore.cosign/bundle"));
    push_legacy_signatures(&world.registry, "legacy/airgap", &legacy_digest, &[(payload, annotations)]);
    let (digest, size) = push_image(&world.registry, "legacy/bundled", "v1", b"bundled");
    let sign = statement(&format!("{}/legacy/bundled", world.host()), &digest, SIGN, json!({}));
    let bundle = world.sigstore.attest(&world.key, &sign, None, &unlogged);
    push_bundles(&world.registry, "legacy/bundled", &digest, size, &[(bundle, SIGN)], false);
    let stranger = SigningKey::generate();
    let (other, _) = push_image(&world.registry, "legacy/stranger", "v1", b"stranger");
    let payload = simple_signing_payload(&format!("{}/legacy/stranger", world.host()), &other);
    let annotations = world.sigstore.sign_legacy(&stranger, &payload, None, &unlogged);
    push_legacy_signatures(&world.registry, "legacy/stranger", &other, &[(payload, annotations)]);

    let strict = world.policy(POLICY);
    for image in ["legacy/airgap", "legacy/bundled"] {
        let (code, json, stderr) = world.verify(&format!("{}/{image}:v1", world.host()), &strict, &[]);
        assert_eq!(code, 1, "{image}: {json:#}\n{stderr}");
        assert!(reasons(&json).contains("no transparency-log entry"), "{image}: {json:#}");
    }
    let waived =
        world.policy(&POLICY.replace("        - key:\n", "        - key:\n            ignoreTlog: true\n"));
    for image in ["legacy/airgap", "legacy/bundled"] {
        let (code, json, stderr) = world.verify(&format!("{}/{image}:v1", world.host()), &waived, &[]);
        assert_eq!(code, 0, "{image}: {json:#}\n{stderr}");
        assert!(
            json["rules"][0]["signatures"]["satisfied"][0]["attestor"]
                .as_str()
                .is_some_and(|a| a.contains("transparency log not required"))
        );
    }
    let (code, json, _) = world.verify(&format!("{}/legacy/stranger:v1", world.host()), &waived, &[]);
    assert_eq!(code, 1, "{json:#}");
    assert!(reasons(&json).contains("signature verification failed"), "{json:#}");
}

/// A Kyverno ImageValidatingPolicy decided by CEL `validations`: Kyverno's functions over the image's
/// real (keyless, logged) signature and provenance attestation — signed by the named attestor, the
/// attestation verified, its payload read. Another signer, or another build type, fails with the
/// validation's message.
#[test]
fn image_validating_policy_validations_decide_with_cel() {
    const IVPOL: &str = r#"apiVersion: policies.kyverno.io/v1
kind: ImageValidatingPolicy
metadata:
  name: release-builds
spec:
  validationActions: [Deny]
  matchImageReferences:
    - glob: "HOST/acme/*"
  attestors:
    - name: ci
      cosign:
        keyless:
          identities:
            - issuer: https://token.actions.githubusercontent.com
              subject: https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main
  attestations:
    - name: provenance
      intoto:
        type: https://slsa.dev/provenance/v1
  validations:
    - expression: >-
        images.containers.map(image, verifyImageSignatures(image, [attestors.ci])).all(e, e > 0)
      message: not signed by the release workflow
    - expression: >-
        images.containers.all(image, verifyAttestationSignatures(image, attestations.provenance, [attestors.ci]) > 0
          && extractPayload(image, attestations.provenance).buildDefinition.buildType == "https://actions.github.io/buildtypes/workflow/v1")
      message: not built by GitHub Actions
"#;
    let world = World::new(true);
    world.signed("acme/app", ID, GHA, None, false);
    world.signed(
        "acme/forked",
        "https://github.com/mallory/app/.github/workflows/release.yml@refs/heads/main",
        GHA,
        None,
        false,
    );
    world.signed("acme/local", ID, "https://example.com/laptop-build", None, false);
    let policy = world.policy(IVPOL);
    let (code, json, stderr) = world.verify(&format!("{}/acme/app:v1", world.host()), &policy, &[]);
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    let validations = &json["rules"][0]["validations"];
    assert_eq!(validations.as_array().map(Vec::len), Some(2), "{json:#}");
    assert_eq!(validations[0]["passed"], true);

    let (code, json, _) = world.verify(&format!("{}/acme/forked:v1", world.host()), &policy, &[]);
    assert_eq!(code, 1);
    let why = reasons(&json);
    assert!(why.contains("not signed by the release workflow"), "{why}");
    assert!(why.contains("not built by GitHub Actions"), "{why}");
    let (code, json, _) = world.verify(&format!("{}/acme/local:v1", world.host()), &policy, &[]);
    assert_eq!(code, 1);
    assert_eq!(reasons(&json), "rule \"release-builds\": not built by GitHub Actions");
}
