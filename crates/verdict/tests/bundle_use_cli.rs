//! Bundles used where policy files are taken: `FILE.tar#PATH` and `oci://REF#PATH` in `policy validate`,
//! `apply` and `assert artifact`, the bundle digest and source commit named in the decision, a registry
//! bundle used only after its signatures pass `--bundle-policy`, and a pinned one usable offline once
//! cached.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use verdict_testkit::docker_registry::DockerRegistry;
use verdict_testkit::git::git;

fn verdict(cache: &Path) -> Command {
    let mut command = Command::cargo_bin("verdict").unwrap();
    command
        .env("NO_COLOR", "1")
        .env("VERDICT_CACHE_DIR", cache)
        .env_remove("VERDICT_DB")
        .env_remove("VERDICT_HOST");
    command
}

const KYVERNO: &str = verdict_testkit::DISALLOW_LATEST;

/// A bundle of a git-tracked `security` source (the example environment policy) and a `platform` source
/// (a Kyverno policy); returns the bundle file, its digest and the security commit.
fn bundle(root: &Path, cache: &Path) -> (std::path::PathBuf, String, String) {
    let security = root.join("security");
    std::fs::create_dir_all(&security).unwrap();
    std::fs::copy(verdict_testkit::workspace_root().join("examples/policy.yml"), security.join("gate.yml"))
        .unwrap();
    std::fs::copy(
        verdict_testkit::workspace_root().join("examples/rego/trail-policy.rego"),
        security.join("trail-policy.rego"),
    )
    .unwrap();
    std::fs::write(security.join("images.yml"), DENY_ALL_IMAGES).unwrap();
    git(&security, &["init", "-q", "-b", "main"]);
    git(&security, &["add", "."]);
    git(&security, &["commit", "-q", "-m", "gate"]);
    let commit = git(&security, &["rev-parse", "HEAD"]);
    let platform = root.join("platform");
    std::fs::create_dir_all(&platform).unwrap();
    std::fs::write(platform.join("disallow-latest.yaml"), KYVERNO).unwrap();
    let file = root.join("bundle.tar");
    let output = verdict(cache)
        .args(["bundle", "build", "--format", "json", "-o", file.to_str().unwrap()])
        .arg("--source")
        .arg(format!("security={}", security.display()))
        .arg("--source")
        .arg(format!("platform={}", platform.display()))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    (file, report["digest"].as_str().unwrap().to_owned(), commit)
}

/// `evaluate input -o json` of a compliant trail without an approved pull request (so denied) with
/// `policy`; the input file and the JSON.
fn evaluate_json(cache: &Path, dir: &Path, policy: &str) -> (std::path::PathBuf, Value) {
    let input = dir.join("input.json");
    std::fs::write(
        &input,
        r#"{"trail": {"compliance_status": {"status": "COMPLIANT", "attestations_statuses": {}}}}"#,
    )
    .unwrap();
    let output = verdict(cache)
        .args([
            "evaluate",
            "input",
            "--input-file",
            input.to_str().unwrap(),
            "-o",
            "json",
            "--policy",
            policy,
        ])
        .output()
        .unwrap();
    let evaluated = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stderr)));
    (input, evaluated)
}

