//! `verdict apply` and `verdict test` as a Kyverno user runs them: kyverno/policies' own suites from the
//! oracle pass, a wrong expectation fails the run, every output format carries the results, exit codes
//! follow the failure action and `--mode`, and bad input is exit 2 with the file and position.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn verdict() -> Command {
    let mut command = Command::cargo_bin("verdict").unwrap();
    command.env("NO_COLOR", "1");
    command
}

fn oracle(path: &str) -> std::path::PathBuf {
    verdict_testkit::oracles().join("kyverno-policies").join(path)
}

const ENFORCED: &str = r#"apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: disallow-latest
spec:
  validationFailureAction: Enforce
  rules:
    - name: no-latest
      match:
        any:
          - resources:
              kinds: [Pod]
      validate:
        message: "image {{ request.object.spec.containers[0].image }} uses the latest tag"
        pattern:
          spec:
            containers:
              - image: "!*:latest"
"#;

const PODS: &str = r#"apiVersion: v1
kind: Pod
metadata: {name: good, namespace: shop}
spec:
  containers: [{name: c, image: "nginx:1.25"}]
---
apiVersion: v1
kind: Pod
metadata: {name: bad, namespace: shop}
spec:
  containers: [{name: c, image: "nginx:latest"}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      containers: [{name: c, image: "nginx:latest"}]
"#;

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn the_oracle_suites_pass_through_the_cli() {
    verdict()
        .args(["test"])
        .arg(oracle("best-practices"))
        .assert()
        .code(0)
        .stdout(predicate::str::contains("Test Summary: 34 tests passed and 0 tests failed"));
    // Rows for pod controllers name Kyverno's generated rules.
    verdict()
        .args(["test"])
        .arg(oracle("other/limit-containers-per-pod"))
        .assert()
        .code(0)
        .stdout(predicate::str::contains("autogen-cronjob-"))
        .stdout(predicate::str::contains("tests failed").and(predicate::str::contains(" 0 tests failed")));
    // JSON and JUnit carry the same rows.
    let output =
        verdict().args(["test", "-o", "json"]).arg(oracle("other/require-qos-burstable")).output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(json["passed"].as_u64().unwrap() > 0);
    assert_eq!(json["failed"], 0);
    verdict()
        .args(["test", "-o", "junit"])
        .arg(oracle("other/require-qos-burstable"))
        .assert()
        .code(0)
        .stdout(predicate::str::contains("<testsuites name=\"verdict test\""))
        .stdout(predicate::str::contains("failures=\"0\""));
    // A selector narrows the rows.
    verdict()
        .args([
            "test",
            "--test-case-selector",
            "policy=require-labels, resource=badpod01",
            "--detailed-results",
        ])
        .arg(oracle("best-practices/require-labels"))
        .assert()
        .code(0)
        .stdout(predicate::str::contains("Test Summary: 1 tests passed and 0 tests failed"))
        .stdout(predicate::str::contains("is required"));
}

#[test]
fn a_wrong_expectation_fails_the_run() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir, "policy.yaml", ENFORCED);
    write(&dir, "pods.yaml", PODS);
    let test = "apiVersion: cli.kyverno.io/v1alpha1\nkind: Test\nmetadata: {name: t}\npolicies: [policy.yaml]\nresources: [pods.yaml]\nresults:\n  - {policy: disallow-latest, rule: no-latest, resources: [good], kind: Pod, result: pass}\n  - {policy: disallow-latest, rule: no-latest, resources: [bad], kind: Pod, result: pass}\n  - {policy: disallow-latest, rule: no-latest, resources: [web], kind: Deployment, result: fail}\n  - {policy: disallow-latest, rule: no-latest, resources: [missing], kind: Pod, result: pass}\n";
    write(&dir, "kyverno-test.yaml", test);
    verdict()
        .arg("test")
        .arg(dir.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("Want pass, got fail"))
        .stdout(predicate::str::contains("autogen-no-latest"))
        .stdout(predicate::str::contains("Want pass, got not found"))
        .stdout(predicate::str::contains("Test Summary: 2 tests passed and 2 tests failed"));
    verdict()
        .args(["test", "--fail-only"])
        .arg(dir.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("Pod/shop/good").not());
    // A test file naming a policy that does not exist on disk: exit 2, naming it.
    write(&dir, "kyverno-test.yaml", &test.replace("policies: [policy.yaml]", "policies: [nope.yaml]"));
    verdict().arg("test").arg(dir.path()).assert().code(2).stderr(predicate::str::contains("nope.yaml"));
    verdict().arg("test").arg(dir.path().join("none")).assert().code(2);
}

