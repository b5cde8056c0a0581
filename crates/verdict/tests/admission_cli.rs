//! The admission webhook end to end: `verdict admission serve` over HTTPS (a certificate made here,
//! trusted by the test's client), an image signed and attested by the test-only Sigstore and an unsigned
//! one in the in-process fake registry, and AdmissionReviews for a Deployment with each — admitted and
//! denied in enforce, admitted with a warning in warn, admitted silently in audit; bad reviews refused
//! with 400; a registry that is down fails the image; the certificate reloaded while serving; and
//! `verdict admission review` deciding the same offline.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::Duration;

use serde_json::{Value, json};
use verdict_testkit::cosign::{Store, push_image, push_signed_image};
use verdict_testkit::registry::FakeRegistry;
use verdict_testkit::server::spawn_announcing;
use verdict_testkit::sigstore::{SigningKey, TestSigstore};

const ID: &str = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main";
const ISSUER: &str = "https://token.actions.githubusercontent.com";
const SLSA: &str = "https://slsa.dev/provenance/v1";

const POLICY: &str = r#"apiVersion: verdict.dev/v1
kind: ImagePolicy
rules:
  - name: acme
    images: ["HOST/acme/*", "127.0.0.1:9/**"]
    attestors:
      entries:
        - keyless:
            issuer: https://token.actions.githubusercontent.com
            subject: https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main
    attestations:
      - name: provenance
        predicateType: https://slsa.dev/provenance/v1
"#;

struct World {
    dir: tempfile::TempDir,
    /// The registry (the in-process fake or Debian's docker-registry), kept running for the test.
    _registry: Box<dyn std::any::Any>,
    host: String,
    signed: String,
    signed_digest: String,
    unsigned: String,
}

impl World {
    fn new() -> World {
        let registry = FakeRegistry::empty(None, true);
        let host = registry.host();
        World::on(registry, host)
    }

    /// The images and files of the world, in `registry` (reached at `host`).
    fn on<R: Store + 'static>(registry: R, host: String) -> World {
        let dir = tempfile::tempdir().unwrap();
        let sigstore = TestSigstore::new();
        std::fs::write(dir.path().join("root.json"), sigstore.trusted_root()).unwrap();
        let key = SigningKey::generate();
        let digest =
            push_signed_image(&registry, &host, &sigstore, &key, ("acme/app", "v1"), (ID, ISSUER), &[SLSA]);
        push_image(&registry, "acme/unsigned", "v1", b"unsigned");
        std::fs::write(dir.path().join("policy.yml"), POLICY.replace("HOST", &host)).unwrap();
        std::fs::write(dir.path().join("docker.json"), "{}").unwrap();
        std::fs::write(
            dir.path().join("admission.yaml"),
            "apiVersion: verdict.dev/v1\nkind: AdmissionConfig\npolicies: [policy.yml]\ntrustedRoot: root.json\nmode: enforce\nbudget: 8s\nregistry:\n  dockerConfig: docker.json\n  requestTimeout: 2s\ncache:\n  positiveTtl: 10m\n  negativeTtl: 30s\n",
        )
        .unwrap();
        World {
            signed: format!("{host}/acme/app:v1"),
            signed_digest: digest,
            unsigned: format!("{host}/acme/unsigned:v1"),
            dir,
            _registry: Box::new(registry),
            host,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A self-signed certificate for 127.0.0.1 with `name` as its common name: (certificate, key) PEMs.
    fn make_certificate(name: &str) -> (String, String) {
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params.subject_alt_names.push(rcgen::SanType::IpAddress("127.0.0.1".parse().unwrap()));
        params.distinguished_name.push(rcgen::DnType::CommonName, name);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    /// Writes a new certificate (`tls.crt`, `tls.key`); returns its PEM.
    fn certificate(&self, name: &str) -> String {
        let (cert, key) = World::make_certificate(name);
        // Key first, then the certificate: a reload never pairs a new certificate with an old key.
        std::fs::write(self.path("tls.key"), key).unwrap();
        std::fs::write(self.path("tls.crt"), &cert).unwrap();
        cert
    }

    fn judge_args(&self) -> Vec<String> {
        vec![
            "--policy".into(),
            self.path("policy.yml").display().to_string(),
            "--trusted-root".into(),
            self.path("root.json").display().to_string(),
            "--docker-config".into(),
            self.path("no-docker-config.json").display().to_string(),
        ]
    }
}

/// A running webhook, killed when dropped.
struct Webhook {
    child: Child,
    url: String,
}

impl Drop for Webhook {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(world: &World, extra: &[&str]) -> Webhook {
    start_with(world, extra, true)
}

fn start_with(world: &World, extra: &[&str], judge_flags: bool) -> Webhook {
    let log = world.path(&format!("webhook-{}.log", extra.join("_").replace('/', "")));
    let mut command = Command::new(assert_cmd::cargo::cargo_bin("verdict"));
    command
        .args(["admission", "serve", "--listen", "127.0.0.1:0"])
        .args(if judge_flags { world.judge_args() } else { Vec::new() })
        .args(extra)
        .env("VERDICT_LOG", "info");
    let (child, url) = spawn_announcing(command, "verdict admission webhook listening on ", &log);
    Webhook { child, url }
}

fn client(trusted_pem: Option<&str>) -> reqwest::Client {
    let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(20)).pool_max_idle_per_host(0);
    if let Some(pem) = trusted_pem {
        builder = builder.tls_certs_only([reqwest::Certificate::from_pem(pem.as_bytes()).unwrap()]);
    }
    builder.build().unwrap()
}

fn deployment_review(uid: &str, namespace: &str, image: &str) -> Value {
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": uid, "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
        "resource": {"group": "apps", "version": "v1", "resource": "deployments"},
        "operation": "CREATE", "namespace": namespace, "name": "web", "userInfo": {"username": "dev"},
        "object": {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": namespace},
                   "spec": {"template": {"spec": {"containers": [{"name": "web", "image": image}]}}}}}})
}