#[test]
fn bundle_files_are_policy_sources_and_decisions_name_them() {
    let root = tempfile::tempdir().unwrap();
    let cache = root.path().join("cache");
    let (file, digest, commit) = bundle(root.path(), &cache);
    let arg = |inner: &str| format!("{}#{inner}", file.display());

    verdict(&cache)
        .args(["policy", "validate", &arg("security/gate.yml")])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("ok:"));
    // A directory inside the bundle, for `apply`.
    let pods = root.path().join("pods.yaml");
    std::fs::write(&pods, "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop}\nspec:\n  containers: [{name: c, image: \"nginx:latest\"}]\n").unwrap();
    verdict(&cache)
        .args(["apply", &arg("platform"), "--resource", pods.to_str().unwrap()])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("disallow-latest"))
        .stdout(predicate::str::contains(format!("policies from bundle {digest}, source platform")));
    // Every report format names the bundle the policy came from.
    let apply_output = |format: &str| -> String {
        let output = verdict(&cache)
            .args(["apply", &arg("platform"), "--resource", pods.to_str().unwrap(), "-o", format])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    };
    let json: Value = serde_json::from_str(&apply_output("json")).unwrap();
    assert_eq!(json["policy_bundles"]["disallow-latest"]["verdict.dev/bundle-digest"], digest.as_str());
    assert_eq!(json["policy_bundles"]["disallow-latest"]["verdict.dev/bundle-source"], "platform");
    let report: Value = serde_json::from_str(&apply_output("policy-report")).unwrap();
    assert_eq!(
        report["items"][0]["results"][0]["properties"]["verdict.dev/bundle-digest"],
        digest.as_str(),
        "{report}"
    );
    assert!(
        apply_output("junit")
            .contains(&format!("<property name=\"verdict.dev/bundle-digest\" value=\"{digest}\"/>"))
    );
    let sarif: Value = serde_json::from_str(&apply_output("sarif")).unwrap();
    assert_eq!(
        sarif["runs"][0]["tool"]["driver"]["rules"][0]["properties"]["verdict.dev/bundle-source"],
        "platform"
    );

    // `evaluate`: the JSON names the bundle and the source's commit; the table says it too.
    let (input, evaluated) = evaluate_json(&cache, root.path(), &arg("security/trail-policy.rego"));
    assert_eq!(evaluated["allow"], false);
    assert_eq!(evaluated["bundle"]["bundle_digest"], digest.as_str(), "{evaluated}");
    assert_eq!(evaluated["bundle"]["commit"], commit.as_str(), "{evaluated}");
    verdict(&cache)
        .args([
            "evaluate",
            "input",
            "--input-file",
            input.to_str().unwrap(),
            "--policy",
            &arg("security/trail-policy.rego"),
        ])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(format!(
            "POLICY:\tbundle {digest}, source security at commit {commit}"
        )));

    // `verify image`: an image the bundle's image policy refuses; the decision names the bundle.
    let registry = verdict_testkit::registry::FakeRegistry::empty(None, true);
    verdict_testkit::cosign::push_image(&registry, "acme/web", "1", b"web");
    let image = format!("{}/acme/web:1", registry.host());
    let output = verdict(&cache)
        .args(["verify", "image", &image, "--policy", &arg("security/images.yml"), "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
    let verified: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(verified["bundle"]["bundle_digest"], digest.as_str(), "{verified}");
    assert_eq!(verified["bundle"]["source"], "security");
    verdict(&cache)
        .args(["verify", "image", &image, "--policy", &arg("security/images.yml")])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(format!(
            "policy from bundle {digest}, source security at commit {commit}"
        )));

    // The decision names the bundle and the commit of the source the policy came from.
    let db = root.path().join("ledger.db");
    verdict(&cache).args(["--db", db.to_str().unwrap(), "create", "flow", "backend"]).assert().code(0);
    let output = verdict(&cache)
        .args(["--db", db.to_str().unwrap(), "assert", "artifact", "--fingerprint", &"ab".repeat(32)])
        .args(["--policy", &arg("security/gate.yml"), "-o", "json"])
        .output()
        .unwrap();
    let decision: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stderr)));
    let bundle = &decision["policies"][0]["bundle"];
    assert_eq!(bundle["bundle_digest"], digest.as_str(), "{decision}");
    assert_eq!(bundle["source"], "security");
    assert_eq!(bundle["commit"], commit.as_str());

    // What the bundle does not hold, and a bundle file that is not there: exit 2.
    verdict(&cache)
        .args(["policy", "validate", &arg("security/missing.yml")])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("has no security/missing.yml (its sources: platform, security)"));
    verdict(&cache)
        .args(["policy", "validate", "nowhere.tar#security/gate.yml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no such file"));
}

