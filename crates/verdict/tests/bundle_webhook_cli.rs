//! The webhook on a policy bundle from a registry tag (`--config oci://REF:TAG#PATH --bundle-poll`): a new
//! signed bundle behind the tag is switched to while serving; an unsigned one is refused and the running
//! bundle keeps deciding — an unverified policy is never served, and no request goes unanswered.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Child, Command};
use std::time::Duration;

use serde_json::{Value, json};
use verdict_testkit::docker_registry::DockerRegistry;
use verdict_testkit::server::spawn_announcing;

const IMAGES: &str = "apiVersion: verdict.dev/v1\nkind: ImagePolicy\nnoMatch: deny\nrules:\n  - name: none\n    images: [\"never.example/**\"]\n    attestors:\n      entries:\n        - key:\n            publicKey: |\n              -----BEGIN PUBLIC KEY-----\n              MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE8xD6Ynxf1qGzNxkKQ2W4m5tY3oPj\n              Qq3s9C0E5f3nq2mKkZr0VQm4mKQ2bPjzV9Q3cB5m8C1q2Y4k0p3m6uWj7A==\n              -----END PUBLIC KEY-----\n";

fn verdict(cache: &Path) -> assert_cmd::Command {
    let mut command = assert_cmd::Command::cargo_bin("verdict").unwrap();
    command.env("NO_COLOR", "1").env("VERDICT_CACHE_DIR", cache);
    command
}

struct Webhook(Child);

impl Drop for Webhook {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Builds a bundle whose webhook configuration has `mode` — or, for `bundle:MODE`, no mode of its own
/// and the bundle manifest's `admission` mode —, pushes it to `reference`, and signs it when `key` is
/// given. Returns the bundle's digest.
fn publish(
    root: &Path,
    cache: &Path,
    version: &str,
    mode: &str,
    reference: &str,
    key: Option<&Path>,
) -> String {
    let source = root.join(format!("source-{version}/adm"));
    std::fs::create_dir_all(&source).unwrap();
    std::fs::write(source.join("images.yml"), IMAGES).unwrap();
    let (own_mode, bundle_mode) = match mode.strip_prefix("bundle:") {
        Some(mode) => (String::new(), Some(mode)),
        None => (format!("mode: {mode}\n"), None),
    };
    std::fs::write(
        source.join("admission.yaml"),
        format!("# bundle version {version}\napiVersion: verdict.dev/v1\nkind: AdmissionConfig\npolicies: [images.yml]\n{own_mode}"),
    )
    .unwrap();
    let file = root.join(format!("bundle-{version}.tar"));
    let mut build = verdict(cache);
    build.args(["bundle", "build", "-o", file.to_str().unwrap(), "--format", "json"]);
    build.arg("--source").arg(format!("adm={}", source.display()));
    if let Some(mode) = bundle_mode {
        build.args(["--mode", &format!("admission={mode}")]);
    }
    let built = build.output().unwrap();
    assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));
    let built: Value = serde_json::from_slice(&built.stdout).unwrap();
    verdict(cache).args(["bundle", "push", file.to_str().unwrap(), reference]).assert().code(0);
    if let Some(key) = key {
        verdict(cache).args(["bundle", "sign", reference, "--key", key.to_str().unwrap()]).assert().code(0);
    }
    built["digest"].as_str().unwrap().to_owned()
}

fn review(uid: &str) -> Vec<u8> {
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": uid, "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "resource": {"group": "", "version": "v1", "resource": "pods"},
        "operation": "CREATE", "namespace": "shop", "name": "web", "userInfo": {"username": "dev"},
        "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "shop"},
                   "spec": {"containers": [{"name": "web", "image": "ghcr.io/acme/web:1"}]}}}})
    .to_string()
    .into_bytes()
}

