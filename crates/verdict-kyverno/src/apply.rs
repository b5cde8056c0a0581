//! `verdict apply`: Kyverno policies against resource manifests, like `kyverno apply` — every
//! (policy, rule, resource) that applies, with its result — and the formats CI and clusters read:
//! a summary, `wgpolicyk8s.io/v1alpha2` PolicyReports, JUnit and SARIF.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::engine::{Prepared, Request, Status, Values, evaluate_prepared};
use crate::matching::RequestInfo;
use crate::policy::{Action, Policy};
use crate::testsuite::{TestError, ValuesFile};

/// The resource a result is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct ResourceRef {
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// `metadata.namespace` (empty for cluster-scoped resources).
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
}

impl ResourceRef {
    /// The reference of `resource`.
    pub fn of(resource: &Value) -> Self {
        let text =
            |pointer: &str| resource.pointer(pointer).and_then(Value::as_str).unwrap_or_default().to_owned();
        ResourceRef {
            api_version: text("/apiVersion"),
            kind: text("/kind"),
            namespace: text("/metadata/namespace"),
            name: text("/metadata/name"),
        }
    }

    /// `Kind/namespace/name` (or `Kind/name`).
    pub fn display(&self) -> String {
        if self.namespace.is_empty() {
            format!("{}/{}", self.kind, self.name)
        } else {
            format!("{}/{}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// One (policy, rule, resource) result.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ApplyResult {
    /// The policy.
    pub policy: String,
    /// The rule.
    pub rule: String,
    /// The resource.
    pub resource: ResourceRef,
    /// The result.
    pub result: Status,
    /// Why.
    pub message: String,
    /// The failure action that applies (the policy's or rule's, per namespace).
    pub action: Action,
    /// Whether the policy scores failures.
    pub scored: bool,
}

/// How many results of each kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Passed.
    pub pass: usize,
    /// Failed.
    pub fail: usize,
    /// Unscored failures.
    pub warn: usize,
    /// Could not be evaluated.
    pub error: usize,
    /// Did not apply (preconditions, conditional anchors).
    pub skip: usize,
}

/// Counts `results` by status.
pub fn summarize(results: &[ApplyResult]) -> Summary {
    let mut summary = Summary::default();
    for result in results {
        match result.result {
            Status::Pass => summary.pass += 1,
            Status::Fail => summary.fail += 1,
            Status::Warn => summary.warn += 1,
            Status::Error => summary.error += 1,
            Status::Skip => summary.skip += 1,
        }
    }
    summary
}

/// Every YAML/JSON file of `paths`, directories searched recursively, in a stable order.
pub fn expand_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>, TestError> {
    let mut files = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" || path.is_file() {
            files.push(path.clone());
            continue;
        }
        if !path.is_dir() {
            return Err(TestError::Read {
                path: path.display().to_string(),
                message: "no such file or directory".to_owned(),
            });
        }
        let found = crate::testsuite::walk(path, false, &|file| {
            file.extension().is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
        })?;
        files.extend(found);
    }
    Ok(files)
}

/// Applies every policy to every resource. `operation` is the request's (CREATE unless the values
/// say otherwise); `values` supplies context data as in `kyverno apply --values-file`.
pub fn apply(
    policies: &[Policy],
    resources: &[Value],
    values: &ValuesFile,
    user: &RequestInfo,
) -> Vec<ApplyResult> {
    let mut results = Vec::new();
    // CEL params (`paramRef`) are found among the resources of the run.
    let all = std::sync::Arc::new(resources.to_vec());
    for resource in resources {
        let name = resource.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
        let namespace = resource.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("default");
        let mut info = user.clone();
        info.namespace_labels = values.namespace_labels.get(namespace).cloned();
        // Prepared once for every policy without values of its own for this resource.
        let plain = Prepared::new(&Request::for_operation(resource.clone(), info.clone()), None)
            .with_resources(std::sync::Arc::clone(&all));
        for policy in policies {
            let rule_values: Values = values.for_resource(policy, name);
            let shared = rule_values.get("").filter(|v| !v.is_empty());
            let own;
            let prepared = match shared {
                None => &plain,
                Some(shared) => {
                    let mut info = info.clone();
                    if let Some(operation) = shared.get("request.operation").and_then(Value::as_str) {
                        info.operation = operation.to_owned();
                    }
                    own = Prepared::new(&Request::for_operation(resource.clone(), info), Some(shared))
                        .with_resources(std::sync::Arc::clone(&all));
                    &own
                }
            };
            for response in evaluate_prepared(policy, prepared, &rule_values) {
                results.push(ApplyResult {
                    policy: policy.name.clone(),
                    rule: response.rule,
                    resource: ResourceRef::of(resource),
                    result: response.status,
                    message: response.message,
                    action: response.action,
                    scored: policy.scored,
                });
            }
        }
    }
    results
}