#[test]
fn apply_reports_every_result_and_exits_by_the_failure_action() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(&dir, "policy.yaml", ENFORCED);
    let pods = write(&dir, "pods.yaml", PODS);
    verdict()
        .arg("apply")
        .arg(&policy)
        .arg("--resource")
        .arg(&pods)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("pass: 1, fail: 2, warn: 0, error: 0, skip: 0"))
        .stdout(predicate::str::contains("autogen-no-latest"))
        .stdout(predicate::str::contains("image nginx:latest uses the latest tag."));
    // Local development: failures are reported, the run passes.
    verdict().arg("apply").arg(&policy).arg("-r").arg(&pods).args(["--mode", "warn"]).assert().code(0);
    // An Audit policy reports without failing, unless CI enforces it.
    let audit = write(&dir, "audit.yaml", &ENFORCED.replace("Enforce", "Audit"));
    verdict().arg("apply").arg(&audit).arg("-r").arg(&pods).assert().code(0);
    verdict().arg("apply").arg(&audit).arg("-r").arg(&pods).args(["--mode", "enforce"]).assert().code(1);

    let output =
        verdict().arg("apply").arg(&policy).arg("-r").arg(&pods).args(["-o", "json"]).output().unwrap();
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["summary"]["fail"], 2);
    assert_eq!(json["blocking"], 2);
    let output = verdict()
        .arg("apply")
        .arg(&policy)
        .arg("-r")
        .arg(&pods)
        .args(["-o", "policy-report"])
        .output()
        .unwrap();
    let reports: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(reports["items"][0]["apiVersion"], "wgpolicyk8s.io/v1alpha2");
    assert_eq!(reports["items"][0]["kind"], "PolicyReport");
    assert_eq!(reports["items"][0]["metadata"]["namespace"], "shop");
    assert_eq!(reports["items"][0]["summary"]["fail"], 2);
    verdict()
        .arg("apply")
        .arg(&policy)
        .arg("-r")
        .arg(&pods)
        .args(["-o", "junit"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("<failure type=\"fail\""));
    let output =
        verdict().arg("apply").arg(&policy).arg("-r").arg(&pods).args(["-o", "sarif"]).output().unwrap();
    let sarif: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), 2);
    assert!(
        sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .ends_with("pods.yaml")
    );
    // Resources from stdin and a directory of policies.
    verdict()
        .arg("apply")
        .arg(dir.path())
        .args(["-r", "-"])
        .write_stdin(PODS)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("Applying 2 policies to 3 resources"));
}

#[test]
fn bad_input_is_exit_2_with_the_position() {
    let dir = tempfile::tempdir().unwrap();
    let pods = write(&dir, "pods.yaml", PODS);
    let bad_operator = write(
        &dir,
        "bad.yaml",
        &ENFORCED.replace(
            "      validate:\n",
            "      preconditions:\n        all:\n          - {key: a, operator: Equalz, value: b}\n      validate:\n",
        ),
    );
    verdict()
        .arg("apply")
        .arg(&bad_operator)
        .arg("-r")
        .arg(&pods)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bad.yaml:8:7"))
        .stderr(predicate::str::contains("unknown condition operator \"Equalz\""));
    let bad_yaml = write(&dir, "broken.yaml", "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nspec: [\n");
    verdict()
        .arg("apply")
        .arg(&bad_yaml)
        .arg("-r")
        .arg(&pods)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("broken.yaml"));
    let policy = write(&dir, "policy.yaml", ENFORCED);
    verdict()
        .arg("apply")
        .arg(&policy)
        .args(["-r", "missing.yaml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing.yaml"));
    let not_resource = write(&dir, "notres.yaml", "just: data\n");
    verdict()
        .arg("apply")
        .arg(&policy)
        .arg("-r")
        .arg(&not_resource)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no `kind`"));
    let vap = write(
        &dir,
        "vap.yaml",
        "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata: {name: x}\n",
    );
    verdict()
        .arg("apply")
        .arg(&vap)
        .arg("-r")
        .arg(&pods)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("ValidatingAdmissionPolicy"));
    // A mutate rule is reported as unsupported, per rule, as an error (never a silent pass).
    let mutate = write(
        &dir,
        "mutate.yaml",
        "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: m}\nspec:\n  rules:\n    - name: add-label\n      match: {any: [{resources: {kinds: [Pod]}}]}\n      mutate: {patchStrategicMerge: {metadata: {labels: {a: b}}}}\n",
    );
    verdict()
        .arg("apply")
        .arg(&mutate)
        .arg("-r")
        .arg(&pods)
        .args(["--mode", "enforce"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("rule type `mutate` is not supported by verdict"));
}

