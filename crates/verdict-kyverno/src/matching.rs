//! Which resources a rule applies to: `match` and `exclude` with `any`/`all` resource filters (kinds,
//! names, namespaces, label and namespace selectors, annotations, operations) and the requester's
//! subjects, roles and cluster roles — Kyverno's `MatchesResourceDescription`.

use serde_json::{Map, Value};

use crate::wildcard;

/// What is known about the request besides the resource itself.
#[derive(Debug, Clone, Default)]
pub struct RequestInfo {
    /// `CREATE`, `UPDATE`, `DELETE` or `CONNECT`.
    pub operation: String,
    /// `request.userInfo` (`username`, `groups`).
    pub user_info: Value,
    /// The requester's roles (`namespace:role`).
    pub roles: Vec<String>,
    /// The requester's cluster roles.
    pub cluster_roles: Vec<String>,
    /// The labels of the resource's namespace, when known.
    pub namespace_labels: Option<Map<String, Value>>,
    /// The subresource the request is for (`status`, `exec`, …), if any.
    pub subresource: String,
}

fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// The (group, version, kind) of `resource`.
fn gvk(resource: &Value) -> (String, String, String) {
    let api_version = resource.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let kind = resource.get("kind").and_then(Value::as_str).unwrap_or_default();
    (group.to_owned(), version.to_owned(), kind.to_owned())
}

/// Whether a kind selector (`Pod`, `v1/Pod`, `apps/v1/Deployment`, `Pod/exec`, `*`) selects the resource.
pub fn kind_matches(selector: &str, resource: &Value, subresource: &str) -> bool {
    let (group, version, kind) = gvk(resource);
    let parts: Vec<&str> = selector.split('/').collect();
    let (want_group, want_version, want_kind, want_sub) = match parts.as_slice() {
        [kind] => ("*", "*", *kind, ""),
        [first, second]
            if first.chars().next().is_some_and(char::is_uppercase)
                || *first == "*" && second.chars().next().is_some_and(char::is_lowercase) =>
        {
            ("*", "*", *first, *second)
        }
        [version, kind] => ("", *version, *kind, ""),
        [group, version, kind] => (*group, *version, *kind, ""),
        [group, version, kind, sub] => (*group, *version, *kind, *sub),
        _ => return false,
    };
    let group_ok = want_group == "*" || wildcard::matches(want_group, &group);
    let version_ok = want_version == "*" || wildcard::matches(want_version, &version);
    let sub_ok =
        if want_sub.is_empty() { subresource.is_empty() } else { wildcard::matches(want_sub, subresource) };
    group_ok && version_ok && wildcard::matches(want_kind, &kind) && sub_ok
}

