//! `verify image` in process against the fake registry on loopback: an image signed keyless with a
//! provenance attestation (two bundle referrers). `cold` fetches everything again each time (a new
//! registry client: digest, legacy tags, referrers, manifests, blobs) and verifies; `cached` verifies
//! and decides over material already fetched (what a webhook caching by digest would do);
//! `verifier_build` is loading the trusted root. Run: `cargo bench -p verdict-images`.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use serde_json::json;
use verdict_imagepolicy::{ImagePolicy, ImageReference, decide, load_image_policy};
use verdict_images::{FetchOptions, check, fetch, verify_image};
use verdict_rego::Limits;
use verdict_sigstore::BundleVerifier;
use verdict_testkit::cosign::{push_bundles, push_image};
use verdict_testkit::registry::FakeRegistry;
use verdict_testkit::sigstore::{Options, SigningKey, TestSigstore, statement};

const ID: &str = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main";
const ISSUER: &str = "https://token.actions.githubusercontent.com";

struct Setup {
    registry: FakeRegistry,
    image: ImageReference,
    policy: ImagePolicy,
    root: tempfile::TempDir,
    runtime: tokio::runtime::Runtime,
}

fn setup() -> Setup {
    let sigstore = TestSigstore::new();
    let key = SigningKey::generate();
    let registry = FakeRegistry::empty(None, true);
    let (digest, size) = push_image(&registry, "acme/app", "v1", b"bench");
    let name = format!("{}/acme/app", registry.host());
    let who = Some((ID, ISSUER));
    let sign = statement(&name, &digest, "https://sigstore.dev/cosign/sign/v1", json!({}));
    let provenance = statement(
        &name,
        &digest,
        "https://slsa.dev/provenance/v1",
        json!({"buildDefinition": {"buildType": "gha"}}),
    );
    let bundles = [
        (sigstore.attest(&key, &sign, who, &Options::default()), "https://sigstore.dev/cosign/sign/v1"),
        (sigstore.attest(&key, &provenance, who, &Options::default()), "https://slsa.dev/provenance/v1"),
    ];
    push_bundles(&registry, "acme/app", &digest, size, &bundles, false);
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("root.json"), sigstore.trusted_root()).unwrap();
    let policy = format!(
        "apiVersion: verdict.dev/v1\nkind: ImagePolicy\nrules:\n  - name: acme\n    images: [\"{}/acme/*\"]\n    attestors:\n      entries:\n        - keyless: {{issuer: \"{ISSUER}\", subject: \"{ID}\"}}\n    attestations:\n      - predicateType: https://slsa.dev/provenance/v1\n        policy: |\n          package policy\n          default allow := false\n          allow if input.predicate.buildDefinition.buildType == \"gha\"\n",
        registry.host()
    );
    let policy = load_image_policy("bench.yml", &policy).unwrap();
    let image = ImageReference::parse(&format!("{name}:v1")).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    Setup { registry, image, policy, root, runtime }
}

fn main() {
    divan::main();
}

#[divan::bench(sample_count = 200)]
fn cold(bencher: divan::Bencher) {
    let setup = setup();
    let verifier = BundleVerifier::new(Some(&setup.root.path().join("root.json"))).unwrap();
    let options = FetchOptions::default();
    bencher.bench_local(|| {
        let (decision, _) = setup
            .runtime
            .block_on(verify_image(&setup.image, &setup.policy, &verifier, &options, &Limits::default()))
            .unwrap();
        assert!(decision.allowed, "{:?}", decision.reasons);
    });
    drop(setup.registry);
}

#[divan::bench(sample_count = 500)]
fn cached(bencher: divan::Bencher) {
    let setup = setup();
    let verifier = BundleVerifier::new(Some(&setup.root.path().join("root.json"))).unwrap();
    let fetched = setup.runtime.block_on(fetch(&setup.image, &FetchOptions::default())).unwrap();
    bencher.bench_local(|| {
        let decision = decide(
            &setup.policy,
            &setup.image,
            &fetched.digest,
            &fetched.signatures,
            &fetched.attestations,
            |attestor, candidate| check(&verifier, attestor, candidate),
            &Limits::default(),
        );
        assert!(decision.allowed);
    });
}

#[divan::bench(sample_count = 200)]
fn verifier_build(bencher: divan::Bencher) {
    let setup = setup();
    let path = setup.root.path().join("root.json");
    bencher.bench_local(|| BundleVerifier::new(Some(&path)).unwrap());
}