/// The webhook's configuration from a bundle: the decision names the bundle and the source's commit.
#[test]
fn admission_decisions_name_the_bundle() {
    let root = tempfile::tempdir().unwrap();
    let cache = root.path().join("cache");
    let source = root.path().join("adm");
    std::fs::create_dir_all(&source).unwrap();
    std::fs::write(
        source.join("admission.yaml"),
        "apiVersion: verdict.dev/v1\nkind: AdmissionConfig\nmanifestPolicies: [disallow-latest.yaml]\nmode: enforce\n",
    )
    .unwrap();
    std::fs::write(source.join("disallow-latest.yaml"), KYVERNO).unwrap();
    git(&source, &["init", "-q", "-b", "main"]);
    git(&source, &["add", "."]);
    git(&source, &["commit", "-q", "-m", "admission"]);
    let commit = git(&source, &["rev-parse", "HEAD"]);
    let file = root.path().join("adm.tar");
    let built: Value = serde_json::from_slice(
        &verdict(&cache)
            .args(["bundle", "build", "--format", "json", "-o", file.to_str().unwrap()])
            .arg("--source")
            .arg(format!("adm={}", source.display()))
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let review = root.path().join("review.json");
    std::fs::write(
        &review,
        serde_json::json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
            "uid": "u-1", "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"}, "operation": "CREATE",
            "namespace": "shop", "name": "web", "userInfo": {"username": "dev"},
            "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "shop"},
                       "spec": {"containers": [{"name": "c", "image": "nginx:latest"}]}}}})
        .to_string(),
    )
    .unwrap();
    let output = verdict(&cache)
        .args(["admission", "review", review.to_str().unwrap(), "-o", "json"])
        .args(["--config", &format!("{}#adm/admission.yaml", file.display())])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
    let answer: Value = serde_json::from_slice(&output.stdout).unwrap();
    let bundle = &answer["decision"]["policy_bundle"];
    assert_eq!(bundle["digest"], built["digest"], "{answer}");
    assert_eq!(bundle["commits"]["adm"], commit.as_str(), "{answer}");
}

/// `admission replay` with a candidate from a bundle: it names the candidate's bundle and the bundle each
/// recorded decision was made under, so a difference is traceable to a policy version.
#[test]
fn replay_names_the_bundle_of_each_decision_and_of_the_candidate() {
    use verdict_ledger::{Ledger, RecordKind, SqlLedger};
    let root = tempfile::tempdir().unwrap();
    let cache = root.path().join("cache");
    let (file, digest, _) = bundle(root.path(), &cache);
    let db = root.path().join("ledger.db");
    let registry = verdict_testkit::registry::FakeRegistry::empty(None, true);
    verdict_testkit::cosign::push_image(&registry, "acme/web", "1", b"web");
    let image = format!("{}/acme/web:1", registry.host());
    let decision = |uid: &str, bundle: Option<&str>| {
        let mut body = serde_json::json!({"uid": uid, "namespace": "shop", "kind": "Pod", "name": uid,
            "admitted": true, "images": [{"image": image, "allowed": true, "reasons": []}]});
        if let Some(bundle) = bundle {
            body["policy_bundle"] = serde_json::json!({"digest": bundle});
        }
        body
    };
    let old = format!("sha256:{}", "0".repeat(64));
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let ledger = SqlLedger::open(db.to_str().unwrap()).await.unwrap();
        for (uid, bundle) in [("u-1", Some(old.as_str())), ("u-2", None)] {
            ledger
                .append_record("default", RecordKind::AdmissionDecision, uid, decision(uid, bundle))
                .await
                .unwrap();
        }
    });
    let candidate = format!("{}#security/images.yml", file.display());
    let replay = |output: &str| {
        let mut command = verdict(&cache);
        command
            .args(["--db", db.to_str().unwrap(), "admission", "replay", "--since", "1h"])
            .args(["--policy", &candidate, "-o", output]);
        command
    };
    let output = replay("json").output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
    let replayed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(replayed["would_block"], 2, "{replayed}");
    assert_eq!(replayed["candidate_bundle"]["digest"], digest.as_str(), "{replayed}");
    assert_eq!(replayed["decided_under"], serde_json::json!({old.clone(): 1, "no bundle": 1}), "{replayed}");
    let then: Vec<&Value> =
        replayed["replayed"].as_array().unwrap().iter().map(|r| &r["bundle_then"]).collect();
    assert!(then.contains(&&Value::String(old.clone())), "{replayed}");
    replay("table")
        .assert()
        .code(1)
        .stdout(predicate::str::contains(format!(
            "candidate: {digest}; decided under: no bundle (1), {old} (1)"
        )))
        .stdout(predicate::str::contains("no rule of the image policies matches"))
        .stdout(predicate::str::contains(format!("admitted then under bundle {old}")));
}

/// An image policy no image passes (it names only `never.example`, and `noMatch: deny`).
const DENY_ALL_IMAGES: &str = "apiVersion: verdict.dev/v1\nkind: ImagePolicy\nnoMatch: deny\nrules:\n  - name: none\n    images: [\"never.example/**\"]\n    attestors:\n      entries:\n        - key:\n            publicKey: |\n              -----BEGIN PUBLIC KEY-----\n              MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE8xD6Ynxf1qGzNxkKQ2W4m5tY3oPj\n              Qq3s9C0E5f3nq2mKkZr0VQm4mKQ2bPjzV9Q3cB5m8C1q2Y4k0p3m6uWj7A==\n              -----END PUBLIC KEY-----\n";

