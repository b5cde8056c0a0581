//! The test-only Sigstore of `verdict-testkit` (a CA, Rekor and CT keys in a custom trusted root) makes
//! bundles that `verdict-sigstore` verifies — keyless and key-based, message signatures and DSSE — and
//! each way of making one wrong is refused with its reason. These fixtures feed the image verification
//! tests, so they are checked here first.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use verdict_sigstore::{BundleVerifier, Matcher, Signer, Subject};
use verdict_testkit::sigstore::{Options, SigningKey, TestSigstore, statement};

const ID: &str = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main";
const ISSUER: &str = "https://token.actions.githubusercontent.com";

struct Fixture {
    sigstore: TestSigstore,
    verifier: BundleVerifier,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let sigstore = TestSigstore::new();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("trusted_root.json");
    std::fs::write(&root, sigstore.trusted_root()).unwrap();
    let verifier = BundleVerifier::new(Some(&root)).unwrap();
    Fixture { sigstore, verifier, _dir: dir }
}

fn keyless(identity: &str, issuer: &str) -> Signer {
    Signer::Keyless { identity: Matcher::Exact(identity.into()), issuer: Matcher::Exact(issuer.into()) }
}

fn key_signer(key: &SigningKey) -> Signer {
    Signer::Key { public_key: key.public_pem(), ignore_tlog: false }
}

fn verify(
    f: &Fixture,
    bundle: &Value,
    subject: &Subject,
    signer: &Signer,
) -> Result<verdict_sigstore::Verified, String> {
    f.verifier.verify("bundle.json", &bundle.to_string(), subject, signer).unwrap()
}

#[test]
fn keyless_and_key_signatures_verify() {
    let f = fixture();
    let key = SigningKey::generate();
    let artifact = b"hello, verdict".to_vec();
    let bundle = f.sigstore.sign_blob(&key, &artifact, Some((ID, ISSUER)), &Options::default());
    let verified = verify(&f, &bundle, &Subject::Bytes(artifact.clone()), &keyless(ID, ISSUER)).unwrap();
    assert_eq!((verified.identity.as_deref(), verified.issuer.as_deref()), (Some(ID), Some(ISSUER)));
    assert!(verified.integrated_time.is_some());

    let bundle = f.sigstore.sign_blob(&key, &artifact, None, &Options::default());
    verify(&f, &bundle, &Subject::Bytes(artifact.clone()), &key_signer(&key)).unwrap();
    // By digest too.
    let digest = hex::encode(sha2::Sha256::digest(&artifact));
    verify(&f, &bundle, &Subject::Digest(digest), &key_signer(&key)).unwrap();
}

#[test]
fn dsse_attestations_verify_against_their_subject() {
    let f = fixture();
    let key = SigningKey::generate();
    let digest = "sha256:".to_owned() + &"ab".repeat(32);
    let statement = statement(
        "ghcr.io/acme/app",
        &digest,
        "https://slsa.dev/provenance/v1",
        json!({"buildDefinition": {}}),
    );
    let bundle = f.sigstore.attest(&key, &statement, Some((ID, ISSUER)), &Options::default());
    verify(&f, &bundle, &Subject::Digest("ab".repeat(32)), &keyless(ID, ISSUER)).unwrap();
    let other = verify(&f, &bundle, &Subject::Digest("cd".repeat(32)), &keyless(ID, ISSUER));
    assert!(other.is_err(), "a statement about another digest must not verify");
    let bundle = f.sigstore.attest(&key, &statement, None, &Options::default());
    verify(&f, &bundle, &Subject::Digest("ab".repeat(32)), &key_signer(&key)).unwrap();
}

