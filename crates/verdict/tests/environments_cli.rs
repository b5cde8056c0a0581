//! Environments end to end, on the embedded ledger, through a server on SQLite and through a server on
//! PostgreSQL: snapshots (numbering, change detection, trail events), attached policies (evaluation on
//! report, re-evaluation on attach/detach, versions), logical environments, allow-listing, unknown
//! compliance, an artifact in several flows, and `assert artifact|snapshot` exit codes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

use common::{Env, json, ok};
use predicates::prelude::*;
use serde_json::Value;

const POLICY: &str = "_schema: https://kosli.com/schemas/policy/environment/v1\nartifacts:\n  provenance:\n    required: true\n  trail-compliance:\n    required: true\n  attestations:\n    - name: tests\n      type: generic\n";
/// Version 2 drops the attestation rule.
const POLICY_V2: &str = "_schema: https://kosli.com/schemas/policy/environment/v1\nartifacts:\n  provenance:\n    required: true\n  trail-compliance:\n    required: true\n";

fn fingerprint(env: &Env, path: &std::path::Path) -> String {
    let output = env.verdict().arg("fingerprint").arg(path).args(["-t", "file"]).output().unwrap();
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

fn artifact<'a>(evaluation: &'a Value, name: &str) -> &'a Value {
    // `snapshot server` names artifacts by their path.
    let matches = |a: &&Value| {
        a["name"] == name || a["name"].as_str().is_some_and(|n| n.ends_with(&format!("/{name}")))
    };
    evaluation["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(matches)
        .unwrap_or_else(|| panic!("{name} in {evaluation}"))
}