/// One bundle, progressively enforced: `--mode local=warn --mode ci=enforce` at build time; `apply`
/// warns on a laptop, fails in CI (`CI=true`), and its own `--mode` wins; the
/// webhook's configuration takes `admission=…` unless it sets its own mode.
#[test]
fn a_bundle_sets_each_enforcement_points_default_mode() {
    let root = tempfile::tempdir().unwrap();
    let cache = root.path().join("cache");
    let platform = root.path().join("platform");
    std::fs::create_dir_all(&platform).unwrap();
    // Audit in the policy itself: without a bundle mode, a failure only reports.
    std::fs::write(platform.join("disallow-latest.yaml"), KYVERNO.replace("Enforce", "Audit")).unwrap();
    let file = root.path().join("modes.tar");
    let build = |extra: &[&str]| {
        let mut command = verdict(&cache);
        command
            .args(["bundle", "build", "-o", file.to_str().unwrap()])
            .arg("--source")
            .arg(format!("platform={}", platform.display()))
            .args(extra);
        command
    };
    build(&["--mode", "local=warn", "--mode", "ci=enforce"]).assert().code(0);
    let manifest: Value = serde_json::from_slice(
        &verdict(&cache)
            .args(["bundle", "inspect", file.to_str().unwrap(), "--format", "json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(manifest["manifest"]["modes"], serde_json::json!({"ci": "enforce", "local": "warn"}));
    let pods = root.path().join("pods.yaml");
    std::fs::write(&pods, "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop}\nspec:\n  containers: [{name: c, image: \"nginx:latest\"}]\n").unwrap();
    let apply = || {
        let mut command = verdict(&cache);
        command.args([
            "apply",
            &format!("{}#platform", file.display()),
            "--resource",
            pods.to_str().unwrap(),
        ]);
        command
    };
    apply()
        .env_remove("CI")
        .assert()
        .code(0)
        .stderr(predicate::str::contains("mode warn, the policy bundle's default for local"));
    apply()
        .env("CI", "true")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("mode enforce, the policy bundle's default for ci"));
    apply().env("CI", "true").args(["--mode", "warn"]).assert().code(0);

    // The admission point: a webhook configuration without a `mode` of its own takes the bundle's
    // `admission` mode (here warn: the image fails, the request is admitted with a warning); a
    // configuration's own `mode` wins, and so does `--mode` with `--policy`.
    let adm = root.path().join("adm");
    std::fs::create_dir_all(&adm).unwrap();
    std::fs::write(adm.join("images.yml"), DENY_ALL_IMAGES).unwrap();
    std::fs::write(
        adm.join("admission.yaml"),
        "apiVersion: verdict.dev/v1\nkind: AdmissionConfig\npolicies: [images.yml]\n",
    )
    .unwrap();
    std::fs::write(
        adm.join("enforcing.yaml"),
        "apiVersion: verdict.dev/v1\nkind: AdmissionConfig\npolicies: [images.yml]\nmode: enforce\n",
    )
    .unwrap();
    let with_admission = root.path().join("admission.tar");
    verdict(&cache)
        .args(["bundle", "build", "-o", with_admission.to_str().unwrap(), "--mode", "admission=warn"])
        .arg("--source")
        .arg(format!("adm={}", adm.display()))
        .assert()
        .code(0);
    let review = root.path().join("review.json");
    std::fs::write(
        &review,
        serde_json::json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": "u1", "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "resource": {"group": "", "version": "v1", "resource": "pods"},
        "operation": "CREATE", "namespace": "shop", "name": "web", "userInfo": {"username": "dev"},
        "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "shop"},
                   "spec": {"containers": [{"name": "web", "image": "ghcr.io/acme/web:1"}]}}}})
        .to_string(),
    )
    .unwrap();
    let decide = |args: &[&str]| -> Value {
        let output = verdict(&cache)
            .args(["admission", "review", review.to_str().unwrap(), "-o", "json"])
            .args(args)
            .output()
            .unwrap();
        serde_json::from_slice::<Value>(&output.stdout)
            .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&output.stderr)))["decision"]
            .clone()
    };
    let bundle_config = format!("{}#adm/admission.yaml", with_admission.display());
    let decision = decide(&["--config", &bundle_config]);
    assert_eq!(
        (&decision["mode"], &decision["admitted"]),
        (&serde_json::json!("warn"), &serde_json::json!(true)),
        "{decision}"
    );
    let decision = decide(&["--config", &format!("{}#adm/enforcing.yaml", with_admission.display())]);
    assert_eq!(
        (&decision["mode"], &decision["admitted"]),
        (&serde_json::json!("enforce"), &serde_json::json!(false)),
        "{decision}"
    );
    let policy = format!("{}#adm/images.yml", with_admission.display());
    let decision = decide(&["--policy", &policy]);
    assert_eq!(decision["mode"], "warn", "{decision}");
    let decision = decide(&["--policy", &policy, "--mode", "enforce"]);
    assert_eq!(
        (&decision["mode"], &decision["admitted"]),
        (&serde_json::json!("enforce"), &serde_json::json!(false)),
        "{decision}"
    );
    // Outside a bundle, nothing changes: enforce.
    let decision = decide(&["--config", adm.join("admission.yaml").to_str().unwrap()]);
    assert_eq!(decision["mode"], "enforce", "{decision}");
    // Only known points and modes.
    build(&["--mode", "prod=enforce"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("the enforcement points are local, ci, admission"));
    build(&["--mode", "ci=block"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("the modes are audit, warn, enforce"));
}

#[test]
fn registry_bundles_are_used_only_when_trusted() {
    let Some(registry) = DockerRegistry::start() else { return };
    let root = tempfile::tempdir().unwrap();
    let cache = root.path().join("cache");
    let (file, digest, _) = bundle(root.path(), &cache);
    let release = verdict_testkit::bundles::ReleaseKey::new(root.path(), &registry.host());
    let (key_file, policy) = (release.key_file.clone(), release.policy.clone());
    let signed = format!("{}/acme/signed:v1", registry.host());
    let unsigned = format!("{}/acme/unsigned:v1", registry.host());
    let mut pinned = String::new();
    for reference in [&signed, &unsigned] {
        let output = verdict(&cache)
            .args(["bundle", "push", file.to_str().unwrap(), reference, "--format", "json"])
            .output()
            .unwrap();
        let pushed: Value = serde_json::from_slice(&output.stdout).unwrap();
        if reference == &signed {
            pinned = pushed["pinned"].as_str().unwrap().to_owned();
        }
    }
    verdict(&cache).args(["bundle", "sign", &signed, "--key", key_file.to_str().unwrap()]).assert().code(0);

    let gate = |reference: &str| format!("oci://{reference}#security/gate.yml");
    // Neither a bundle policy nor --insecure-unsigned: refused before anything is fetched.
    verdict(&cache)
        .args(["policy", "validate", &gate(&signed)])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("give --bundle-policy FILE"));
    let policy_arg = ["--bundle-policy", policy.to_str().unwrap()];
    verdict(&cache)
        .args(["policy", "validate", &gate(&unsigned)])
        .args(policy_arg)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not trusted"));
    let db = root.path().join("l.db");
    verdict(&cache).args(["--db", db.to_str().unwrap(), "create", "flow", "backend"]).assert().code(0);
    let output = verdict(&cache)
        .args(["--db", db.to_str().unwrap(), "assert", "artifact", "--fingerprint", &"ab".repeat(32)])
        .args(["--policy", &gate(&pinned), "-o", "json"])
        .args(policy_arg)
        .output()
        .unwrap();
    let decision: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stderr)));
    assert_eq!(decision["policies"][0]["bundle"]["bundle_digest"], digest.as_str(), "{decision}");
    assert_eq!(decision["policies"][0]["bundle"]["reference"], pinned.as_str());

    // The registry goes away: the pinned, already trusted bundle is used from the cache; a tag is not.
    drop(registry);
    verdict(&cache).args(["policy", "validate", &gate(&pinned)]).args(policy_arg).assert().code(0);
    verdict(&cache).args(["policy", "validate", &gate(&signed)]).args(policy_arg).assert().code(3);
    // The cache is keyed by the policy too: trust under another policy is not assumed.
    verdict(&cache).args(["policy", "validate", &gate(&pinned), "--insecure-unsigned"]).assert().code(3);
}