#[test]
fn every_way_of_making_a_bundle_wrong_is_refused() {
    let f = fixture();
    let key = SigningKey::generate();
    let artifact = b"artifact".to_vec();
    let subject = Subject::Bytes(artifact.clone());
    let sign = |options: Options| f.sigstore.sign_blob(&key, &artifact, Some((ID, ISSUER)), &options);
    let cases: Vec<(&str, Value, Signer, &str)> = vec![
        (
            "wrong identity",
            sign(Options::default()),
            keyless("https://github.com/evil/app/.github/workflows/x.yml@refs/heads/main", ISSUER),
            "certificate identity",
        ),
        ("wrong issuer", sign(Options::default()), keyless(ID, "https://accounts.google.com"), "OIDC issuer"),
        (
            "certificate expired before the log entry",
            sign(Options { cert_not_before: -7200, cert_not_after: -3600, ..Options::default() }),
            keyless(ID, ISSUER),
            "CertExpired",
        ),
        (
            "certificate not yet valid",
            sign(Options { cert_not_before: 3600, cert_not_after: 7200, ..Options::default() }),
            keyless(ID, ISSUER),
            "CertNotValidYet",
        ),
        (
            "forged signed entry timestamp",
            sign(Options { forge_set: true, ..Options::default() }),
            keyless(ID, ISSUER),
            "SET verification failed",
        ),
        (
            "broken inclusion proof",
            sign(Options { break_inclusion_proof: true, ..Options::default() }),
            keyless(ID, ISSUER),
            "inclusion proof",
        ),
        (
            "no SCT",
            sign(Options { omit_sct: true, ..Options::default() }),
            keyless(ID, ISSUER),
            "missing SCT",
        ),
        (
            "a key the policy does not name",
            f.sigstore.sign_blob(&key, &artifact, None, &Options::default()),
            key_signer(&SigningKey::generate()),
            "signature verification failed",
        ),
    ];
    for (case, bundle, signer, reason) in cases {
        let outcome = verify(&f, &bundle, &subject, &signer);
        let error = outcome.expect_err(case);
        assert!(error.contains(reason), "{case}: {error}");
    }
    // A tampered artifact, and a certificate from a CA another instance trusts.
    let bundle = sign(Options::default());
    assert!(verify(&f, &bundle, &Subject::Bytes(b"artifacT".to_vec()), &keyless(ID, ISSUER)).is_err());
    let stranger = TestSigstore::new().sign_blob(&key, &artifact, Some((ID, ISSUER)), &Options::default());
    assert!(verify(&f, &stranger, &subject, &keyless(ID, ISSUER)).is_err());
}

use sha2::Digest as _;

#[test]
fn roots_are_told_from_leaves_and_pem_chains_are_read() {
    let sigstore = TestSigstore::new();
    let key = SigningKey::generate();
    let leaf = sigstore.certificate(&key, ID, ISSUER, &Options::default());
    assert!(verdict_sigstore::is_self_signed(sigstore.ca_der()));
    assert!(!verdict_sigstore::is_self_signed(&leaf));
    assert!(!verdict_sigstore::is_self_signed(b"not a certificate"));
    let pem = |der: &[u8]| {
        use base64::Engine;
        format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            base64::engine::general_purpose::STANDARD.encode(der)
        )
    };
    let chain = format!("{}{}", pem(&leaf), pem(sigstore.ca_der()));
    assert_eq!(
        verdict_sigstore::certificates_from_pem(&chain).unwrap(),
        vec![leaf, sigstore.ca_der().to_vec()]
    );
    assert!(verdict_sigstore::certificates_from_pem("no certificate here").is_err());
}

#[test]
fn a_signature_without_a_log_entry_is_accepted_only_for_a_key_whose_policy_waives_the_log() {
    let f = fixture();
    let key = SigningKey::generate();
    let artifact = b"air-gapped build".to_vec();
    let subject = Subject::Bytes(artifact.clone());
    let unlogged = Options { omit_tlog: true, ..Options::default() };
    let waived = Signer::Key { public_key: key.public_pem(), ignore_tlog: true };

    let bundle = f.sigstore.sign_blob(&key, &artifact, None, &unlogged);
    assert_eq!(bundle.pointer("/verificationMaterial/tlogEntries"), Some(&json!([])));
    let refused = verify(&f, &bundle, &subject, &key_signer(&key)).unwrap_err();
    assert!(refused.contains("no transparency-log entry") && refused.contains("ignoreTlog"), "{refused}");
    let verified = verify(&f, &bundle, &subject, &waived).unwrap();
    assert_eq!(verified.integrated_time, None);
    // Waiving the log does not waive the signature: another key, or another artifact, is refused.
    let stranger = Signer::Key { public_key: SigningKey::generate().public_pem(), ignore_tlog: true };
    assert!(verify(&f, &bundle, &subject, &stranger).is_err());
    assert!(verify(&f, &bundle, &Subject::Bytes(b"other".to_vec()), &waived).is_err());
    // A logged signature still verifies with the log waived, and DSSE attestations follow the same rule.
    let logged = f.sigstore.sign_blob(&key, &artifact, None, &Options::default());
    verify(&f, &logged, &subject, &waived).unwrap();
    let digest = "ab".repeat(32);
    let statement = statement("app", &digest, "https://slsa.dev/provenance/v1", json!({}));
    let attestation = f.sigstore.attest(&key, &statement, None, &unlogged);
    assert!(verify(&f, &attestation, &Subject::Digest(digest.clone()), &key_signer(&key)).is_err());
    verify(&f, &attestation, &Subject::Digest(digest), &waived).unwrap();
    // Keyless signatures always need the log.
    let keyless_unlogged = f.sigstore.sign_blob(&key, &artifact, Some((ID, ISSUER)), &unlogged);
    let refused = verify(&f, &keyless_unlogged, &subject, &keyless(ID, ISSUER)).unwrap_err();
    assert!(refused.contains("no transparency-log entry"), "{refused}");
}