/// Whether `labels` satisfy a Kubernetes label selector (`matchLabels`, `matchExpressions`); values
/// may hold Kyverno wildcards.
pub fn selector_matches(selector: &Value, labels: &Map<String, Value>) -> bool {
    if let Some(match_labels) = selector.get("matchLabels").and_then(Value::as_object) {
        for (key, value) in match_labels {
            let want = value.as_str().unwrap_or_default();
            let found = if wildcard::has_wildcard(key) {
                labels.iter().any(|(k, v)| {
                    wildcard::matches(key, k) && wildcard::matches(want, v.as_str().unwrap_or_default())
                })
            } else {
                labels.get(key).and_then(Value::as_str).is_some_and(|v| wildcard::matches(want, v))
            };
            if !found {
                return false;
            }
        }
    }
    for expression in selector.get("matchExpressions").and_then(Value::as_array).into_iter().flatten() {
        let key = expression.get("key").and_then(Value::as_str).unwrap_or_default();
        let values = strings(expression.get("values"));
        let value = labels.get(key).and_then(Value::as_str);
        let ok = match expression.get("operator").and_then(Value::as_str).unwrap_or_default() {
            "In" => value.is_some_and(|v| values.iter().any(|x| x == v)),
            "NotIn" => value.is_none_or(|v| !values.iter().any(|x| x == v)),
            "Exists" => labels.contains_key(key),
            "DoesNotExist" => !labels.contains_key(key),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    true
}

fn metadata(resource: &Value, field: &str) -> Map<String, Value> {
    resource.pointer(&format!("/metadata/{field}")).and_then(Value::as_object).cloned().unwrap_or_default()
}

/// Whether one resource description selects the resource.
fn description_matches(description: &Value, resource: &Value, info: &RequestInfo) -> bool {
    let kinds = strings(description.get("kinds"));
    if !kinds.is_empty() && !kinds.iter().any(|k| kind_matches(k, resource, &info.subresource)) {
        return false;
    }
    let name = resource.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
    let mut names = strings(description.get("names"));
    names.extend(strings(description.get("name")));
    if !names.is_empty() && !names.iter().any(|n| wildcard::matches(n, name)) {
        return false;
    }
    let namespaces = strings(description.get("namespaces"));
    if !namespaces.is_empty() {
        let kind = resource.get("kind").and_then(Value::as_str).unwrap_or_default();
        let namespace = if kind == "Namespace" {
            name.to_owned()
        } else {
            resource.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or_default().to_owned()
        };
        if !namespaces.iter().any(|n| wildcard::matches(n, &namespace)) {
            return false;
        }
    }
    if let Some(annotations) = description.get("annotations").and_then(Value::as_object) {
        let present = metadata(resource, "annotations");
        for (key, value) in annotations {
            let want = value.as_str().unwrap_or_default();
            let found = present.iter().any(|(k, v)| {
                wildcard::matches(key, k) && wildcard::matches(want, v.as_str().unwrap_or_default())
            });
            if !found {
                return false;
            }
        }
    }
    if let Some(selector) = description.get("selector").filter(|s| !s.is_null())
        && !selector_matches(selector, &metadata(resource, "labels"))
    {
        return false;
    }
    if let Some(selector) = description.get("namespaceSelector").filter(|s| !s.is_null()) {
        let labels = match (&info.namespace_labels, resource.get("kind").and_then(Value::as_str)) {
            (_, Some("Namespace")) => metadata(resource, "labels"),
            (Some(labels), _) => labels.clone(),
            (None, _) => Map::new(),
        };
        if !selector_matches(selector, &labels) {
            return false;
        }
    }
    let operations = strings(description.get("operations"));
    if !operations.is_empty() && !operations.contains(&info.operation) {
        return false;
    }
    true
}

/// Whether the requester fits a filter's `subjects`, `roles` and `clusterRoles` (each, when given).
fn user_matches(filter: &Value, info: &RequestInfo) -> bool {
    let roles = strings(filter.get("roles"));
    if !roles.is_empty() && !roles.iter().any(|r| info.roles.contains(r)) {
        return false;
    }
    let cluster_roles = strings(filter.get("clusterRoles"));
    if !cluster_roles.is_empty() && !cluster_roles.iter().any(|r| info.cluster_roles.contains(r)) {
        return false;
    }
    if let Some(subjects) = filter.get("subjects").and_then(Value::as_array).filter(|s| !s.is_empty()) {
        let username = info.user_info.get("username").and_then(Value::as_str).unwrap_or_default();
        let groups = strings(info.user_info.get("groups"));
        let matched = subjects.iter().any(|subject| {
            let name = subject.get("name").and_then(Value::as_str).unwrap_or_default();
            match subject.get("kind").and_then(Value::as_str).unwrap_or_default() {
                "User" => wildcard::matches(name, username),
                "Group" => groups.iter().any(|g| wildcard::matches(name, g)),
                "ServiceAccount" => {
                    let namespace = subject.get("namespace").and_then(Value::as_str).unwrap_or_default();
                    username == format!("system:serviceaccount:{namespace}:{name}")
                }
                _ => false,
            }
        });
        if !matched {
            return false;
        }
    }
    true
}

/// Whether a filter (`resources` plus user fields) selects the request.
fn filter_matches(filter: &Value, resource: &Value, info: &RequestInfo) -> bool {
    let resources = filter.get("resources").cloned().unwrap_or(Value::Object(Map::new()));
    description_matches(&resources, resource, info) && user_matches(filter, info)
}

/// Whether a `match` or `exclude` block selects the request.
pub fn block_matches(block: &Value, resource: &Value, info: &RequestInfo) -> bool {
    if let Some(any) = block.get("any").and_then(Value::as_array).filter(|a| !a.is_empty()) {
        return any.iter().any(|filter| filter_matches(filter, resource, info));
    }
    if let Some(all) = block.get("all").and_then(Value::as_array).filter(|a| !a.is_empty()) {
        return all.iter().all(|filter| filter_matches(filter, resource, info));
    }
    let has_legacy =
        ["resources", "subjects", "roles", "clusterRoles"].iter().any(|k| block.get(*k).is_some());
    has_legacy && filter_matches(block, resource, info)
}

/// Whether a rule with `match_block` and `exclude` applies to the request.
pub fn rule_applies(
    match_block: &Value,
    exclude: Option<&Value>,
    resource: &Value,
    info: &RequestInfo,
) -> bool {
    if !block_matches(match_block, resource, info) {
        return false;
    }
    match exclude {
        Some(exclude) => !block_matches(exclude, resource, info),
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn info() -> RequestInfo {
        RequestInfo { operation: "CREATE".into(), ..RequestInfo::default() }
    }

    #[test]
    fn kinds_in_every_spelling() {
        let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment"});
        let pod = json!({"apiVersion": "v1", "kind": "Pod"});
        assert!(kind_matches("Deployment", &deployment, ""));
        assert!(kind_matches("apps/v1/Deployment", &deployment, ""));
        assert!(!kind_matches("batch/v1/Deployment", &deployment, ""));
        assert!(kind_matches("v1/Pod", &pod, ""));
        assert!(kind_matches("*", &pod, ""));
        assert!(!kind_matches("Pod/exec", &pod, ""));
        assert!(kind_matches("Pod/exec", &pod, "exec"));
    }

    #[test]
    fn match_and_exclude() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1", "namespace": "shop", "labels": {"app": "web"}}});
        let m = json!({"any": [{"resources": {"kinds": ["Pod"], "namespaces": ["sh*"], "selector": {"matchLabels": {"app": "web"}}}}]});
        assert!(rule_applies(&m, None, &pod, &info()));
        let exclude = json!({"any": [{"resources": {"names": ["web-*"]}}]});
        assert!(!rule_applies(&m, Some(&exclude), &pod, &info()));
        let other = json!({"any": [{"resources": {"kinds": ["Pod"], "operations": ["UPDATE"]}}]});
        assert!(!rule_applies(&other, None, &pod, &info()));
        let admins = json!({"any": [{"clusterRoles": ["cluster-admin"]}]});
        assert!(rule_applies(&m, Some(&admins), &pod, &info()));
        let legacy = json!({"resources": {"kinds": ["Pod"]}});
        assert!(rule_applies(&legacy, None, &pod, &info()));
        let all =
            json!({"all": [{"resources": {"kinds": ["Pod"]}}, {"resources": {"namespaces": ["prod"]}}]});
        assert!(!rule_applies(&all, None, &pod, &info()));
    }
}