/// The same policy file at admission: `verdict admission review` (the webhook's decision, offline) on
/// the oracle's real AdmissionReviews, with only manifest policies configured.
#[test]
fn manifest_policies_are_enforced_at_admission() {
    let dir = tempfile::tempdir().unwrap();
    let policy = std::fs::read_to_string(oracle(
        "pod-security/baseline/disallow-host-namespaces/disallow-host-namespaces.yaml",
    ))
    .unwrap()
    .replace("validationFailureAction: Audit", "validationFailureAction: Enforce");
    write(&dir, "host-namespaces.yaml", &policy);
    let config = write(
        &dir,
        "admission.yaml",
        "apiVersion: verdict.dev/v1\nkind: AdmissionConfig\nmanifestPolicies: [host-namespaces.yaml]\n",
    );
    verdict().args(["admission", "validate"]).arg(&config).assert().code(0);
    let reviews = verdict_testkit::oracles().join("admission/reviews");
    let output = verdict()
        .args(["admission", "review", "-o", "json", "--config"])
        .arg(&config)
        .arg(reviews.join("host-namespaces-psp-policy/deployment_request.json"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["review"]["response"]["allowed"], false);
    assert_eq!(json["decision"]["manifest"][0]["rule"], "autogen-host-namespaces");
    assert_eq!(json["decision"]["manifest"][0]["result"], "fail");
    assert_eq!(json["decision"]["manifest"][0]["action"], "Enforce");
    verdict()
        .args(["admission", "review", "--config"])
        .arg(&config)
        .arg(reviews.join("pod-privileged-policy/no_privileged_containers.json"))
        .assert()
        .code(0)
        .stdout(predicate::str::contains("ADMITTED"));
    // Neither image nor manifest policies: a configuration error with its position.
    let empty = write(&dir, "empty.yaml", "apiVersion: verdict.dev/v1\nkind: AdmissionConfig\nmode: audit\n");
    verdict()
        .args(["admission", "validate"])
        .arg(&empty)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("names no policy"));
    write(
        &dir,
        "broken-policy.yaml",
        "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: b}\nspec: {rules: [{name: r}]}\n",
    );
    let bad = write(
        &dir,
        "bad.yaml",
        "apiVersion: verdict.dev/v1\nkind: AdmissionConfig\nmanifestPolicies: [broken-policy.yaml]\n",
    );
    verdict()
        .args(["admission", "validate"])
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("has no `match`"));
}

/// At admission the cluster supplies what a values file supplies offline: namespace labels for
/// `namespaceSelector`, `configMap` and `apiCall` context entries (an in-process fake API server with
/// the real shapes). A cluster that cannot be read denies, naming why.
#[test]
fn admission_reads_namespace_labels_config_maps_and_api_calls_from_the_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let policy = r#"apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: cluster-aware}
spec:
  validationFailureAction: Enforce
  rules:
    - name: prod-registries
      match:
        any:
          - resources:
              kinds: [Pod]
              namespaceSelector: {matchLabels: {env: prod}}
      context:
        - name: registries
          configMap: {name: allowed-registries, namespace: policies}
      validate:
        message: "{{ request.object.spec.containers[0].image }} is not from {{ registries.data.prefix }}"
        deny:
          conditions:
            any:
              - key: "{{ request.object.spec.containers[0].image }}"
                operator: NotEquals
                value: "{{ registries.data.prefix }}*"
    - name: team-label
      match:
        any:
          - resources: {kinds: [Pod]}
      context:
        - name: team
          apiCall:
            urlPath: "/api/v1/namespaces/{{ request.namespace }}"
            jmesPath: "metadata.labels.team"
      validate:
        message: "namespace has no team"
        deny:
          conditions:
            any:
              - {key: "{{ team }}", operator: Equals, value: ""}