/// `bundle build --source NAME=oci://REF` (or `NAME=FILE.tar`) takes another bundle whole: its files
/// under `NAME/ITS-SOURCE/PATH`, revalidated and retested, its signatures checked first, and its
/// sources' origins kept — a decision from the aggregate still names the upstream source's commit.
#[test]
fn a_bundle_is_a_source_of_another() {
    let registry = verdict_testkit::registry::FakeRegistry::empty(None, true);
    let root = tempfile::tempdir().unwrap();
    let cache = root.path().join("cache");
    let (upstream_file, upstream_digest, commit) = bundle(root.path(), &cache);
    let release = verdict_testkit::bundles::ReleaseKey::new(root.path(), &registry.host());
    let (key_file, policy) = (release.key_file.clone(), release.policy.clone());
    let signed = format!("{}/acme/upstream:v1", registry.host());
    let unsigned = format!("{}/acme/unsigned:v1", registry.host());
    for reference in [&signed, &unsigned] {
        verdict(&cache).args(["bundle", "push", upstream_file.to_str().unwrap(), reference]).assert().code(0);
    }
    verdict(&cache).args(["bundle", "sign", &signed, "--key", key_file.to_str().unwrap()]).assert().code(0);
    let local = root.path().join("local");
    std::fs::create_dir_all(&local).unwrap();
    std::fs::write(local.join("disallow-latest.yaml"), KYVERNO).unwrap();

    let aggregate = root.path().join("aggregate.tar");
    let build = |upstream: &str, extra: &[&str]| {
        let mut command = verdict(&cache);
        command
            .args(["bundle", "build", "--format", "json", "-o", aggregate.to_str().unwrap()])
            .arg("--source")
            .arg(format!("upstream={upstream}"))
            .arg("--source")
            .arg(format!("local={}", local.display()))
            .args(extra);
        command
    };
    let output =
        build(&format!("oci://{signed}"), &["--bundle-policy", policy.to_str().unwrap()]).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let built: Value = serde_json::from_slice(&output.stdout).unwrap();
    let sources = built["manifest"]["sources"].as_array().unwrap();
    let upstream = sources.iter().find(|s| s["name"] == "upstream").unwrap();
    assert_eq!(upstream["origin"]["type"], "bundle", "{upstream}");
    assert_eq!(upstream["origin"]["reference"], format!("oci://{signed}"));
    assert_eq!(upstream["origin"]["digest"], upstream_digest.as_str());
    let security =
        upstream["origin"]["sources"].as_array().unwrap().iter().find(|s| s["name"] == "security").unwrap();
    assert_eq!(security["origin"]["commit"], commit.as_str(), "{upstream}");
    let paths: Vec<&str> =
        upstream["files"].as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert!(
        paths.contains(&"security/gate.yml") && paths.contains(&"platform/disallow-latest.yaml"),
        "{paths:?}"
    );

    // A decision from the aggregate names the aggregate and the upstream source's commit.
    let trail_policy = format!("{}#upstream/security/trail-policy.rego", aggregate.display());
    let (_, evaluated) = evaluate_json(&cache, root.path(), &trail_policy);
    assert_eq!(evaluated["bundle"]["bundle_digest"], built["digest"], "{evaluated}");
    assert_eq!(evaluated["bundle"]["source"], "upstream/security", "{evaluated}");
    assert_eq!(evaluated["bundle"]["commit"], commit.as_str(), "{evaluated}");
    verdict(&cache).args(["bundle", "inspect", aggregate.to_str().unwrap()]).assert().code(0).stdout(
        predicate::str::contains(format!(
            "upstream: bundle oci://{signed} ({upstream_digest}) of platform: directory"
        )),
    );

    // A bundle file is a source too; the same content gives the same aggregate.
    let output = build(upstream_file.to_str().unwrap(), &[]).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let from_file: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(from_file["manifest"]["sources"][1]["origin"]["digest"], upstream_digest.as_str());

    // Unsigned: refused before anything is built; no trust decision at all: a usage error; a #PATH: refused.
    build(&format!("oci://{unsigned}"), &["--bundle-policy", policy.to_str().unwrap()])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not trusted by the bundle policy"));
    build(&format!("oci://{signed}"), &[])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--bundle-policy FILE (or --insecure-unsigned"));
    build(&format!("{}#security", upstream_file.display()), &[])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("a bundle is a source whole"));
}
