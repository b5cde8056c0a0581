//! The deployment of the webhook: the kustomize base in `deploy/kubernetes` rendered by `kubectl
//! kustomize` (installed on every machine of this project; a missing kubectl fails the test), and
//! `verdict admission manifests`, each object deserialized into its k8s-openapi type and checked for
//! what keeps the cluster safe: fail closed, no side effects, a timeout below the API server's, the
//! webhook's own and the control plane's namespaces exempt, two replicas with a disruption budget,
//! non-root and read-only.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Service, ServiceAccount};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use serde_json::Value;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The objects of a multi-document YAML stream, by kind.
fn objects(yaml: &str) -> BTreeMap<String, Value> {
    let mut by_kind = BTreeMap::new();
    for document in yaml.split("\n---\n") {
        let Some(node) = verdict_policy::yaml::parse(document).unwrap() else { continue };
        let value = node.to_json();
        let kind = value["kind"].as_str().unwrap().to_owned();
        assert!(by_kind.insert(kind.clone(), value).is_none(), "two {kind} objects");
    }
    by_kind
}

fn check(objects: &BTreeMap<String, Value>, namespace: &str) {
    let kinds: Vec<&str> = objects.keys().map(String::as_str).collect();
    assert_eq!(
        kinds,
        [
            "ConfigMap",
            "Deployment",
            "Namespace",
            "PodDisruptionBudget",
            "Service",
            "ServiceAccount",
            "ValidatingWebhookConfiguration"
        ]
    );
    let typed = |kind: &str| objects[kind].clone();
    let namespace_object: Namespace = serde_json::from_value(typed("Namespace")).unwrap();
    assert_eq!(namespace_object.metadata.name.as_deref(), Some(namespace));
    let account: ServiceAccount = serde_json::from_value(typed("ServiceAccount")).unwrap();
    assert_eq!(account.automount_service_account_token, Some(false));
    let _: Service = serde_json::from_value(typed("Service")).unwrap();
    let config: ConfigMap = serde_json::from_value(typed("ConfigMap")).unwrap();
    let data = config.data.unwrap();
    assert!(data["admission.yaml"].contains("kind: AdmissionConfig"));
    assert!(data["admission.yaml"].contains(namespace), "its own namespace is exempt");

    let deployment: Deployment = serde_json::from_value(typed("Deployment")).unwrap();
    let spec = deployment.spec;
    assert!(spec.replicas.unwrap() >= 2);
    let pod = spec.template.spec.unwrap();
    assert_eq!(pod.security_context.as_ref().unwrap().run_as_non_root, Some(true));
    assert!(pod.affinity.unwrap().pod_anti_affinity.is_some());
    let container = &pod.containers[0];
    let security = container.security_context.as_ref().unwrap();
    assert_eq!(
        (security.read_only_root_filesystem, security.allow_privilege_escalation),
        (Some(true), Some(false))
    );
    let args = container.args.clone().unwrap().join(" ");
    assert!(
        args.contains("admission serve") && args.contains("--config=") && args.contains("--tls-cert="),
        "{args}"
    );
    let pdb: PodDisruptionBudget = serde_json::from_value(typed("PodDisruptionBudget")).unwrap();
    assert!(pdb.spec.unwrap().min_available.is_some());

    let webhooks: ValidatingWebhookConfiguration =
        serde_json::from_value(typed("ValidatingWebhookConfiguration")).unwrap();
    let webhook = &webhooks.webhooks.unwrap()[0];
    assert_eq!(webhook.failure_policy.as_deref(), Some("Fail"));
    assert_eq!(webhook.side_effects, "None");
    assert_eq!(webhook.timeout_seconds, Some(10));
    assert_eq!(webhook.admission_review_versions, ["v1"]);
    let service = webhook.client_config.service.as_ref().unwrap();
    assert_eq!((service.namespace.as_str(), service.path.as_deref()), (namespace, Some("/validate")));
    let excluded = &webhook.namespace_selector.as_ref().unwrap().match_expressions.as_ref().unwrap()[0];
    assert_eq!(excluded.operator, "NotIn");
    for exempt in ["kube-system", "kube-public", "kube-node-lease", namespace] {
        assert!(excluded.values.as_ref().unwrap().iter().any(|v| v == exempt), "{exempt} is not excluded");
    }
    let resources: Vec<String> = webhook
        .rules
        .as_ref()
        .unwrap()
        .iter()
        .flat_map(|r| r.resources.clone().unwrap_or_default())
        .collect();
    for resource in [
        "pods",
        "pods/ephemeralcontainers",
        "deployments",
        "replicasets",
        "statefulsets",
        "daemonsets",
        "jobs",
        "cronjobs",
        "replicationcontrollers",
    ] {
        assert!(resources.iter().any(|r| r == resource), "{resource} is not guarded");
    }
    for rule in webhook.rules.as_ref().unwrap() {
        assert_eq!(rule.operations.as_deref(), Some(&["CREATE".to_owned(), "UPDATE".to_owned()][..]));
    }
}

#[test]
fn the_kustomize_base_renders_into_valid_safe_objects() {
    let output = Command::new("kubectl")
        .args(["kustomize"])
        .arg(workspace().join("deploy/kubernetes"))
        .output()
        .expect("kubectl is required for this test (it ships with this project's machines): install kubectl");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    check(&objects(&String::from_utf8(output.stdout).unwrap()), "verdict-system");
}

#[test]
fn admission_manifests_prints_the_same_objects_for_any_namespace() {
    let binary = assert_cmd::cargo::cargo_bin("verdict");
    let output =
        Command::new(&binary).args(["admission", "manifests", "--namespace", "guard"]).output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let printed = objects(&String::from_utf8(output.stdout).unwrap());
    check(&printed, "guard");
    // The configuration it ships with validates, with the policy beside it.
    let dir = tempfile::tempdir().unwrap();
    let data = &printed["ConfigMap"]["data"];
    for name in ["admission.yaml", "image-policy.yml"] {
        std::fs::write(dir.path().join(name), data[name].as_str().unwrap()).unwrap();
    }
    let validate = Command::new(&binary)
        .args(["admission", "validate"])
        .arg(dir.path().join("admission.yaml"))
        .output()
        .unwrap();
    assert_eq!(validate.status.code(), Some(0), "{}", String::from_utf8_lossy(&validate.stderr));
    let bad = Command::new(&binary)
        .args(["admission", "manifests", "--namespace", "Not_A_Namespace"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