#[test]
fn the_webhook_switches_to_a_verified_bundle_and_keeps_the_running_one_otherwise() {
    let Some(registry) = DockerRegistry::start() else { return };
    let root = tempfile::tempdir().unwrap();
    let cache = root.path().join("cache");
    let release = verdict_testkit::bundles::ReleaseKey::new(root.path(), &registry.host());
    let (key_file, policy) = (release.key_file.clone(), release.policy.clone());
    let reference = format!("{}/acme/webhook-policies:live", registry.host());
    let v1 = publish(root.path(), &cache, "1", "enforce", &reference, Some(&key_file));

    let mut command = Command::new(assert_cmd::cargo::cargo_bin("verdict"));
    command
        .args(["admission", "serve", "--listen", "127.0.0.1:0", "--insecure-http"])
        .args(["--config", &format!("oci://{reference}#adm/admission.yaml")])
        .args(["--bundle-policy", policy.to_str().unwrap(), "--bundle-poll", "500ms"])
        .env("VERDICT_CACHE_DIR", &cache)
        .env("VERDICT_LOG", "info");
    let log = root.path().join("webhook.log");
    let (child, url) = spawn_announcing(command, "verdict admission webhook listening on ", &log);
    let webhook = Webhook(child);

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
        let mut sent = 0;
        let mut ask = async |client: &reqwest::Client| -> Value {
            sent += 1;
            let response = client
                .post(format!("{url}/validate"))
                .header("content-type", "application/json")
                .body(review(&format!("r-{sent}")))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "every request is answered");
            response.json::<Value>().await.unwrap()["response"].clone()
        };
        assert_eq!(ask(&client).await["allowed"], false, "v1 enforces");
        let ready = async |client: &reqwest::Client| -> Value {
            client.get(format!("{url}/readyz")).send().await.unwrap().json().await.unwrap()
        };
        let status = ready(&client).await;
        assert_eq!(status["policy_bundle"]["digest"], v1.as_str(), "{status}");
        assert_eq!(status["policy_bundle"]["reference"], reference.as_str(), "{status}");
        assert_eq!((&status["mode"], &status["generation"]), (&json!("enforce"), &json!(1)));

        // v2, signed: its configuration has no mode; the bundle's manifest says `admission: audit`. The
        // webhook switches while serving.
        let v2 = publish(root.path(), &cache, "2", "bundle:audit", &reference, Some(&key_file));
        let mut switched = false;
        for _ in 0..60 {
            if ask(&client).await["allowed"] == true {
                switched = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(switched, "the signed v2 was never served: {}", std::fs::read_to_string(&log).unwrap());
        let status = ready(&client).await;
        assert_eq!(status["policy_bundle"]["digest"], v2.as_str(), "{status}");
        assert_eq!(status["mode"], "audit", "the bundle's admission mode applies: {status}");
        assert!(status.get("last_update_refused").is_none(), "{status}");

        // v3, unsigned (its own content, so its own digest): refused; v2 keeps deciding.
        let metrics = async |client: &reqwest::Client| -> String {
            client.get(format!("{url}/metrics")).send().await.unwrap().text().await.unwrap()
        };
        let counter = |text: &str, outcome: &str| -> u64 {
            let prefix = format!("verdict_admission_bundle_refreshes_total{{outcome=\"{outcome}\"}} ");
            text.lines()
                .find_map(|line| line.strip_prefix(&prefix))
                .and_then(|n| n.trim().parse().ok())
                .unwrap_or(0)
        };
        let before = metrics(&client).await;
        let (refused_before, applied_before) = (counter(&before, "refused"), counter(&before, "applied"));
        publish(root.path(), &cache, "3", "enforce", &reference, None);
        let mut refused = false;
        for _ in 0..60 {
            if counter(&metrics(&client).await, "refused") > refused_before {
                refused = true;
                break;
            }
            assert_eq!(ask(&client).await["allowed"], true, "the unverified v3 must never decide");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(refused, "the unsigned v3 was not refused: {}", std::fs::read_to_string(&log).unwrap());
        assert_eq!(ask(&client).await["allowed"], true, "v2 still decides");
        // The same refusal on later polls is reported once; nothing was applied.
        tokio::time::sleep(Duration::from_millis(1600)).await;
        let after = metrics(&client).await;
        assert_eq!(counter(&after, "refused"), refused_before + 1, "{after}");
        assert_eq!(counter(&after, "applied"), applied_before, "{after}");
        // /readyz: still ready, still serving v2, and says why v3 was not taken.
        let status = ready(&client).await;
        assert_eq!(status["status"], "ready");
        assert_eq!(status["policy_bundle"]["digest"], v2.as_str(), "{status}");
        assert!(
            status["last_update_refused"].as_str().unwrap().contains("not trusted by the bundle policy"),
            "{status}"
        );

        // v4, built and pushed in one step (`bundle build --push`), signed: enforce again.
        let source = root.path().join("source-4/adm");
        std::fs::create_dir_all(&source).unwrap();
        std::fs::write(source.join("images.yml"), IMAGES).unwrap();
        std::fs::write(
            source.join("admission.yaml"),
            "apiVersion: verdict.dev/v1\nkind: AdmissionConfig\npolicies: [images.yml]\nmode: enforce\n",
        )
        .unwrap();
        verdict(&cache)
            .args(["bundle", "build", "--push", &reference])
            .arg("--source")
            .arg(format!("adm={}", source.display()))
            .assert()
            .code(0)
            .stdout(predicates::str::contains("pushed: pin it as"));
        verdict(&cache)
            .args(["bundle", "sign", &reference, "--key", key_file.to_str().unwrap()])
            .assert()
            .code(0);
        let mut enforced = false;
        for _ in 0..60 {
            if ask(&client).await["allowed"] == false {
                enforced = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(enforced, "the signed v4 was never served: {}", std::fs::read_to_string(&log).unwrap());
        let status = ready(&client).await;
        assert!(status.get("last_update_refused").is_none(), "an applied bundle clears it: {status}");
        assert_ne!(status["policy_bundle"]["digest"], v2.as_str(), "{status}");
        assert_eq!(status["mode"], "enforce", "{status}");
    });
    drop(webhook);
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(log.contains("switched to a new policy bundle"), "{log}");
    assert!(log.contains("not trusted by the bundle policy"), "{log}");
}