async fn post(client: &reqwest::Client, url: &str, body: Vec<u8>) -> (u16, Value) {
    let response = client
        .post(format!("{url}/validate"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn review(client: &reqwest::Client, url: &str, uid: &str, image: &str) -> Value {
    let (status, answer) =
        post(client, url, deployment_review(uid, "shop", image).to_string().into_bytes()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["response"]["uid"], uid, "{answer}");
    answer["response"].clone()
}

#[test]
fn the_webhook_admits_signed_and_denies_unsigned_in_every_mode() {
    // The fake registry runs its own runtime: the world is built outside the test's.
    let world = World::new();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(webhook_scenario(&world));
}

async fn webhook_scenario(world: &World) {
    let pem = world.certificate("first");
    let (cert, key) =
        (world.path("tls.crt").display().to_string(), world.path("tls.key").display().to_string());
    let config = world.path("admission.yaml").display().to_string();
    let tls = ["--tls-cert", cert.as_str(), "--tls-key", key.as_str(), "--config", config.as_str()];
    let enforce = start_with(world, &tls, false);
    assert!(enforce.url.starts_with("https://127.0.0.1:"), "{}", enforce.url);
    let https = client(Some(&pem));

    let signed = review(&https, &enforce.url, "u-signed", &world.signed).await;
    assert_eq!(signed["allowed"], true, "{signed}");
    let unsigned = review(&https, &enforce.url, "u-unsigned", &world.unsigned).await;
    assert_eq!(unsigned["allowed"], false);
    let message = unsigned["status"]["message"].as_str().unwrap();
    assert!(message.contains(&world.unsigned) && message.contains("not signed"), "{message}");
    assert!(message.contains("object.spec.template.spec.containers[0].image"), "{message}");
    // A registry that is down fails the image (fail closed), with the reason.
    let down = review(&https, &enforce.url, "u-down", "127.0.0.1:9/acme/app:v1").await;
    assert_eq!(down["allowed"], false);
    assert!(down["status"]["message"].as_str().unwrap().contains("unavailable"), "{down}");
    // Exempt namespace: admitted without evaluation.
    let (_, system) = post(
        &https,
        &enforce.url,
        deployment_review("u-sys", "kube-system", &world.unsigned).to_string().into_bytes(),
    )
    .await;
    assert_eq!(system["response"]["allowed"], true);
    // The same signed image again: answered from the cache (keyed by the digest the registry serves).
    assert_eq!(review(&https, &enforce.url, "u-signed-2", &world.signed).await["allowed"], true);
    let metrics = https.get(format!("{}/metrics", enforce.url)).send().await.unwrap().text().await.unwrap();
    for series in [
        "verdict_admission_requests_total 5",
        "verdict_admission_decisions_total{outcome=\"admitted\",passed=\"true\",mode=\"enforce\",namespace=\"shop\"} 2",
        "verdict_admission_decisions_total{outcome=\"denied\",passed=\"false\",mode=\"enforce\",namespace=\"shop\"} 2",
        "verdict_admission_image_failures_total{reason=\"registry\"} 1",
        "verdict_admission_image_failures_total{reason=\"policy\"} 1",
        "verdict_admission_cache_hits 1",
        "verdict_admission_request_seconds_bucket",
    ] {
        assert!(metrics.contains(series), "{series} missing from:\n{metrics}");
    }
    // Health and readiness.
    assert_eq!(https.get(format!("{}/healthz", enforce.url)).send().await.unwrap().status(), 200);
    assert_eq!(https.get(format!("{}/readyz", enforce.url)).send().await.unwrap().status(), 200);
    // Bad reviews: 400 with what is wrong, never an allow.
    for (body, expected) in [
        (b"{not json".to_vec(), "not JSON"),
        (
            json!({"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview", "request": {}})
                .to_string()
                .into_bytes(),
            "admission.k8s.io/v1beta1",
        ),
        (
            json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}).to_string().into_bytes(),
            "no request",
        ),
    ] {
        let (status, answer) = post(&https, &enforce.url, body).await;
        assert_eq!(status, 400, "{answer}");
        assert!(answer["error"]["message"].as_str().unwrap().contains(expected), "{answer}");
    }
    // A client that does not trust the certificate cannot talk to it.
    let untrusting = client(Some(&world.certificate_pem_other()));
    assert!(untrusting.get(format!("{}/healthz", enforce.url)).send().await.is_err());

    // The certificate is rotated in place while requests keep coming (a client trusting both, new
    // connections each time): new handshakes use the new one, without a restart, and no request fails.
    let (next_cert, next_key) = World::make_certificate("second");
    let both = reqwest::Client::builder()
        .tls_certs_only([
            reqwest::Certificate::from_pem(pem.as_bytes()).unwrap(),
            reqwest::Certificate::from_pem(next_cert.as_bytes()).unwrap(),
        ])
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let load = {
        let (both, url, image) = (both.clone(), enforce.url.clone(), world.signed.clone());
        tokio::spawn(async move {
            let mut answered = 0;
            for index in 0..60 {
                let body =
                    deployment_review(&format!("u-load-{index}"), "shop", &image).to_string().into_bytes();
                let (status, answer) = post(&both, &url, body).await;
                answered += usize::from(status == 200 && answer["response"]["allowed"] == true);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            answered
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    std::fs::write(world.path("tls.key"), &next_key).unwrap();
    std::fs::write(world.path("tls.crt"), &next_cert).unwrap();
    let rotated = next_cert;
    let fresh = client(Some(&rotated));
    let mut reloaded = false;
    for _ in 0..50 {
        if fresh.get(format!("{}/healthz", enforce.url)).send().await.is_ok() {
            reloaded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(reloaded, "the rotated certificate was not picked up");
    assert_eq!(review(&fresh, &enforce.url, "u-after", &world.signed).await["allowed"], true);
    assert_eq!(load.await.unwrap(), 60, "every request during the rotation was answered");
    drop(enforce);

    // warn: admitted with the reasons as warnings; audit: admitted silently. Same evaluation.
    let warn = start(world, &["--insecure-http", "--mode", "warn"]);
    let http = client(None);
    let warned = review(&http, &warn.url, "u-warn", &world.unsigned).await;
    assert_eq!(warned["allowed"], true);
    assert!(warned["warnings"][0].as_str().unwrap().contains("not signed"), "{warned}");
    let audit = start(world, &["--insecure-http", "--mode", "audit"]);
    let audited = review(&http, &audit.url, "u-audit", &world.unsigned).await;
    assert_eq!(audited["allowed"], true);
    assert!(audited.get("warnings").is_none(), "{audited}");

    // An oversized review is refused with 400.
    let small = start(world, &["--insecure-http", "--max-body-bytes", "2KiB"]);
    let mut big = deployment_review("u-big", "shop", &world.signed);
    big["request"]["object"]["metadata"]["annotations"] = json!({"padding": "x".repeat(4096)});
    let (status, answer) = post(&http, &small.url, big.to_string().into_bytes()).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["error"]["message"].as_str().unwrap().contains("larger than 2048 bytes"), "{answer}");
}

#[test]
fn admission_config_is_validated_and_printed() {
    let world = World::new();
    let verdict = || Command::new(assert_cmd::cargo::cargo_bin("verdict"));
    let output =
        verdict().args(["admission", "validate"]).arg(world.path("admission.yaml")).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).contains("1 image policy, mode Enforce"));
    let printed = verdict()
        .args(["admission", "serve", "--insecure-http", "--print-config", "--config"])
        .arg(world.path("admission.yaml"))
        .output()
        .unwrap();
    assert_eq!(printed.status.code(), Some(0));
    let config: Value = serde_json::from_slice(&printed.stdout).unwrap();
    assert_eq!((config["mode"].as_str(), config["budget"].as_str()), (Some("enforce"), Some("8s")));
    assert_eq!(config["cache"]["negativeTtl"], "30s");
    // A mistake is exit 2 with file:line:column, and a bad policy it names is refused too.
    std::fs::write(
        world.path("bad.yaml"),
        "apiVersion: verdict.dev/v1\nkind: AdmissionConfig\npolicies: [policy.yml]\nmode: block\n",
    )
    .unwrap();
    let bad = verdict().args(["admission", "validate"]).arg(world.path("bad.yaml")).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("bad.yaml:4:7"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    std::fs::write(
        world.path("broken-policy.yml"),
        "apiVersion: verdict.dev/v1\nkind: ImagePolicy\nrules: [{name: x}]\n",
    )
    .unwrap();
    std::fs::write(
        world.path("uses-broken.yaml"),
        "apiVersion: verdict.dev/v1\nkind: AdmissionConfig\npolicies: [broken-policy.yml]\n",
    )
    .unwrap();
    let broken =
        verdict().args(["admission", "validate"]).arg(world.path("uses-broken.yaml")).output().unwrap();
    assert_eq!(broken.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&broken.stderr).contains("broken-policy.yml:3:"),
        "{}",
        String::from_utf8_lossy(&broken.stderr)
    );
}

#[test]
fn admission_review_decides_a_file_offline_like_the_webhook() {
    let world = World::new();
    let run = |image: &str| {
        let file = world.path("review.json");
        std::fs::write(&file, deployment_review("u-1", "shop", image).to_string()).unwrap();
        let output = Command::new(assert_cmd::cargo::cargo_bin("verdict"))
            .args(["admission", "review"])
            .arg(&file)
            .args(world.judge_args())
            .args(["-o", "json"])
            .output()
            .unwrap();
        (
            output.status.code().unwrap(),
            serde_json::from_slice::<Value>(&output.stdout).unwrap_or(Value::Null),
        )
    };
    let (code, signed) = run(&world.signed);
    assert_eq!((code, &signed["review"]["response"]["allowed"]), (0, &json!(true)), "{signed}");
    assert_eq!(signed["decision"]["images"][0]["allowed"], true);
    let (code, unsigned) = run(&world.unsigned);
    assert_eq!((code, &unsigned["review"]["response"]["allowed"]), (1, &json!(false)), "{unsigned}");
    let bad = world.path("bad.json");
    std::fs::write(&bad, "{}").unwrap();
    let output = Command::new(assert_cmd::cargo::cargo_bin("verdict"))
        .args(["admission", "review"])
        .arg(&bad)
        .args(world.judge_args())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("AdmissionReview"));
}

/// A policy's own mode (here, given where the config lists it) decides what its failure does: the same
/// unsigned image denied under the enforcing policy is admitted with a warning under a `warn` entry.
#[test]
fn a_policy_listed_with_its_own_mode_fails_in_that_mode() {
    let world = World::new();
    std::fs::write(
        world.path("warn.yaml"),
        "apiVersion: verdict.dev/v1\nkind: AdmissionConfig\npolicies:\n  - {path: policy.yml, mode: warn}\ntrustedRoot: root.json\nmode: enforce\nregistry: {dockerConfig: docker.json}\n",
    )
    .unwrap();
    let file = world.path("review.json");
    let run = |image: &str| {
        std::fs::write(&file, deployment_review("u-9", "shop", image).to_string()).unwrap();
        let output = Command::new(assert_cmd::cargo::cargo_bin("verdict"))
            .args(["admission", "review"])
            .arg(&file)
            .arg("--config")
            .arg(world.path("warn.yaml"))
            .args(["-o", "json"])
            .output()
            .unwrap();
        let answer = serde_json::from_slice::<Value>(&output.stdout).unwrap_or(Value::Null);
        (output.status.code().unwrap(), answer, String::from_utf8_lossy(&output.stderr).into_owned())
    };
    let (code, unsigned, stderr) = run(&world.unsigned);
    assert_eq!(code, 0, "{unsigned} {stderr}");
    assert_eq!(unsigned["review"]["response"]["allowed"], true, "{unsigned}");
    let warnings = unsigned["review"]["response"]["warnings"].to_string();
    assert!(warnings.contains("acme/unsigned"), "the warning names the image: {unsigned}");
    assert_eq!(unsigned["decision"]["images"][0]["allowed"], false, "the image still failed: {unsigned}");
    let (code, signed, stderr) = run(&world.signed);
    assert_eq!((code, &signed["review"]["response"]["allowed"]), (0, &json!(true)), "{signed} {stderr}");
    assert!(signed["review"]["response"]["warnings"].is_null(), "{signed}");
    // A mode verdict does not know is refused with its place, never read as a looser one.
    std::fs::write(
        world.path("bad-mode.yaml"),
        "apiVersion: verdict.dev/v1\nkind: AdmissionConfig\npolicies:\n  - {path: policy.yml, mode: quiet}\n",
    )
    .unwrap();
    let bad = Command::new(assert_cmd::cargo::cargo_bin("verdict"))
        .args(["admission", "validate"])
        .arg(world.path("bad-mode.yaml"))
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("bad-mode.yaml:4:"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}

/// The configuration is reloaded while serving: a change of mode applies to the next request without a
/// restart, and a configuration that no longer loads is refused (logged and counted) while the running
/// one keeps deciding.
#[test]
fn a_changed_configuration_is_reloaded_and_a_broken_one_keeps_the_running_one() {
    let world = World::new();
    let config = world.path("live.yaml");
    let write = |mode: &str| {
        std::fs::write(
            &config,
            format!("apiVersion: verdict.dev/v1\nkind: AdmissionConfig\npolicies: [policy.yml]\ntrustedRoot: root.json\nmode: {mode}\nregistry: {{dockerConfig: docker.json}}\n"),
        )
        .unwrap();
    };
    write("enforce");
    let path = config.display().to_string();
    let webhook = start_with(&world, &["--insecure-http", "--config", &path], false);
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap().block_on(
        async {
            let client = client(None);
            let admitted = |answer: &Value| answer["allowed"] == true;
            assert!(!admitted(&review(&client, &webhook.url, "r-1", &world.unsigned).await));
            write("audit");
            let mut reloaded = false;
            for attempt in 0..50 {
                if admitted(&review(&client, &webhook.url, &format!("r-2-{attempt}"), &world.unsigned).await)
                {
                    reloaded = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            assert!(reloaded, "the audit mode never applied");
            // A broken configuration: refused, and audit still decides.
            write("loud");
            let metrics = |client: reqwest::Client, url: String| async move {
                client.get(format!("{url}/metrics")).send().await.unwrap().text().await.unwrap()
            };
            let mut refused = false;
            for _ in 0..50 {
                if metrics(client.clone(), webhook.url.clone())
                    .await
                    .contains(r#"verdict_admission_config_reloads_total{outcome="refused"} 1"#)
                {
                    refused = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            assert!(
                refused,
                "the broken configuration was not refused: {}",
                metrics(client.clone(), webhook.url.clone()).await
            );
            assert!(admitted(&review(&client, &webhook.url, "r-3", &world.unsigned).await));
            assert!(admitted(&review(&client, &webhook.url, "r-4", &world.signed).await));
            // /readyz: still ready, on generation 2 in audit, saying why the broken file was not taken;
            // a good file again clears it.
            let ready = |client: reqwest::Client, url: String| async move {
                client.get(format!("{url}/readyz")).send().await.unwrap().json::<Value>().await.unwrap()
            };
            let status = ready(client.clone(), webhook.url.clone()).await;
            assert_eq!(
                (&status["status"], &status["generation"], &status["mode"]),
                (&json!("ready"), &json!(2), &json!("audit")),
                "{status}"
            );
            let refusal = status["last_update_refused"].as_str().unwrap_or_default();
            assert!(refusal.contains("live.yaml:5:7"), "{status}");
            write("enforce");
            let mut cleared = false;
            for _ in 0..50 {
                let status = ready(client.clone(), webhook.url.clone()).await;
                if status["generation"] == 3 {
                    assert!(status.get("last_update_refused").is_none(), "{status}");
                    assert_eq!(status["mode"], "enforce");
                    cleared = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            assert!(cleared, "the fixed configuration was never applied");
        },
    );
    drop(webhook);
    let log_name =
        format!("webhook-{}.log", ["--insecure-http", "--config", &path].join("_").replace('/', ""));
    let log = std::fs::read_to_string(world.path(&log_name)).unwrap();
    assert!(log.contains("admission configuration reloaded"), "{log}");
    assert!(log.contains("does not load; still serving the previous one"), "{log}");
    assert!(log.contains("live.yaml:5:7"), "the refusal names the place: {log}");
}

/// `verdict bench admission` loads a running webhook over HTTPS and reports each step: every review
/// answered (signed: admitted; unsigned: denied), latencies ordered; anything but loopback is refused.
#[test]
fn bench_admission_loads_a_local_webhook_and_refuses_other_hosts() {
    let world = World::new();
    let pem = world.certificate("bench");
    std::fs::write(world.path("ca.pem"), &pem).unwrap();
    let (cert, key) =
        (world.path("tls.crt").display().to_string(), world.path("tls.key").display().to_string());
    let webhook = start(&world, &["--tls-cert", &cert, "--tls-key", &key]);
    let bench = |image: &str| {
        let output = Command::new(assert_cmd::cargo::cargo_bin("verdict"))
            .args(["bench", "admission", "--url", &webhook.url, "--image", image])
            .args(["--rates", "20,40", "--seconds", "0.5", "--warm-up", "5", "-o", "json", "--ca-cert"])
            .arg(world.path("ca.pem"))
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
        serde_json::from_slice::<Value>(&output.stdout).unwrap()
    };
    let signed = bench(&world.signed);
    let steps = signed["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2, "{signed}");
    for (step, sent) in steps.iter().zip([10, 20]) {
        assert_eq!((step["sent"].as_u64(), step["admitted"].as_u64()), (Some(sent), Some(sent)), "{step}");
        assert_eq!(step["errors"], 0, "{step}");
        let (p50, p99, max) = (
            step["p50_ms"].as_f64().unwrap(),
            step["p99_ms"].as_f64().unwrap(),
            step["max_ms"].as_f64().unwrap(),
        );
        assert!(0.0 < p50 && p50 <= p99 && p99 <= max, "{step}");
    }
    let unsigned = bench(&world.unsigned);
    assert_eq!(unsigned["steps"][0]["denied"], 10, "{unsigned}");
    for (url, expected) in [
        ("https://10.0.0.1:8443", "only to a webhook on this machine"),
        ("https://verdict.example:8443", "only to a webhook on this machine"),
        ("not a url", "is not a URL"),
    ] {
        let refused = Command::new(assert_cmd::cargo::cargo_bin("verdict"))
            .args(["bench", "admission", "--url", url, "--image", "x"])
            .output()
            .unwrap();
        assert_eq!(refused.status.code(), Some(2));
        assert!(
            String::from_utf8_lossy(&refused.stderr).contains(expected),
            "{}",
            String::from_utf8_lossy(&refused.stderr)
        );
    }
    let too_fast = Command::new(assert_cmd::cargo::cargo_bin("verdict"))
        .args(["bench", "admission", "--url", &webhook.url, "--image", "x", "--rates", "100000"])
        .output()
        .unwrap();
    assert_eq!(too_fast.status.code(), Some(2));
}

impl World {
    /// A certificate nobody serves.
    fn certificate_pem_other(&self) -> String {
        let params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params.self_signed(&rcgen::KeyPair::generate().unwrap()).unwrap().pem()
    }
}

/// With `ledger.environment`, an image that satisfies the image policy must also be compliant with the
/// environment's attached policies (the same `assert artifact` as the CLI): denied without provenance,
/// admitted once its fingerprint is reported in a flow. Every decision but a dry run is recorded in the
/// ledger; a ledger that cannot be reached stops the webhook from starting.
#[test]
fn environment_policies_from_the_ledger_apply_at_admission_and_decisions_are_recorded() {
    let world = World::new();
    let db = world.path("ledger.db").display().to_string();
    let verdict = |args: &[&str]| {
        let output = Command::new(assert_cmd::cargo::cargo_bin("verdict"))
            .args(["--db", &db, "--org", "acme"])
            .args(args)
            .env_remove("VERDICT_HOST")
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    };
    let entries = || -> u64 {
        let report: Value = serde_json::from_str(&verdict(&["ledger", "verify", "-o", "json"])).unwrap();
        report["count"].as_u64().unwrap()
    };
    std::fs::write(
        world.path("provenance.yml"),
        "_schema: https://kosli.com/schemas/policy/environment/v1\nartifacts:\n  provenance:\n    required: true\n",
    )
    .unwrap();
    verdict(&["create", "environment", "prod", "--type", "K8S"]);
    verdict(&["create", "policy", "provenance", world.path("provenance.yml").to_str().unwrap()]);
    verdict(&["attach-policy", "provenance", "--environment", "prod"]);
    std::fs::write(
        world.path("with-ledger.yaml"),
        "apiVersion: verdict.dev/v1\nkind: AdmissionConfig\npolicies: [policy.yml]\ntrustedRoot: root.json\nregistry:\n  dockerConfig: docker.json\nledger:\n  db: ledger.db\n  org: acme\n  environment: prod\n",
    )
    .unwrap();
    let config = world.path("with-ledger.yaml").display().to_string();
    let webhook = start_with(&world, &["--insecure-http", "--config", &config], false);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let http = client(None);
    let before = entries();
    let denied = runtime.block_on(review(&http, &webhook.url, "u-1", &world.signed));
    assert_eq!(denied["allowed"], false, "{denied}");
    let message = denied["status"]["message"].as_str().unwrap();
    assert!(
        message.contains("not compliant in environment prod") && message.contains("provenance"),
        "{message}"
    );

    // The decision reaches the ledger asynchronously.
    for _ in 0..50 {
        if entries() > before {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(entries(), before + 1, "u-1 recorded");
    // Reported in a flow: now it has provenance, and is admitted.
    let hex = world.signed_digest.trim_start_matches("sha256:").to_owned();
    verdict(&["create", "flow", "app"]);
    verdict(&["begin", "trail", "t1", "--flow", "app"]);
    verdict(&[
        "attest",
        "artifact",
        "--fingerprint",
        &hex,
        "--name",
        "app",
        "--flow",
        "app",
        "--trail",
        "t1",
    ]);
    let after_report = entries();
    let admitted = runtime.block_on(review(&http, &webhook.url, "u-2", &world.signed));
    assert_eq!(admitted["allowed"], true, "{admitted}");
    // A dry run is evaluated but not recorded.
    let mut dry = deployment_review("u-dry", "shop", &world.signed);
    dry["request"]["dryRun"] = json!(true);
    let (_, answer) = runtime.block_on(post(&http, &webhook.url, dry.to_string().into_bytes()));
    assert_eq!(answer["response"]["allowed"], true);
    // u-2 is recorded too, and nothing for the dry run.
    assert_eq!(after_report, before + 4, "u-1 and the flow, trail and artifact");
    for _ in 0..50 {
        if entries() > after_report {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(entries(), after_report + 1, "u-2 recorded, the dry run not");
    drop(webhook);

    // Replay: the recorded decisions judged with a candidate configuration.
    let replay = |config: &str| {
        let output = Command::new(assert_cmd::cargo::cargo_bin("verdict"))
            .args([
                "--db",
                &db,
                "--org",
                "acme",
                "admission",
                "replay",
                "--since",
                "1h",
                "--config",
                config,
                "-o",
                "json",
            ])
            .env_remove("VERDICT_HOST")
            .output()
            .unwrap();
        (
            output.status.code().unwrap(),
            serde_json::from_slice::<Value>(&output.stdout).unwrap_or(Value::Null),
        )
    };
    let (code, same) = replay(world.path("admission.yaml").to_str().unwrap());
    assert_eq!(
        (code, same["decisions"].as_u64(), same["would_block"].as_u64()),
        (0, Some(2), Some(0)),
        "{same}"
    );
    std::fs::write(
        world.path("strict-policy.yml"),
        POLICY.replace("HOST", &world.host).replace("acme/app/", "acme/other/"),
    )
    .unwrap();
    std::fs::write(
        world.path("strict.yaml"),
        "apiVersion: verdict.dev/v1\nkind: AdmissionConfig\npolicies: [strict-policy.yml]\ntrustedRoot: root.json\nregistry:\n  dockerConfig: docker.json\n",
    )
    .unwrap();
    let (code, strict) = replay(world.path("strict.yaml").to_str().unwrap());
    assert_eq!((code, strict["would_block"].as_u64()), (1, Some(2)), "{strict}");
    assert_eq!(strict["replayed"][0]["workload"], "shop/Deployment/web");
    assert!(strict["replayed"][1]["reasons"][0].as_str().unwrap().contains("acme/app:v1"), "{strict}");
    // A candidate naming an environment is judged by its policies too, as the webhook would.
    std::fs::write(
        world.path("tested.yml"),
        "_schema: https://kosli.com/schemas/policy/environment/v1\nartifacts:\n  attestations:\n    - name: unit-tests\n      type: junit\n",
    )
    .unwrap();
    verdict(&["create", "environment", "staging", "--type", "K8S"]);
    verdict(&["create", "policy", "tested", world.path("tested.yml").to_str().unwrap()]);
    verdict(&["attach-policy", "tested", "--environment", "staging"]);
    std::fs::write(
        world.path("staging.yaml"),
        "apiVersion: verdict.dev/v1\nkind: AdmissionConfig\npolicies: [policy.yml]\ntrustedRoot: root.json\nregistry:\n  dockerConfig: docker.json\nledger:\n  db: ledger.db\n  org: acme\n  environment: staging\n",
    )
    .unwrap();
    let (code, staging) = replay(world.path("staging.yaml").to_str().unwrap());
    assert_eq!((code, staging["would_block"].as_u64()), (1, Some(2)), "{staging}");
    assert!(staging.to_string().contains("unit-tests"), "the environment's reason: {staging}");
    // A window with no decisions is not a safe one.
    std::thread::sleep(Duration::from_millis(2100));
    let empty = Command::new(assert_cmd::cargo::cargo_bin("verdict"))
        .args(["--db", &db, "--org", "acme", "admission", "replay", "--since", "1s", "--config"])
        .arg(world.path("admission.yaml"))
        .env_remove("VERDICT_HOST")
        .output()
        .unwrap();
    assert_eq!(empty.status.code(), Some(2), "{}", String::from_utf8_lossy(&empty.stdout));
    assert!(String::from_utf8_lossy(&empty.stderr).contains("no admission decisions recorded"));
    let accepted = Command::new(assert_cmd::cargo::cargo_bin("verdict"))
        .args([
            "--db",
            &db,
            "--org",
            "acme",
            "admission",
            "replay",
            "--since",
            "1s",
            "--allow-empty",
            "--config",
        ])
        .arg(world.path("admission.yaml"))
        .env_remove("VERDICT_HOST")
        .output()
        .unwrap();
    assert_eq!(accepted.status.code(), Some(0), "{}", String::from_utf8_lossy(&accepted.stderr));

    // An image that fails both ways is denied with both reasons at once: unsigned, and without
    // provenance in prod.
    std::fs::write(
        world.path("unsigned-review.json"),
        deployment_review("u-both", "shop", &world.unsigned).to_string(),
    )
    .unwrap();
    let both = Command::new(assert_cmd::cargo::cargo_bin("verdict"))
        .args(["admission", "review", "-o", "json", "--config"])
        .arg(world.path("with-ledger.yaml"))
        .arg(world.path("unsigned-review.json"))
        .env_remove("VERDICT_HOST")
        .output()
        .unwrap();
    assert_eq!(both.status.code(), Some(1), "{}", String::from_utf8_lossy(&both.stderr));
    let both: Value = serde_json::from_slice(&both.stdout).unwrap();
    let reasons = both["decision"]["reasons"].to_string();
    assert!(
        reasons.contains("not signed") && reasons.contains("not compliant in environment prod"),
        "{reasons}"
    );

    // A ledger that cannot be reached: the webhook does not start (exit 3), so it never admits blindly.
    std::fs::write(
        world.path("down.yaml"),
        "apiVersion: verdict.dev/v1\nkind: AdmissionConfig\npolicies: [policy.yml]\ntrustedRoot: root.json\nledger:\n  host: http://127.0.0.1:9\n  org: acme\n  environment: prod\n",
    )
    .unwrap();
    let output = Command::new(assert_cmd::cargo::cargo_bin("verdict"))
        .args(["admission", "serve", "--insecure-http", "--listen", "127.0.0.1:0", "--config"])
        .arg(world.path("down.yaml"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", String::from_utf8_lossy(&output.stderr));
}

/// The same webhook against a real registry (Debian's docker-registry 2.8, no referrers API: the
/// signatures are found through the referrers tag): signed admitted, unsigned denied. Required in CI
/// (VERDICT_REQUIRE_DOCKER_REGISTRY=1); skipped elsewhere when it is not installed.
#[test]
fn the_webhook_decides_the_same_against_a_real_registry() {
    let Some(registry) = verdict_testkit::docker_registry::DockerRegistry::start() else { return };
    let host = registry.host();
    let world = World::on(registry, host);
    let pem = world.certificate("real");
    let (cert, key) =
        (world.path("tls.crt").display().to_string(), world.path("tls.key").display().to_string());
    let webhook = start(&world, &["--tls-cert", &cert, "--tls-key", &key]);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let https = client(Some(&pem));
    let signed = runtime.block_on(review(&https, &webhook.url, "u-real-signed", &world.signed));
    assert_eq!(signed["allowed"], true, "{signed}");
    let unsigned = runtime.block_on(review(&https, &webhook.url, "u-real-unsigned", &world.unsigned));
    assert_eq!(unsigned["allowed"], false, "{unsigned}");
    assert!(unsigned["status"]["message"].as_str().unwrap().contains("not signed"), "{unsigned}");
}