/// Whether `result` blocks under `mode` (`None`: the policy's own action).
pub fn blocks(result: &ApplyResult, enforce_all: Option<bool>) -> bool {
    let failing = matches!(result.result, Status::Fail | Status::Error);
    failing && enforce_all.unwrap_or(result.action == Action::Enforce)
}

/// Name-value properties of a policy that every report format carries beside its results — verdict
/// puts there the policy bundle (digest, source, commit) a policy came from — by policy name.
pub type PolicyProperties = BTreeMap<String, BTreeMap<String, String>>;

fn report_result(result: &ApplyResult, timestamp: i64, properties: &PolicyProperties) -> Value {
    let mut value = report_result_fields(result, timestamp);
    if let Some(properties) = properties.get(&result.policy) {
        value["properties"] = json!(properties);
    }
    value
}

fn report_result_fields(result: &ApplyResult, timestamp: i64) -> Value {
    json!({
        "policy": result.policy,
        "rule": result.rule,
        "result": result.result.as_str(),
        "message": result.message,
        "scored": result.scored,
        "source": "verdict",
        "timestamp": {"seconds": timestamp, "nanos": 0},
        "resources": [{
            "apiVersion": result.resource.api_version,
            "kind": result.resource.kind,
            "name": result.resource.name,
            "namespace": result.resource.namespace,
        }],
    })
}

/// Kinds that live outside namespaces (everything else defaults to the `default` namespace).
const CLUSTER_SCOPED: &[&str] = &[
    "Namespace",
    "Node",
    "PersistentVolume",
    "ClusterRole",
    "ClusterRoleBinding",
    "StorageClass",
    "CustomResourceDefinition",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "PriorityClass",
    "IngressClass",
    "RuntimeClass",
    "CSIDriver",
    "APIService",
    "ClusterPolicy",
    "ClusterIssuer",
];

/// Whether `kind` lives outside namespaces.
pub fn is_cluster_scoped(kind: &str) -> bool {
    CLUSTER_SCOPED.contains(&kind)
}

/// `resource` with `metadata.namespace: default` when it is namespaced and names none — as the API
/// server (and Kyverno's CLI) would place it.
pub fn with_default_namespace(mut resource: Value) -> Value {
    let kind = resource.get("kind").and_then(Value::as_str).unwrap_or_default().to_owned();
    if !is_cluster_scoped(&kind)
        && let Some(metadata) = resource.get_mut("metadata").and_then(Value::as_object_mut)
        && !metadata.contains_key("namespace")
    {
        metadata.insert("namespace".to_owned(), Value::String("default".to_owned()));
    }
    resource
}

