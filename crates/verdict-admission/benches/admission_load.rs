//! The admission webhook under load, in one process on loopback: a fixed-rate (open-loop) generator
//! sends AdmissionReviews for a Deployment over HTTPS (keep-alive connections) to `verdict admission`'s
//! server, whose judge verifies images signed and attested by the test-only Sigstore in the fake
//! registry. Warm: one image, so after the first request every answer comes from the cache (one manifest
//! request to resolve the digest, then the cached result); 100, 500 and 1,000 requests/s for 5 s each.
//! Cold: every request names an image never seen (a full verification each), 20 requests/s. Bounded:
//! at most rate × 5 s requests per step, loopback only. Prints a Markdown table.
//!
//! Run: `cargo bench -p verdict-admission --bench admission_load`.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use verdict_admission::cache::VerificationCache;
use verdict_admission::load::{TABLE_HEADER, run_step};
use verdict_admission::{
    CacheConfig, LiveEvaluator, PolicyJudge, RegistryAccess, ReloadingCertificate, Settings, WebhookConfig,
};
use verdict_imagepolicy::load_image_policy;
use verdict_rego::Limits;
use verdict_sigstore::BundleVerifier;
use verdict_testkit::cosign::push_signed_image;
use verdict_testkit::registry::FakeRegistry;
use verdict_testkit::sigstore::{SigningKey, TestSigstore};

const ID: &str = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main";
const ISSUER: &str = "https://token.actions.githubusercontent.com";
const SLSA: &str = "https://slsa.dev/provenance/v1";
const SECONDS: f64 = 5.0;

fn main() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    // The world: signed images in the fake registry (its own runtime), a trust root, a policy.
    let sigstore = TestSigstore::new();
    let key = SigningKey::generate();
    let registry = FakeRegistry::empty(None, true);
    let host = registry.host();
    let cold_images = (SECONDS * 20.0) as usize;
    let mut images = Vec::new();
    for index in 0..=cold_images {
        let repository = format!("acme/app{index}");
        push_signed_image(&registry, &host, &sigstore, &key, (&repository, "v1"), (ID, ISSUER), &[SLSA]);
        let name = format!("{host}/{repository}");
        images.push(format!("{name}:v1"));
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("root.json"), sigstore.trusted_root()).unwrap();
    let policy = format!(
        "apiVersion: verdict.dev/v1\nkind: ImagePolicy\nrules:\n  - name: acme\n    images: [\"{host}/acme/*\"]\n    attestors:\n      entries:\n        - keyless: {{issuer: \"{ISSUER}\", subject: \"{ID}\"}}\n    attestations:\n      - predicateType: {SLSA}\n"
    );
    let policy = load_image_policy("bench.yml", &policy).unwrap();
    let verifier = BundleVerifier::new(Some(&dir.path().join("root.json"))).unwrap();
    let access = RegistryAccess {
        docker_config: Some(dir.path().join("none.json")),
        request_timeout: Duration::from_secs(5),
        budget: Duration::from_secs(8),
    };
    let judge = PolicyJudge::new(policy, verifier, access, Limits::default())
        .with_cache(VerificationCache::new(CacheConfig::default()), "bench".to_owned());
    // A certificate for 127.0.0.1, trusted by the load generator's client.
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params.subject_alt_names.push(rcgen::SanType::IpAddress("127.0.0.1".parse().unwrap()));
    let key_pair = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key_pair).unwrap();
    std::fs::write(dir.path().join("tls.crt"), cert.pem()).unwrap();
    std::fs::write(dir.path().join("tls.key"), key_pair.serialize_pem()).unwrap();

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let steps = runtime.block_on(async {
        let tls =
            ReloadingCertificate::load(&dir.path().join("tls.crt"), &dir.path().join("tls.key")).unwrap();
        let config = WebhookConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            tls: Some(tls),
            max_body_bytes: 3 << 20,
            recorder: None,
        };
        let (sender, receiver) = tokio::sync::oneshot::channel();
        tokio::spawn(verdict_admission::serve(
            config,
            LiveEvaluator::new(judge, Settings::default()),
            move |address| {
                let _ = sender.send(address);
            },
        ));
        let url = format!("https://{}", receiver.await.unwrap());
        let client = reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(cert.pem().as_bytes()).unwrap()])
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        let warm_image = images[0].clone();
        // Warm the cache and the connections.
        run_step(&client, &url, "warm-up", 50.0, &vec![warm_image.clone(); 50]).await;
        let mut steps = Vec::new();
        for rate in [100.0, 500.0, 1000.0] {
            let requests = vec![warm_image.clone(); (rate * SECONDS) as usize];
            steps.push(run_step(&client, &url, "warm", rate, &requests).await);
        }
        steps.push(run_step(&client, &url, "cold", 20.0, &images[1..]).await);
        steps
    });
    println!("{TABLE_HEADER}");
    for step in steps {
        println!("{}", step.table_row());
    }
    drop(registry);
}