"#;
    write(&dir, "cluster-aware.yaml", policy);
    let namespace = |name: &str, labels: Value| {
        serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}).to_string()
    };
    let api = verdict_testkit::json_api::FakeJsonApi::start(
        vec![
            ("/api/v1/namespaces/shop", namespace("shop", serde_json::json!({"env": "prod", "team": "shop"}))),
            ("/api/v1/namespaces/lab", namespace("lab", serde_json::json!({"env": "dev"}))),
            (
                "/api/v1/namespaces/policies/configmaps/allowed-registries",
                serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "allowed-registries", "namespace": "policies"},
                                   "data": {"prefix": "ghcr.io/acme/"}})
                .to_string(),
            ),
        ],
        ("authorization", "Bearer k8s-token"),
    );
    let kubeconfig = |server: &str| {
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: t\nclusters:\n- name: c\n  cluster:\n    server: {server}\ncontexts:\n- name: t\n  context:\n    cluster: c\n    user: u\nusers:\n- name: u\n  user:\n    token: k8s-token\n"
        )
    };
    write(&dir, "kubeconfig.yaml", &kubeconfig(api.url()));
    let config = write(
        &dir,
        "admission.yaml",
        "apiVersion: verdict.dev/v1\nkind: AdmissionConfig\nmanifestPolicies: [cluster-aware.yaml]\ncluster: {kubeconfig: kubeconfig.yaml}\n",
    );
    let pod_review = |namespace: &str, image: &str| {
        serde_json::json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
            "uid": "u-1", "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "operation": "CREATE", "namespace": namespace, "name": "p", "userInfo": {"username": "alice"},
            "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                       "spec": {"containers": [{"name": "c", "image": image}]}}}})
        .to_string()
    };
    let review = |config: &std::path::Path, namespace: &str, image: &str| {
        let file = write(&dir, "review.json", &pod_review(namespace, image));
        let output = verdict()
            .args(["admission", "review", "-o", "json", "--config"])
            .arg(config)
            .arg(&file)
            .output()
            .unwrap();
        (
            output.status.code(),
            serde_json::from_slice::<Value>(&output.stdout).unwrap_or(Value::Null),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (code, json, stderr) = review(&config, "shop", "ghcr.io/acme/app:1");
    assert_eq!(code, Some(0), "{json:#}\n{stderr}");
    assert_eq!(json["decision"]["manifest"].as_array().unwrap().len(), 2, "{json:#}");
    let (code, json, _) = review(&config, "shop", "docker.io/evil/app:1");
    assert_eq!(code, Some(1));
    let message = json["review"]["response"]["status"]["message"].as_str().unwrap();
    assert!(message.contains("docker.io/evil/app:1 is not from ghcr.io/acme/"), "{message}");
    // Not a prod namespace: the registry rule does not apply; no team label: the apiCall rule denies.
    let (code, json, _) = review(&config, "lab", "docker.io/evil/app:1");
    assert_eq!(code, Some(1));
    let rules: Vec<&str> = json["decision"]["manifest"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["team-label"]);
    assert!(
        json["review"]["response"]["status"]["message"].as_str().unwrap().contains("namespace has no team")
    );
    // A ValidatingPolicy's `resource.Get` reads the same ConfigMap from the cluster at admission.
    write(
        &dir,
        "registries-vpol.yaml",
        "apiVersion: policies.kyverno.io/v1\nkind: ValidatingPolicy\nmetadata: {name: registries}\nspec:\n  validationActions: [Deny]\n  matchConstraints:\n    resourceRules:\n      - {apiGroups: [''], apiVersions: [v1], operations: [CREATE], resources: [pods]}\n  validations:\n    - expression: \"object.spec.containers.all(c, c.image.startsWith(resource.Get('v1', 'configmaps', 'policies', 'allowed-registries').data.prefix))\"\n      message: not from an allowed registry\n",
    );
    let cel_config = write(
        &dir,
        "cel-admission.yaml",
        "apiVersion: verdict.dev/v1\nkind: AdmissionConfig\nmanifestPolicies: [registries-vpol.yaml]\ncluster: {kubeconfig: kubeconfig.yaml}\n",
    );
    let (code, json, stderr) = review(&cel_config, "shop", "ghcr.io/acme/app:1");
    assert_eq!(code, Some(0), "{json:#}\n{stderr}");
    let (code, json, _) = review(&cel_config, "shop", "docker.io/evil/app:1");
    assert_eq!(code, Some(1), "{json:#}");
    assert!(
        json["review"]["response"]["status"]["message"]
            .as_str()
            .unwrap()
            .contains("not from an allowed registry"),
        "{json:#}"
    );
    // A namespace the cluster does not know, and a cluster that cannot be reached: denied, never admitted.
    let (code, json, _) = review(&config, "ghost", "ghcr.io/acme/app:1");
    assert_eq!(code, Some(1), "{json:#}");
    assert!(
        json["review"]["response"]["status"]["message"].as_str().unwrap().contains("cannot read the cluster")
    );
    write(&dir, "down.yaml", &kubeconfig("http://127.0.0.1:9"));
    let down = write(
        &dir,
        "down-admission.yaml",
        "apiVersion: verdict.dev/v1\nkind: AdmissionConfig\nmanifestPolicies: [cluster-aware.yaml]\ncluster: {kubeconfig: down.yaml}\n",
    );
    let (code, json, _) = review(&down, "shop", "ghcr.io/acme/app:1");
    assert_eq!(code, Some(1), "{json:#}");
    assert!(
        json["review"]["response"]["status"]["message"].as_str().unwrap().contains("cannot read the cluster")
    );
    // Both sources at once is a configuration error at its position.
    let both = write(
        &dir,
        "both.yaml",
        "apiVersion: verdict.dev/v1\nkind: AdmissionConfig\nmanifestPolicies: [cluster-aware.yaml]\ncluster: {inCluster: true, kubeconfig: kubeconfig.yaml}\n",
    );
    verdict()
        .args(["admission", "validate"])
        .arg(&both)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not both"));
}

/// CEL policies through the CLI: a Kyverno ValidatingPolicy and a Kubernetes ValidatingAdmissionPolicy
/// with its binding, applied to the same manifests as the classic policy, decide the same; the
/// oracle's CEL suites pass through `verdict test`.
#[test]
fn cel_policies_apply_like_their_classic_twin() {
    let dir = tempfile::tempdir().unwrap();
    let pods = write(&dir, "pods.yaml", PODS);
    let expression = "object.spec.containers.all(c, !c.image.endsWith(':latest'))";
    let vpol = write(
        &dir,
        "vpol.yaml",
        &format!(
            "apiVersion: policies.kyverno.io/v1\nkind: ValidatingPolicy\nmetadata: {{name: disallow-latest}}\nspec:\n  validationActions: [Deny]\n  matchConstraints:\n    resourceRules:\n      - {{apiGroups: [''], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [pods]}}\n  validations:\n    - expression: \"{expression}\"\n      messageExpression: \"'image ' + object.spec.containers[0].image + ' uses the latest tag'\"\n"
        ),
    );
    let vap = write(
        &dir,
        "vap.yaml",
        &format!(
            "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata: {{name: disallow-latest}}\nspec:\n  failurePolicy: Fail\n  matchConstraints:\n    resourceRules:\n      - {{apiGroups: [''], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [pods]}}\n  validations:\n    - expression: \"{expression}\"\n      message: uses the latest tag\n---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata: {{name: disallow-latest-binding}}\nspec:\n  policyName: disallow-latest\n  validationActions: [Deny]\n"
        ),
    );
    for policy in [&vpol, &vap] {
        let output =
            verdict().arg("apply").arg(policy).arg("-r").arg(&pods).args(["-o", "json"]).output().unwrap();
        assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
        let json: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(json["summary"]["fail"], 2, "{json:#}");
        assert_eq!(json["summary"]["pass"], 1, "{json:#}");
    }
    verdict()
        .arg("apply")
        .arg(&vpol)
        .arg("-r")
        .arg(&pods)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("image nginx:latest uses the latest tag"));
    // An expression that does not compile: exit 2, naming the rule.
    let broken = write(
        &dir,
        "broken-vpol.yaml",
        &std::fs::read_to_string(&vpol).unwrap().replace(expression, "object.spec.("),
    );
    verdict()
        .arg("apply")
        .arg(&broken)
        .arg("-r")
        .arg(&pods)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid CEL expression"));
    // The oracle's CEL suites.
    verdict()
        .args(["test"])
        .arg(oracle("best-practices-cel"))
        .arg(oracle("best-practices-vpol"))
        .assert()
        .code(0)
        .stdout(predicate::str::contains(" 0 tests failed"));
}