fn snapshots_policies_and_assert(env: &Env) {
    let dir = env.dir.path().join("srv");
    std::fs::create_dir(&dir).unwrap();
    for (name, content) in [("app1", "good"), ("app2", "bad"), ("agent", "vendor")] {
        std::fs::write(dir.join(name), content).unwrap();
    }
    let glob = format!("{}/*", dir.display());
    let (fp1, fp2, fp3) = (
        fingerprint(env, &dir.join("app1")),
        fingerprint(env, &dir.join("app2")),
        fingerprint(env, &dir.join("agent")),
    );
    ok(env, &["create", "flow", "backend"]);
    ok(env, &["begin", "trail", "t1", "--flow", "backend"]);
    ok(
        env,
        &["attest", "artifact", "--fingerprint", &fp1, "--name", "app", "--flow", "backend", "--trail", "t1"],
    );
    ok(env, &["attest", "generic", "--name", "app.tests", "--flow", "backend", "--trail", "t1"]);
    ok(env, &["begin", "trail", "t2", "--flow", "backend"]);
    ok(
        env,
        &["attest", "artifact", "--fingerprint", &fp2, "--name", "app", "--flow", "backend", "--trail", "t2"],
    );
    ok(
        env,
        &[
            "attest",
            "generic",
            "--name",
            "app.tests",
            "--flow",
            "backend",
            "--trail",
            "t2",
            "--compliant=false",
        ],
    );
    ok(env, &["create", "environment", "prod", "--type", "server"]);
    ok(env, &["create", "environment", "staging", "--type", "server"]);
    ok(
        env,
        &["create", "environment", "all", "--type", "logical", "--included-environments", "prod,staging"],
    );

    // No policy attached: UNKNOWN, which is not compliant.
    let outcome = json(env, &["snapshot", "server", "prod", "--paths", &glob]);
    assert_eq!((outcome["number"].as_u64(), outcome["changed"].as_bool()), (Some(1), Some(true)));
    assert_eq!(outcome["evaluation"]["status"], "UNKNOWN");
    assert_eq!(outcome["trail_events"], 2, "app1 and app2 each have one trail");
    env.verdict()
        .args(["assert", "snapshot", "prod"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("UNKNOWN is not compliant"));
    // The trails of the artifacts show that they started running.
    let t1 = json(env, &["get", "trail", "t1", "--flow", "backend"]);
    assert_eq!(t1["events"][0]["event"], "artifact_started_running");
    assert_eq!(
        (t1["events"][0]["environment"].as_str(), t1["events"][0]["snapshot"].as_u64()),
        (Some("prod"), Some(1))
    );

    // Attach: the latest snapshot is re-evaluated.
    let policy = env.write("policy.yml", POLICY.as_bytes());
    env.verdict()
        .args(["create", "policy", "gate"])
        .arg(&policy)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("version 1"));
    env.verdict()
        .args(["attach-policy", "gate", "--environment", "prod", "--environment", "all"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("re-evaluated: NON-COMPLIANT"));
    let view = json(env, &["get", "snapshot", "prod"]);
    let evaluation = &view["evaluation"];
    assert_eq!(evaluation["status"], "NON-COMPLIANT");
    assert_eq!(evaluation["policies"], serde_json::json!([{"name": "gate", "version": 1}]));
    assert_eq!(artifact(evaluation, "app1")["compliant"], true);
    assert_eq!(artifact(evaluation, "app2")["compliant"], false);
    let reasons = artifact(evaluation, "app2")["reasons"].to_string();
    assert!(reasons.contains("flow backend trail t2"), "{reasons}");
    assert!(artifact(evaluation, "agent")["reasons"].to_string().contains("never reported"));
    env.verdict().args(["assert", "snapshot", "prod"]).assert().code(1);

    // assert artifact: by environment, by policy file, by templates; exit codes and reasons.
    env.verdict()
        .args(["assert", "artifact", "--fingerprint", &fp1, "--environment", "prod"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("ALLOWED"));
    env.verdict()
        .args(["assert", "artifact", "--fingerprint", &fp2, "--environment", "prod"])
        .assert()
        .code(1)
        .stdout(
            predicate::str::contains("DENIED")
                .and(predicate::str::contains("non-compliant in flow backend trail t2")),
        );
    env.verdict()
        .args(["assert", "artifact", "--fingerprint", &fp2, "--policy"])
        .arg(&policy)
        .assert()
        .code(1);
    env.verdict().arg("assert").arg("artifact").arg(dir.join("app1")).args(["-t", "file"]).assert().code(0);
    env.verdict().args(["assert", "artifact", "--fingerprint", &fp2]).assert().code(1);
    env.verdict().args(["assert", "artifact", "--fingerprint", &fp3]).assert().code(1);
    // --record writes the decision; nothing else does.
    let before = env.entries();
    env.verdict()
        .args(["assert", "artifact", "--fingerprint", &fp1, "--environment", "prod"])
        .assert()
        .code(0);
    assert_eq!(env.entries(), before);
    env.verdict()
        .args(["assert", "artifact", "--fingerprint", &fp1, "--environment", "prod", "--record"])
        .assert()
        .code(0);
    assert_eq!(env.entries(), before + 1);

    // An artifact in several flows: a failure anywhere counts.
    ok(env, &["create", "flow", "vulns"]);
    ok(env, &["begin", "trail", "nightly", "--flow", "vulns"]);
    ok(
        env,
        &[
            "attest",
            "artifact",
            "--fingerprint",
            &fp1,
            "--name",
            "app",
            "--flow",
            "vulns",
            "--trail",
            "nightly",
        ],
    );
    ok(
        env,
        &[
            "attest",
            "generic",
            "--name",
            "app.cve-scan",
            "--flow",
            "vulns",
            "--trail",
            "nightly",
            "--compliant=false",
        ],
    );
    env.verdict()
        .args(["assert", "artifact", "--fingerprint", &fp1, "--environment", "prod"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("flow vulns trail nightly"));
    // ...unless only one flow is asked about.
    env.verdict()
        .args(["assert", "artifact", "--fingerprint", &fp1, "--environment", "prod", "--flow", "backend"])
        .assert()
        .code(0);

    // Allow-listing a third-party artifact.
    env.verdict()
        .args([
            "allow",
            "artifact",
            "--fingerprint",
            &fp3,
            "--environment",
            "prod",
            "--reason",
            "vendor agent",
        ])
        .assert()
        .code(0);
    let evaluation = json(env, &["get", "snapshot", "prod"])["evaluation"].clone();
    assert_eq!(artifact(&evaluation, "agent")["allow_listed"], "vendor agent");
    assert_eq!(artifact(&evaluation, "agent")["compliant"], true);
    // The allow-listing is for prod only.
    env.verdict()
        .args(["assert", "artifact", "--fingerprint", &fp3, "--environment", "all"])
        .assert()
        .code(1);

    // Reporting the same set again records nothing.
    let again = json(env, &["snapshot", "server", "prod", "--paths", &glob]);
    assert_eq!((again["number"].as_u64(), again["changed"].as_bool()), (Some(1), Some(false)));
    // A changed set is snapshot 2; app2 stopped.
    std::fs::remove_file(dir.join("app2")).unwrap();
    let second = json(env, &["snapshot", "server", "prod", "--paths", &glob]);
    assert_eq!(second["number"], 2);
    assert_eq!(second["stopped"][0]["fingerprint"], fp2.as_str());
    let t2 = json(env, &["get", "trail", "t2", "--flow", "backend"]);
    assert_eq!(t2["events"][1]["event"], "artifact_stopped_running");
    let diff = json(env, &["diff", "snapshots", "prod#1", "prod"]);
    assert!(diff["removed"][0]["name"].as_str().unwrap().ends_with("app2"), "{diff}");
    assert_eq!(json(env, &["get", "snapshot", "prod~1"])["number"], 1);
    assert_eq!(json(env, &["list", "snapshots", "prod"]).as_array().unwrap().len(), 2);

    // Logical: the union of prod and staging, judged by the logical environment's own policies.
    std::fs::write(env.dir.path().join("staging-app"), "staging").unwrap();
    ok(
        env,
        &[
            "snapshot",
            "server",
            "staging",
            "--paths",
            &env.dir.path().join("staging-app").display().to_string(),
        ],
    );
    let all = json(env, &["get", "snapshot", "all"]);
    assert_eq!(all["artifacts"].as_array().unwrap().len(), 3);
    assert_eq!(all["number"], Value::Null);
    env.verdict().args(["assert", "snapshot", "all"]).assert().code(1);

    // Versions: the attachment follows the latest version; detach makes it UNKNOWN again.
    let v2 = env.write("policy-v2.yml", POLICY_V2.as_bytes());
    env.verdict()
        .args(["create", "policy", "gate", "--comment", "no tests rule"])
        .arg(&v2)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("version 2"));
    assert_eq!(json(env, &["get", "policy", "gate", "--policy-version", "1"])["source"], POLICY);
    env.verdict().args(["attach-policy", "gate", "--environment", "staging"]).assert().code(0);
    assert_eq!(json(env, &["get", "snapshot", "staging"])["evaluation"]["policies"][0]["version"], 2);
    env.verdict()
        .args(["detach-policy", "gate", "--environment", "prod"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("UNKNOWN"));
    let log = json(env, &["log", "environment", "prod"]);
    let events: Vec<&str> = log.as_array().unwrap().iter().map(|l| l["event"].as_str().unwrap()).collect();
    assert_eq!(events.len(), 5, "{events:?}");
    assert!(events[1].contains("attached") && events[4].contains("detached"), "{events:?}");
}

fn bad_input_records_nothing(env: &Env) {
    ok(env, &["create", "environment", "prod", "--type", "server"]);
    let policy = env.write("policy.yml", POLICY.as_bytes());
    ok(env, &["create", "policy", "gate", policy.to_str().unwrap()]);
    let before = env.entries();
    let broken = env.write("broken.yml", b"_schema: https://kosli.com/schemas/policy/environment/v1\nartifacts:\n  provenence:\n    required: true\n");
    let paths_v2 = env.write("paths.yml", b"version: 2\nartifacts:\n  a:\n    path: x\n");
    let paths_key = env.write("paths2.yml", b"version: 1\nartifacts:\n  a:\n    pth: x\n");
    let pods = env.write("pods.json", b"not json");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["create".into(), "environment".into(), "x".into(), "--type".into(), "k8s".into()],
            "invalid value 'k8s'",
        ),
        (
            vec!["create".into(), "environment".into(), "l".into(), "--type".into(), "logical".into()],
            "needs --included-environments",
        ),
        (
            vec![
                "create".into(),
                "environment".into(),
                "l".into(),
                "--type".into(),
                "logical".into(),
                "--included-environments".into(),
                "nope".into(),
            ],
            "\"nope\" does not exist",
        ),
        (
            vec!["create".into(), "policy".into(), "bad".into(), broken.display().to_string()],
            "broken.yml:3:3",
        ),
        (
            vec!["attach-policy".into(), "nope".into(), "--environment".into(), "prod".into()],
            "policy \"nope\" does not exist",
        ),
        (
            vec!["attach-policy".into(), "gate".into(), "--environment".into(), "nope".into()],
            "environment \"nope\" does not exist",
        ),
        (
            vec!["detach-policy".into(), "gate".into(), "--environment".into(), "prod".into()],
            "is not attached",
        ),
        (
            vec![
                "snapshot".into(),
                "paths".into(),
                "prod".into(),
                "--paths-file".into(),
                paths_v2.display().to_string(),
            ],
            "version must be 1",
        ),
        (
            vec![
                "snapshot".into(),
                "paths".into(),
                "prod".into(),
                "--paths-file".into(),
                paths_key.display().to_string(),
            ],
            "unknown key artifacts.a.pth",
        ),
        (
            vec![
                "snapshot".into(),
                "k8s".into(),
                "prod".into(),
                "--pods-file".into(),
                pods.display().to_string(),
            ],
            "pods.json:1:",
        ),
        (
            vec![
                "snapshot".into(),
                "server".into(),
                "nope".into(),
                "--paths".into(),
                policy.display().to_string(),
            ],
            "environment \"nope\" does not exist",
        ),
        (
            vec![
                "allow".into(),
                "artifact".into(),
                "--fingerprint".into(),
                "xyz".into(),
                "--environment".into(),
                "prod".into(),
                "--reason".into(),
                "r".into(),
            ],
            "\"xyz\" is not a fingerprint",
        ),
        (vec!["get".into(), "snapshot".into(), "prod#0".into()], "numbered from 1"),
        (vec!["get".into(), "snapshot".into(), "prod".into()], "has no snapshot yet"),
        (vec!["assert".into(), "snapshot".into(), "nope".into()], "environment \"nope\" does not exist"),
        (
            vec!["get".into(), "policy".into(), "gate".into(), "--policy-version".into(), "7".into()],
            "has no version 7",
        ),
    ];
    for (args, message) in cases {
        env.verdict().args(&args).assert().code(2).stderr(predicate::str::contains(message));
    }
    ok(env, &["attach-policy", "gate", "--environment", "prod"]);
    env.verdict()
        .args(["attach-policy", "gate", "--environment", "prod"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("already attached"));
    ok(env, &["create", "environment", "all", "--type", "logical", "--included-environments", "prod"]);
    env.verdict()
        .args(["snapshot", "server", "all", "--paths"])
        .arg(&policy)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is a logical environment"));
    assert_eq!(env.entries(), before + 2, "only the attachment and the logical environment were recorded");
}

on_every_backend!(snapshots_policies_and_assert, bad_input_records_nothing, policy_rules_through_snapshots);

#[test]
fn paths_files_in_every_format_and_k8s_pods() {
    let env = Env::embedded();
    std::fs::create_dir(env.dir.path().join("site")).unwrap();
    std::fs::write(env.dir.path().join("site/index.html"), "<h1>hi</h1>").unwrap();
    std::fs::write(env.dir.path().join("site/cache.tmp"), "x").unwrap();
    std::fs::write(env.dir.path().join("app.bin"), "binary").unwrap();
    let yml = env.write("paths.yml", b"version: 1\nartifacts:\n  site:\n    path: site\n    exclude: [cache.tmp]\n  app:\n    path: app.bin\n");
    let json_file = env.write("paths.json", br#"{"version": 1, "artifacts": {"site": {"path": "site", "exclude": ["cache.tmp"]}, "app": {"path": "app.bin"}}}"#);
    let toml_file = env.write("paths.toml", b"version = 1\n[artifacts.site]\npath = \"site\"\nexclude = [\"cache.tmp\"]\n[artifacts.app]\npath = \"app.bin\"\n");
    let site = {
        let output = env
            .verdict()
            .arg("fingerprint")
            .arg(env.dir.path().join("site"))
            .args(["-t", "dir", "-x", "cache.tmp"])
            .output()
            .unwrap();
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    };
    ok(&env, &["create", "environment", "web", "--type", "server"]);
    for (file, expected_number) in [(&yml, 1), (&json_file, 1), (&toml_file, 1)] {
        let outcome = json(&env, &["snapshot", "paths", "web", "--paths-file", file.to_str().unwrap()]);
        assert_eq!(
            outcome["number"],
            expected_number,
            "{}: the same artifacts in every format",
            file.display()
        );
    }
    let view = json(&env, &["get", "snapshot", "web"]);
    assert_eq!(artifact(&view, "site")["fingerprint"], site.as_str());

    // kubectl get pods -A -o json: running containers grouped by image digest, namespaces filtered.
    let digest = "b".repeat(64);
    let other = "c".repeat(64);
    let pod = |ns: &str, name: &str, image: &str, id: &str, running: bool| {
        let state = if running {
            serde_json::json!({"running": {"startedAt": format!("2026-11-2{}T10:00:00Z", name.len() % 10)}})
        } else {
            serde_json::json!({"waiting": {"reason": "CrashLoopBackOff"}})
        };
        serde_json::json!({"metadata": {"name": name, "namespace": ns},
            "status": {"phase": "Running", "containerStatuses": [{"name": "c", "image": image, "imageID": format!("docker-pullable://{image}@sha256:{id}"), "state": state}]}})
    };
    // A pod with a native sidecar (an init container that keeps running), a finished init container and
    // an ephemeral debug container; a completed job whose terminated container is not judged.
    let sidecar = "e".repeat(64);
    let debug = "f".repeat(64);
    let job_digest = "9".repeat(64);
    let status = |image: &str, id: &str, state: serde_json::Value| serde_json::json!({"name": "x", "image": image, "imageID": format!("{image}@sha256:{id}"), "state": state});
    let running = serde_json::json!({"running": {"startedAt": "2026-11-20T10:00:00Z"}});
    let done = serde_json::json!({"terminated": {"exitCode": 0}});
    let with_sidecars = serde_json::json!({"metadata": {"name": "web-4", "namespace": "shop"}, "status": {
        "phase": "Running",
        "initContainerStatuses": [status("ghcr.io/acme/proxy:1", &sidecar, running.clone()),
                                  status("ghcr.io/acme/migrate:1", &other, done.clone())],
        "containerStatuses": [status("ghcr.io/acme/web:1.2", &digest, running.clone())],
        "ephemeralContainerStatuses": [status("busybox:1.36", &debug, running.clone())]}});
    let completed_job = serde_json::json!({"metadata": {"name": "job-1", "namespace": "shop"}, "status": {
        "phase": "Succeeded", "containerStatuses": [status("ghcr.io/acme/job:1", &job_digest, done)]}});
    let never_pulled = serde_json::json!({"metadata": {"name": "web-5", "namespace": "shop"}, "status": {
        "phase": "Pending", "containerStatuses": [{"name": "web", "image": "ghcr.io/acme/web:9", "imageID": "",
                                                    "state": {"waiting": {"reason": "ErrImagePull"}}}]}});
    let pods = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [
        pod("shop", "web-1", "ghcr.io/acme/web:1.2", &digest, true),
        pod("shop-eu", "web-2", "ghcr.io/acme/web:1.2", &digest, true),
        pod("kube-system", "dns-1", "registry.k8s.io/coredns:1.11", &other, true),
        pod("shop", "web-3", "ghcr.io/acme/web:1.2", &digest, false),
        with_sidecars, completed_job, never_pulled,
    ]});
    let pods_file = env.write("pods.json", pods.to_string().as_bytes());
    ok(&env, &["create", "environment", "cluster", "--type", "K8S"]);
    let outcome = json(
        &env,
        &[
            "snapshot",
            "k8s",
            "cluster",
            "--pods-file",
            pods_file.to_str().unwrap(),
            "--exclude-namespaces",
            "kube-system",
        ],
    );
    assert_eq!(outcome["number"], 1);
    let view = json(&env, &["get", "snapshot", "cluster"]);
    let names: Vec<&str> =
        view["artifacts"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    // Sorted by name: the debug container, the finished init container, the sidecar, and web — a
    // crash-looping web-3 included; not the completed job, not the image that was never pulled.
    assert_eq!(
        names,
        ["busybox:1.36", "ghcr.io/acme/migrate:1", "ghcr.io/acme/proxy:1", "ghcr.io/acme/web:1.2"],
        "{view}"
    );
    let web = &view["artifacts"][3];
    assert_eq!(
        (web["name"].as_str(), web["fingerprint"].as_str(), web["instances"].as_u64()),
        (Some("ghcr.io/acme/web:1.2"), Some(digest.as_str()), Some(4))
    );
    assert_eq!(
        web["pods"],
        serde_json::json!([{"namespace": "shop", "pod": "web-1"}, {"namespace": "shop-eu", "pod": "web-2"},
                           {"namespace": "shop", "pod": "web-3"}, {"namespace": "shop", "pod": "web-4"}])
    );
    assert_eq!(view["artifacts"][0]["fingerprint"], debug.as_str());
    assert_eq!(view["artifacts"][2]["fingerprint"], sidecar.as_str());
    // A namespace no pod belongs to is refused (a typo would record an empty part of the cluster).
    let before = env.entries();
    env.verdict()
        .args([
            "snapshot",
            "k8s",
            "cluster",
            "--pods-file",
            pods_file.to_str().unwrap(),
            "--namespaces",
            "prdo",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no pod is in namespace \"prdo\""));
    assert_eq!(env.entries(), before);
    let only = json(
        &env,
        &[
            "snapshot",
            "k8s",
            "cluster",
            "--pods-file",
            pods_file.to_str().unwrap(),
            "--namespaces",
            "kube-system",
        ],
    );
    let stopped: Vec<&str> =
        only["stopped"].as_array().unwrap().iter().map(|a| a["fingerprint"].as_str().unwrap()).collect();
    assert_eq!(only["number"].as_u64(), Some(2));
    assert!(stopped.contains(&digest.as_str()) && stopped.contains(&debug.as_str()), "{only}");
}

fn kubeconfig(env: &Env, file: &str, server: &str, user: &str) -> std::path::PathBuf {
    let text = format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: test\nclusters:\n- name: c\n  cluster:\n    server: {server}\ncontexts:\n- name: test\n  context:\n    cluster: c\n    user: u\nusers:\n- name: u\n  user:\n{user}\n"
    );
    env.write(file, text.as_bytes())
}

#[test]
fn k8s_snapshots_from_the_api() {
    let env = Env::embedded();
    let digest = "d".repeat(64);
    // Real API shapes (what kube-rs deserializes into k8s-openapi types), the pod list in two pages
    // (`limit` and `continue`), as a big cluster answers.
    let pod = |ns: &str, name: &str| {
        serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns}, "status": {"phase": "Running",
            "containerStatuses": [{"name": "web", "image": "ghcr.io/acme/web:2.0", "imageID": format!("ghcr.io/acme/web@sha256:{digest}"),
                                   "ready": true, "restartCount": 0,
                                   "state": {"running": {"startedAt": "2026-11-20T10:00:00Z"}}}]}})
    };
    let list = |items: Vec<serde_json::Value>, next: Option<&str>| {
        serde_json::json!({"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "1", "continue": next}, "items": items}).to_string()
    };
    let namespace = |name: &str| {
        serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}).to_string()
    };
    let api = verdict_testkit::json_api::FakeJsonApi::start(
        vec![
            ("/api/v1/pods?limit=500", list(vec![pod("shop", "web-1")], Some("page-2"))),
            ("/api/v1/pods?limit=500&continue=page-2", list(vec![pod("edge", "web-2")], None)),
            ("/api/v1/namespaces/shop", namespace("shop")),
            ("/api/v1/namespaces/shop/pods?limit=500", list(vec![pod("shop", "web-1")], None)),
            ("/api/v1/namespaces/quiet", namespace("quiet")),
            ("/api/v1/namespaces/quiet/pods?limit=500", list(Vec::new(), None)),
        ],
        ("authorization", "Bearer k8s-token"),
    );
    ok(&env, &["create", "environment", "cluster", "--type", "K8S"]);
    let good = kubeconfig(&env, "good.yaml", api.url(), "    token: k8s-token");
    let outcome = json(&env, &["snapshot", "k8s", "cluster", "--kubeconfig", good.to_str().unwrap()]);
    assert_eq!(outcome["number"], 1);
    let view = json(&env, &["get", "snapshot", "cluster"]);
    assert_eq!(
        (view["artifacts"][0]["fingerprint"].as_str(), view["artifacts"][0]["instances"].as_u64()),
        (Some(digest.as_str()), Some(2))
    );
    let only = json(
        &env,
        &["snapshot", "k8s", "cluster", "--kubeconfig", good.to_str().unwrap(), "--namespaces", "shop"],
    );
    assert_eq!(only["number"], 2);
    assert_eq!(json(&env, &["get", "snapshot", "cluster"])["artifacts"][0]["instances"], 1);
    // KUBECONFIG is honoured too.
    env.verdict()
        .env("KUBECONFIG", &good)
        .args(["snapshot", "k8s", "cluster"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("no change since snapshot cluster#2").not());

    let before = env.entries();
    // A namespace that does not exist is an error, not an empty snapshot; an existing namespace where
    // nothing runs is recorded only with --allow-empty.
    let config = good.to_str().unwrap();
    env.verdict()
        .args(["snapshot", "k8s", "cluster", "--kubeconfig", config, "--namespaces", "prdo"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("namespace \"prdo\" does not exist"));
    env.verdict()
        .args(["snapshot", "k8s", "cluster", "--kubeconfig", config, "--namespaces", "quiet"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--allow-empty"));
    assert_eq!(env.entries(), before);
    let quiet = json(
        &env,
        &["snapshot", "k8s", "cluster", "--kubeconfig", config, "--namespaces", "quiet", "--allow-empty"],
    );
    assert_eq!((quiet["number"].as_u64(), quiet["artifacts"].as_array().map(Vec::len)), (Some(4), None));
    let before = env.entries();
    let wrong = kubeconfig(&env, "wrong.yaml", api.url(), "    token: nope");
    env.verdict()
        .args(["snapshot", "k8s", "cluster", "--kubeconfig", wrong.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("401"));
    // An exec plugin (how EKS, GKE and most managed clusters authenticate) that fails: refused, exit 2.
    let failing = env.write("no-plugin.sh", b"#!/bin/sh\necho 'no credentials' >&2\nexit 1\n");
    std::fs::set_permissions(&failing, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let broken = kubeconfig(
        &env,
        "broken-exec.yaml",
        api.url(),
        &format!(
            "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {}\n      interactiveMode: Never",
            failing.display()
        ),
    );
    env.verdict()
        .args(["snapshot", "k8s", "cluster", "--kubeconfig", broken.to_str().unwrap()])
        .assert()
        .code(2);
    let down = kubeconfig(&env, "down.yaml", "http://127.0.0.1:9", "    token: k8s-token");
    env.verdict()
        .args(["snapshot", "k8s", "cluster", "--kubeconfig", down.to_str().unwrap()])
        .assert()
        .code(3);
    assert_eq!(env.entries(), before);

    // An exec plugin that prints an ExecCredential, as aws eks get-token does: its token is used.
    let plugin = env.write(
        "plugin.sh",
        b"#!/bin/sh\necho '{\"apiVersion\": \"client.authentication.k8s.io/v1\", \"kind\": \"ExecCredential\", \"status\": {\"token\": \"k8s-token\"}}'\n",
    );
    std::fs::set_permissions(&plugin, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let exec = kubeconfig(
        &env,
        "exec.yaml",
        api.url(),
        &format!(
            "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {}\n      interactiveMode: Never",
            plugin.display()
        ),
    );
    let through_exec = json(&env, &["snapshot", "k8s", "cluster", "--kubeconfig", exec.to_str().unwrap()]);
    assert_eq!(through_exec["number"], 5, "{through_exec}");

    // The reporter: every 200 ms, three rounds; the cluster did not change, so nothing more is recorded.
    let before = env.entries();
    let reporter = env
        .verdict()
        .args([
            "snapshot",
            "k8s",
            "cluster",
            "--kubeconfig",
            config,
            "--every",
            "200ms",
            "--max-reports",
            "3",
        ])
        .output()
        .unwrap();
    assert_eq!(reporter.status.code(), Some(0), "{}", String::from_utf8_lossy(&reporter.stderr));
    let stdout = String::from_utf8_lossy(&reporter.stdout);
    assert_eq!(stdout.matches("no change since snapshot cluster#5").count(), 3, "{stdout}");
    assert_eq!(env.entries(), before, "an unchanged cluster records nothing");
    // A round that fails records nothing and the reporter goes on.
    let failing_rounds = env
        .verdict()
        .args([
            "snapshot",
            "k8s",
            "cluster",
            "--kubeconfig",
            down.to_str().unwrap(),
            "--every",
            "100ms",
            "--max-reports",
            "2",
        ])
        .output()
        .unwrap();
    assert_eq!(failing_rounds.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&failing_rounds.stderr).matches("nothing recorded").count(), 2);
    assert_eq!(env.entries(), before);
}

/// The policy rules of the semantics, judged on a real snapshot: a provenance exception matched on the
/// name the environment reports (the artifact has no provenance), an attestation rule whose `if` reads
/// flow tags, `must_be_compliant: false`, INCOMPLETE not vetoing trail compliance, two policies ANDed.
fn policy_rules_through_snapshots(env: &Env) {
    let fp = |i: u8| format!("{:02x}", i).repeat(32);
    ok(env, &["create", "flow", "risky", "--tag", "risk-level=high"]);
    ok(env, &["create", "flow", "calm", "--tag", "risk-level=low"]);
    let template = env.write("t.yml", b"version: 1\ntrail:\n  attestations:\n    - name: extra\n");
    // a: in flow risky without a pull-request attestation; b: in flow calm (the `if` does not apply);
    // c: in flow calm with an INCOMPLETE trail (its template wants `extra`) and a non-compliant
    // coverage attestation that need not be compliant.
    ok(env, &["begin", "trail", "ta", "--flow", "risky"]);
    ok(
        env,
        &["attest", "artifact", "--fingerprint", &fp(1), "--name", "a", "--flow", "risky", "--trail", "ta"],
    );
    ok(env, &["begin", "trail", "tb", "--flow", "calm"]);
    ok(
        env,
        &["attest", "artifact", "--fingerprint", &fp(2), "--name", "b", "--flow", "calm", "--trail", "tb"],
    );
    ok(env, &["begin", "trail", "tc", "--flow", "calm", "--template-file", template.to_str().unwrap()]);
    ok(
        env,
        &["attest", "artifact", "--fingerprint", &fp(3), "--name", "c", "--flow", "calm", "--trail", "tc"],
    );
    ok(
        env,
        &["attest", "generic", "--name", "coverage", "--flow", "calm", "--trail", "tc", "--compliant=false"],
    );
    let running = [
        ("shop", "a-1", "acme/a:1", fp(1)),
        ("shop", "b-1", "acme/b:1", fp(2)),
        ("shop", "c-1", "acme/c:1", fp(3)),
        ("agents", "dd-1", "datadog/agent:7", fp(4)),
        ("agents", "x-1", "unknown/x:1", fp(5)),
    ];
    let items: Vec<Value> = running
        .iter()
        .map(|(ns, pod, image, digest)| {
            serde_json::json!({"metadata": {"namespace": ns, "name": pod}, "status": {"containerStatuses": [
                {"image": image, "imageID": format!("{image}@sha256:{digest}"), "state": {"running": {}}}]}})
        })
        .collect();
    let pods = serde_json::json!({ "items": items });
    let pods = env.write("pods.json", pods.to_string().as_bytes());
    let provenance = env.write(
        "provenance.yml",
        b"_schema: https://kosli.com/schemas/policy/environment/v1\nartifacts:\n  provenance:\n    required: true\n    exceptions:\n      - if: ${{ matches(artifact.name, \"^datadog/\") }}\n  trail-compliance:\n    required: true\n",
    );
    let reviews = env.write(
        "reviews.yml",
        b"_schema: https://kosli.com/schemas/policy/environment/v1\nartifacts:\n  attestations:\n    - name: pull-request\n      type: generic\n      if: ${{ flow.tags.risk-level == \"high\" }}\n    - name: coverage\n      type: generic\n      must_be_compliant: false\n      if: ${{ flow.name == \"calm\" and artifact.name != \"acme/b:1\" }}\n",
    );
    ok(env, &["create", "environment", "k", "--type", "K8S"]);
    ok(env, &["create", "policy", "provenance", provenance.to_str().unwrap()]);
    ok(env, &["create", "policy", "reviews", reviews.to_str().unwrap()]);
    ok(env, &["attach-policy", "provenance", "--environment", "k"]);
    ok(env, &["attach-policy", "reviews", "--environment", "k"]);
    let evaluation =
        json(env, &["snapshot", "k8s", "k", "--pods-file", pods.to_str().unwrap()])["evaluation"].clone();
    let compliant = |name: &str| artifact(&evaluation, name)["compliant"].as_bool().unwrap();
    let reasons = |name: &str| artifact(&evaluation, name)["reasons"].to_string();
    // a: the reviews policy requires a pull request in the risky flow; provenance and trail are fine.
    assert!(!compliant("acme/a:1"));
    assert!(
        reasons("acme/a:1").contains("pull-request") && !reasons("acme/a:1").contains("provenance"),
        "{}",
        reasons("acme/a:1")
    );
    // b: nothing applies beyond provenance and a COMPLIANT trail.
    assert!(compliant("acme/b:1"), "{}", reasons("acme/b:1"));
    // c: INCOMPLETE does not veto, and it is COMPLIANT nowhere, so trail compliance fails; the
    // non-compliant coverage is accepted because it need not be compliant.
    assert!(!compliant("acme/c:1"));
    assert!(
        reasons("acme/c:1").contains("trail compliance") && !reasons("acme/c:1").contains("coverage"),
        "{}",
        reasons("acme/c:1")
    );
    // The datadog agent has no provenance but matches the exception by its snapshot name; x does not.
    assert!(compliant("datadog/agent:7"), "{}", reasons("datadog/agent:7"));
    assert!(!compliant("unknown/x:1"));
    assert!(reasons("unknown/x:1").contains("never reported"));
    // Detaching the reviews policy leaves provenance and trail compliance: a becomes compliant.
    ok(env, &["detach-policy", "reviews", "--environment", "k"]);
    let evaluation = json(env, &["get", "snapshot", "k"])["evaluation"].clone();
    assert_eq!(artifact(&evaluation, "acme/a:1")["compliant"], true);
    assert_eq!(evaluation["policies"].as_array().unwrap().len(), 1);
    // Evidence that arrives after the snapshot counts: assert judges now, and the next report of the
    // same running set records the new evaluation.
    ok(
        env,
        &[
            "attest",
            "generic",
            "--name",
            "a.late-scan",
            "--flow",
            "risky",
            "--trail",
            "ta",
            "--compliant=false",
        ],
    );
    env.verdict()
        .args(["assert", "snapshot", "k"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("acme/a:1"));
    let before = env.entries();
    let again = json(env, &["snapshot", "k8s", "k", "--pods-file", pods.to_str().unwrap()]);
    assert_eq!(again["changed"], false);
    assert_eq!(artifact(&again["evaluation"], "acme/a:1")["compliant"], false);
    assert_eq!(env.entries(), before + 1, "only the changed evaluation was recorded");
    let evaluation = json(env, &["get", "snapshot", "k"])["evaluation"].clone();
    assert_eq!(artifact(&evaluation, "acme/a:1")["compliant"], false);
    // Unchanged evidence and set: nothing more is recorded.
    json(env, &["snapshot", "k8s", "k", "--pods-file", pods.to_str().unwrap()]);
    assert_eq!(env.entries(), before + 1);
    // A running container that cannot be fingerprinted is refused, not left out.
    let digestless = serde_json::json!({"items": [{"metadata": {"namespace": "shop", "name": "z-1"}, "status": {"containerStatuses": [
        {"image": "acme/z:1", "imageID": "", "state": {"running": {}}}]}}]});
    let digestless = env.write("digestless.json", digestless.to_string().as_bytes());
    env.verdict()
        .args(["snapshot", "k8s", "k", "--pods-file", digestless.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("pod shop/z-1 runs acme/z:1")
                .and(predicate::str::contains("cannot be fingerprinted")),
        );
    assert_eq!(env.entries(), before + 1);
}

/// The evaluation document is stored beside the chain under the SHA-256 its chained record holds: an
/// altered document is reported as corruption (exit 3), never shown or trusted, while the chain itself
/// still verifies.
#[test]
fn a_tampered_evaluation_document_is_refused() {
    let env = Env::embedded();
    let path = env.write("app", b"app");
    let fp = fingerprint(&env, &path);
    let policy = env.write("p.yml", POLICY.as_bytes());
    ok(&env, &["create", "environment", "prod", "--type", "server"]);
    ok(&env, &["create", "policy", "baseline", policy.to_str().unwrap()]);
    ok(&env, &["attach-policy", "baseline", "--environment", "prod"]);
    let reported = json(&env, &["snapshot", "server", "prod", "--paths", path.to_str().unwrap()]);
    assert_eq!(reported["evaluation"]["artifacts"][0]["fingerprint"], fp.as_str());
    let shown = json(&env, &["get", "snapshot", "prod"]);
    assert_eq!(shown["evaluation"], reported["evaluation"]);

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let ledger = verdict_ledger::SqlLedger::open(&env.db).await.unwrap();
        // A forged evaluation that calls the artifact compliant.
        let mut forged = reported["evaluation"].clone();
        forged["artifacts"][0]["compliant"] = Value::Bool(true);
        let forged = serde_json::to_string(&forged).unwrap().replace('\'', "''");
        let changed = ledger
            .execute_raw(&format!("UPDATE attachments SET content = CAST('{forged}' AS BLOB)"))
            .await
            .unwrap();
        assert_eq!(changed, 1);
        ledger.close().await;
    });
    env.verdict().args(["get", "snapshot", "prod"]).assert().code(3).stderr(
        predicate::str::contains("does not match its recorded digest")
            .or(predicate::str::contains("no longer matches its hash")),
    );
    // The gate judges afresh and still denies.
    env.verdict().args(["assert", "snapshot", "prod"]).assert().code(1);
    env.verdict().args(["ledger", "verify"]).assert().code(0);
}
