//! Kyverno `ValidatingPolicy` (`policies.kyverno.io` v1alpha1, v1beta1, v1), read as a ClusterPolicy
//! with one CEL rule, so the same engine evaluates it: `matchConstraints` (resource rules with
//! operations, namespace and object selectors, exclusions) become the rule's match and exclude,
//! `matchConditions` decide whether it applies, `variables` and `validations` its CEL validation, and
//! `validationActions` its failure action (Deny → Enforce, Audit/Warn → Audit). Pod policies are
//! generated for pod controllers as Kyverno does, unless `autogen.podControllers.controllers` says
//! otherwise.

use serde_json::{Map, Value, json};

/// The Kind a resource name (plural, lower case) stands for.
pub fn kind_of(resource: &str) -> String {
    let known = [
        ("pods", "Pod"),
        ("deployments", "Deployment"),
        ("replicasets", "ReplicaSet"),
        ("statefulsets", "StatefulSet"),
        ("daemonsets", "DaemonSet"),
        ("jobs", "Job"),
        ("cronjobs", "CronJob"),
        ("replicationcontrollers", "ReplicationController"),
        ("services", "Service"),
        ("ingresses", "Ingress"),
        ("ingressclasses", "IngressClass"),
        ("namespaces", "Namespace"),
        ("configmaps", "ConfigMap"),
        ("secrets", "Secret"),
        ("serviceaccounts", "ServiceAccount"),
        ("persistentvolumeclaims", "PersistentVolumeClaim"),
        ("persistentvolumes", "PersistentVolume"),
        ("networkpolicies", "NetworkPolicy"),
        ("roles", "Role"),
        ("rolebindings", "RoleBinding"),
        ("clusterroles", "ClusterRole"),
        ("clusterrolebindings", "ClusterRoleBinding"),
        ("horizontalpodautoscalers", "HorizontalPodAutoscaler"),
        ("poddisruptionbudgets", "PodDisruptionBudget"),
        ("storageclasses", "StorageClass"),
        ("nodes", "Node"),
        ("priorityclasses", "PriorityClass"),
        ("limitranges", "LimitRange"),
        ("resourcequotas", "ResourceQuota"),
        ("customresourcedefinitions", "CustomResourceDefinition"),
        ("validatingwebhookconfigurations", "ValidatingWebhookConfiguration"),
        ("mutatingwebhookconfigurations", "MutatingWebhookConfiguration"),
        ("*", "*"),
    ];
    let (base, sub) = resource.split_once('/').unwrap_or((resource, ""));
    let kind = match known.iter().find(|(plural, _)| *plural == base) {
        Some((_, kind)) => (*kind).to_owned(),
        None => {
            // Custom resources: singular of the plural, capitalised (`gateways` → `Gateway`).
            let singular = if let Some(stem) = base.strip_suffix("ies") {
                format!("{stem}y")
            } else if base.ends_with("sses") || base.ends_with("xes") {
                base[..base.len() - 2].to_owned()
            } else {
                base.strip_suffix('s').unwrap_or(base).to_owned()
            };
            let mut chars = singular.chars();
            chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        }
    };
    if sub.is_empty() { kind } else { format!("{kind}/{sub}") }
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|v| v.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// Resource rules as match filters.
fn filters(
    rules: Option<&Value>,
    namespace_selector: Option<&Value>,
    object_selector: Option<&Value>,
) -> Vec<Value> {
    let mut out = Vec::new();
    for rule in rules.and_then(Value::as_array).into_iter().flatten() {
        let kinds: Vec<String> = strings(rule.get("resources")).iter().map(|r| kind_of(r)).collect();
        let mut resources = Map::new();
        resources.insert("kinds".to_owned(), json!(kinds));
        let operations: Vec<String> =
            strings(rule.get("operations")).into_iter().filter(|o| o != "*").collect();
        if !operations.is_empty() {
            resources.insert("operations".to_owned(), json!(operations));
        }
        if let Some(selector) = namespace_selector.filter(|s| s.as_object().is_some_and(|m| !m.is_empty())) {
            resources.insert("namespaceSelector".to_owned(), selector.clone());
        }
        if let Some(selector) = object_selector.filter(|s| s.as_object().is_some_and(|m| !m.is_empty())) {
            resources.insert("selector".to_owned(), selector.clone());
        }
        out.push(json!({"resources": resources}));
    }
    out
}

/// The ClusterPolicy document equivalent to the ValidatingPolicy `document`.
pub fn translate(document: &Value) -> Result<Value, String> {
    let spec = document.get("spec").cloned().unwrap_or(Value::Null);
    let name = document.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
    let constraints =
        spec.get("matchConstraints").ok_or("a ValidatingPolicy needs `spec.matchConstraints`")?;
    let matching = filters(
        constraints.get("resourceRules"),
        constraints.get("namespaceSelector"),
        constraints.get("objectSelector"),
    );
    if matching.is_empty() {
        return Err("`spec.matchConstraints.resourceRules` selects nothing".to_owned());
    }
    let excluding = filters(constraints.get("excludeResourceRules"), None, None);
    let actions = strings(spec.get("validationActions"));
    let action = if actions.iter().any(|a| a == "Deny") { "Enforce" } else { "Audit" };
    let validations = spec.get("validations").and_then(Value::as_array).cloned().unwrap_or_default();
    if validations.is_empty() {
        return Err("a ValidatingPolicy needs `spec.validations`".to_owned());
    }
    let mut rule = json!({
        "name": name,
        "match": {"any": matching},
        "validate": {"failureAction": action, "cel": {
            "expressions": validations,
            "variables": spec.get("variables").cloned().unwrap_or(json!([])),
        }},
    });
    for key in ["paramKind", "paramRef", "auditAnnotations"] {
        if let Some(value) = spec.get(key) {
            rule["validate"]["cel"][key] = value.clone();
        }
    }
    if !excluding.is_empty() {
        rule["exclude"] = json!({"any": excluding});
    }
    if let Some(conditions) = spec.get("matchConditions") {
        rule["matchConditions"] = conditions.clone();
    }
    let mut annotations =
        document.pointer("/metadata/annotations").and_then(Value::as_object).cloned().unwrap_or_default();
    if let Some(controllers) = spec.pointer("/autogen/podControllers/controllers").and_then(Value::as_array) {
        let list: Vec<&str> = controllers.iter().filter_map(Value::as_str).collect();
        let value = if list.is_empty() { "none".to_owned() } else { list.join(",") };
        annotations.insert("pod-policies.kyverno.io/autogen-controllers".to_owned(), Value::String(value));
    }
    let mut metadata = json!({"name": name, "annotations": annotations});
    if let Some(namespace) = document.pointer("/metadata/namespace") {
        metadata["namespace"] = namespace.clone();
    }
    Ok(json!({
        "apiVersion": "kyverno.io/v1",
        "kind": "ClusterPolicy",
        "metadata": metadata,
        "spec": {"validationFailureAction": action, "rules": [rule]},
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_names_become_kinds() {
        assert_eq!(kind_of("pods"), "Pod");
        assert_eq!(kind_of("ingresses"), "Ingress");
        assert_eq!(kind_of("networkpolicies"), "NetworkPolicy");
        assert_eq!(kind_of("gateways"), "Gateway");
        assert_eq!(kind_of("pods/exec"), "Pod/exec");
    }

    #[test]
    fn a_validating_policy_is_a_cel_rule() {
        let policy = json!({"apiVersion": "policies.kyverno.io/v1", "kind": "ValidatingPolicy", "metadata": {"name": "p"},
            "spec": {"validationActions": ["Deny"], "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
                "operations": ["CREATE"], "resources": ["pods"]}]},
                "validations": [{"expression": "true", "message": "m"}]}});
        let translated = translate(&policy).unwrap();
        assert_eq!(translated["spec"]["validationFailureAction"], "Enforce");
        assert_eq!(translated["spec"]["rules"][0]["match"]["any"][0]["resources"]["kinds"], json!(["Pod"]));
        assert_eq!(translated["spec"]["rules"][0]["validate"]["cel"]["expressions"][0]["message"], "m");
        assert!(translate(&json!({"spec": {}})).is_err());
    }
}