/// `wgpolicyk8s.io/v1alpha2` reports, in a `v1` `List`: a PolicyReport per namespace, a
/// ClusterPolicyReport for cluster-scoped resources.
pub fn policy_reports(results: &[ApplyResult], properties: &PolicyProperties) -> Value {
    let timestamp =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    let mut by_namespace: BTreeMap<String, Vec<&ApplyResult>> = BTreeMap::new();
    for result in results {
        let cluster_scoped = CLUSTER_SCOPED.contains(&result.resource.kind.as_str());
        let namespace = match (result.resource.namespace.as_str(), cluster_scoped) {
            (_, true) => String::new(),
            ("", false) => "default".to_owned(),
            (namespace, false) => namespace.to_owned(),
        };
        by_namespace.entry(namespace).or_default().push(result);
    }
    let items: Vec<Value> = by_namespace
        .into_iter()
        .map(|(namespace, group)| {
            let owned: Vec<ApplyResult> = group.iter().map(|r| (*r).clone()).collect();
            let summary = summarize(&owned);
            let (kind, metadata) = if namespace.is_empty() {
                ("ClusterPolicyReport", json!({"name": "verdict-cluster-report"}))
            } else {
                ("PolicyReport", json!({"name": format!("verdict-{namespace}"), "namespace": namespace}))
            };
            json!({
                "apiVersion": "wgpolicyk8s.io/v1alpha2",
                "kind": kind,
                "metadata": metadata,
                "summary": summary,
                "results": group.iter().map(|r| report_result(r, timestamp, properties)).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({"apiVersion": "v1", "kind": "List", "items": items})
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// JUnit XML: a test suite per policy (its properties as `<properties>`), a test case per (rule,
/// resource).
pub fn junit(results: &[ApplyResult], suite_name: &str, properties: &PolicyProperties) -> String {
    let mut by_policy: BTreeMap<&str, Vec<&ApplyResult>> = BTreeMap::new();
    for result in results {
        by_policy.entry(&result.policy).or_default().push(result);
    }
    let failures = results.iter().filter(|r| matches!(r.result, Status::Fail | Status::Warn)).count();
    let errors = results.iter().filter(|r| r.result == Status::Error).count();
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\">\n",
        xml_escape(suite_name),
        results.len()
    );
    for (policy, cases) in by_policy {
        let failed = cases.iter().filter(|r| matches!(r.result, Status::Fail | Status::Warn)).count();
        let errored = cases.iter().filter(|r| r.result == Status::Error).count();
        let skipped = cases.iter().filter(|r| r.result == Status::Skip).count();
        out.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\" errors=\"{errored}\" skipped=\"{skipped}\">\n",
            xml_escape(policy),
            cases.len()
        ));
        if let Some(properties) = properties.get(policy).filter(|p| !p.is_empty()) {
            out.push_str("    <properties>\n");
            for (name, value) in properties {
                out.push_str(&format!(
                    "      <property name=\"{}\" value=\"{}\"/>\n",
                    xml_escape(name),
                    xml_escape(value)
                ));
            }
            out.push_str("    </properties>\n");
        }
        for case in cases {
            let name = format!("{} {}", case.rule, case.resource.display());
            out.push_str(&format!(
                "    <testcase classname=\"{}\" name=\"{}\"",
                xml_escape(policy),
                xml_escape(&name)
            ));
            match case.result {
                Status::Pass => out.push_str("/>\n"),
                Status::Skip => out.push_str(&format!(
                    ">\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                    xml_escape(&case.message)
                )),
                Status::Error => out.push_str(&format!(
                    ">\n      <error message=\"{}\"/>\n    </testcase>\n",
                    xml_escape(&case.message)
                )),
                Status::Fail | Status::Warn => out.push_str(&format!(
                    ">\n      <failure type=\"{}\" message=\"{}\"/>\n    </testcase>\n",
                    case.result.as_str(),
                    xml_escape(&case.message)
                )),
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// SARIF 2.1.0: a rule per (policy, rule) with its policy's properties in its property bag, a result
/// per failure, warning or error, located at the manifest file when known.
pub fn sarif(
    results: &[ApplyResult],
    files: &BTreeMap<ResourceRef, String>,
    properties: &PolicyProperties,
) -> Value {
    let mut rules: Vec<Value> = Vec::new();
    let mut rule_ids: Vec<String> = Vec::new();
    let mut findings = Vec::new();
    for result in results.iter().filter(|r| matches!(r.result, Status::Fail | Status::Warn | Status::Error)) {
        let id = format!("{}/{}", result.policy, result.rule);
        if !rule_ids.contains(&id) {
            rule_ids.push(id.clone());
            let mut rule = json!({"id": id, "name": result.rule, "shortDescription": {"text": format!("Kyverno policy {} rule {}", result.policy, result.rule)}});
            if let Some(properties) = properties.get(&result.policy) {
                rule["properties"] = json!(properties);
            }
            rules.push(rule);
        }
        let level = match (result.result, result.action) {
            (Status::Warn, _) | (_, Action::Audit) => "warning",
            _ => "error",
        };
        let mut finding = json!({
            "ruleId": id,
            "level": level,
            "message": {"text": format!("{}: {}", result.resource.display(), result.message)},
        });
        if let Some(file) = files.get(&result.resource) {
            finding["locations"] = json!([{"physicalLocation": {"artifactLocation": {"uri": file}}}]);
        }
        findings.push(finding);
    }
    json!({
        "version": "2.1.0",
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [{"tool": {"driver": {"name": "verdict", "informationUri": "https://example.invalid/verdict", "rules": rules}}, "results": findings}],
    })
}

/// Reads a values file for `apply --values`.
pub fn load_values_file(path: &Path) -> Result<ValuesFile, TestError> {
    crate::testsuite::load_values(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(status: Status, action: Action) -> ApplyResult {
        ApplyResult {
            policy: "p".into(),
            rule: "r".into(),
            resource: ResourceRef {
                api_version: "v1".into(),
                kind: "Pod".into(),
                namespace: "shop".into(),
                name: "web".into(),
            },
            result: status,
            message: "m <&>".into(),
            action,
            scored: true,
        }
    }

    #[test]
    fn enforcement_follows_the_action_unless_a_mode_is_given() {
        assert!(blocks(&result(Status::Fail, Action::Enforce), None));
        assert!(!blocks(&result(Status::Fail, Action::Audit), None));
        assert!(blocks(&result(Status::Fail, Action::Audit), Some(true)));
        assert!(!blocks(&result(Status::Fail, Action::Enforce), Some(false)));
        assert!(blocks(&result(Status::Error, Action::Enforce), None));
        assert!(!blocks(&result(Status::Skip, Action::Enforce), None));
    }

    #[test]
    fn reports_in_every_format() {
        let results = vec![result(Status::Fail, Action::Enforce), result(Status::Pass, Action::Enforce)];
        let properties: PolicyProperties =
            [("p".to_owned(), [("verdict.dev/bundle".to_owned(), "sha256:ab".to_owned())].into())].into();
        let reports = policy_reports(&results, &properties);
        assert_eq!(reports["items"][0]["results"][0]["properties"]["verdict.dev/bundle"], "sha256:ab");
        assert_eq!(reports["items"].as_array().map(Vec::len), Some(1));
        assert_eq!(reports["items"][0]["kind"], "PolicyReport");
        assert_eq!(reports["items"][0]["metadata"]["namespace"], "shop");
        assert_eq!(reports["items"][0]["summary"]["fail"], 1);
        assert_eq!(reports["items"][0]["summary"]["pass"], 1);
        let xml = junit(&results, "apply", &properties);
        assert!(xml.contains("<property name=\"verdict.dev/bundle\" value=\"sha256:ab\"/>"), "{xml}");
        assert!(xml.contains("<failure type=\"fail\" message=\"m &lt;&amp;&gt;\"/>"), "{xml}");
        assert!(xml.contains("tests=\"2\" failures=\"1\""), "{xml}");
        let sarif = sarif(&results, &BTreeMap::new(), &properties);
        assert_eq!(
            sarif["runs"][0]["tool"]["driver"]["rules"][0]["properties"]["verdict.dev/bundle"],
            "sha256:ab"
        );
        assert_eq!(sarif["runs"][0]["results"].as_array().map(Vec::len), Some(1));
        assert_eq!(sarif["runs"][0]["results"][0]["level"], "error");
    }
}
