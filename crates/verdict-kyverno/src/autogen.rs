//! Kyverno's autogen: a rule written for Pods also guards the controllers that make Pods. For
//! Deployment, DaemonSet, StatefulSet, Job, ReplicaSet and ReplicationController it becomes
//! `autogen-<rule>` with its pattern under `spec.template` and `request.object.spec` read as
//! `request.object.spec.template.spec`; for CronJob, `autogen-cronjob-<rule>` under
//! `spec.jobTemplate.spec.template`. `pod-policies.kyverno.io/autogen-controllers` chooses the
//! controllers (`none` turns it off). Rules that select by name, selector or annotations, or match Pods
//! together with other kinds, are not generated — exactly Kyverno's conditions.

use serde_json::{Map, Value, json};

const CONTROLLERS: [&str; 6] =
    ["DaemonSet", "Deployment", "Job", "ReplicaSet", "ReplicationController", "StatefulSet"];
const CONTROLLERS_ANNOTATION: &str = "pod-policies.kyverno.io/autogen-controllers";

/// The bare kind of a kind selector (`apps/v1/Deployment` → `Deployment`).
fn bare_kind(selector: &str) -> &str {
    selector.rsplit('/').next().unwrap_or(selector)
}

fn contains_kind(kinds: &[String], kind: &str) -> bool {
    kinds.iter().any(|k| bare_kind(k) == kind || k == kind)
}

fn kinds_of(description: &Value) -> Vec<String> {
    description
        .get("kinds")
        .and_then(Value::as_array)
        .map(|kinds| kinds.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// Every resource description of a match or exclude block.
fn descriptions(block: &Value) -> Vec<&Value> {
    let mut all = Vec::new();
    if let Some(resources) = block.get("resources") {
        all.push(resources);
    }
    for key in ["any", "all"] {
        for filter in block.get(key).and_then(Value::as_array).into_iter().flatten() {
            if let Some(resources) = filter.get("resources") {
                all.push(resources);
            }
        }
    }
    all
}

/// Kyverno's `CanAutoGen` over every rule: whether pod-controller rules are generated at all.
fn can_autogen(rules: &[Value]) -> bool {
    let mut needed = false;
    for rule in rules {
        if rule.get("generate").is_some() {
            return false;
        }
        let blocks = [rule.get("match"), rule.get("exclude")];
        for description in blocks.into_iter().flatten().flat_map(descriptions) {
            let kinds = kinds_of(description);
            let selects = ["name", "names", "selector", "annotations"]
                .iter()
                .any(|k| description.get(*k).is_some_and(|v| !v.is_null()));
            if selects || (kinds.len() > 1 && contains_kind(&kinds, "Pod")) {
                return false;
            }
            needed |= kinds.iter().any(|k| {
                let kind = bare_kind(k);
                kind == "Pod" || kind == "CronJob" || CONTROLLERS.contains(&kind)
            });
        }
    }
    needed
}

/// The kinds of a match/exclude block, across its forms.
fn block_kinds(block: &Value) -> Vec<String> {
    descriptions(block).into_iter().flat_map(kinds_of).collect()
}

/// Sets the kinds of every description of `block` that names Pods (or every one, `all_filters`).
fn retarget(block: &mut Value, kinds: &[&str], all_filters: bool, legacy_only_if_kinds: bool) {
    let new_kinds = Value::Array(kinds.iter().map(|k| Value::String((*k).to_owned())).collect());
    let mut done = false;
    for key in ["any", "all"] {
        if let Some(filters) = block.get_mut(key).and_then(Value::as_array_mut)
            && !filters.is_empty()
        {
            for filter in filters.iter_mut() {
                if let Some(resources) = filter.get_mut("resources")
                    && (all_filters || contains_kind(&kinds_of(resources), "Pod"))
                {
                    resources["kinds"] = new_kinds.clone();
                }
            }
            done = true;
            break;
        }
    }
    if done {
        return;
    }
    if legacy_only_if_kinds
        && block.pointer("/resources/kinds").and_then(Value::as_array).is_none_or(Vec::is_empty)
    {
        return;
    }
    if let Some(object) = block.as_object_mut() {
        let resources = object.entry("resources").or_insert_with(|| json!({}));
        if let Some(resources) = resources.as_object_mut() {
            resources.insert("kinds".to_owned(), new_kinds);
        }
    }
}

/// The rule for `kinds` with its validation moved under `spec.<template_key>`; `None` when the rule
/// has nothing to move.
fn generate_rule(
    name: &str,
    rule: &Value,
    template_key: &str,
    kinds: &[&str],
    all_filters: bool,
) -> Option<Value> {
    let mut generated = rule.as_object()?.clone();
    generated.insert("name".to_owned(), Value::String(truncate(name)));
    if let Some(block) = generated.get_mut("match") {
        retarget(block, kinds, all_filters, false);
    }
    if let Some(block) = generated.get_mut("exclude") {
        retarget(block, kinds, all_filters, true);
    }
    let validate = generated.get("validate")?.as_object()?.clone();
    let wrap = |pattern: &Value| json!({"spec": {template_key: pattern}});
    let keep = [
        "message",
        "failureAction",
        "failureActionOverrides",
        "allowExistingViolations",
        "validationFailureAction",
        "validationFailureActionOverrides",
    ];
    let mut new_validate = Map::new();
    for key in keep {
        if let Some(value) = validate.get(key) {
            new_validate.insert(key.to_owned(), value.clone());
        }
    }
    if let Some(pattern) = validate.get("pattern") {
        new_validate.insert("pattern".to_owned(), wrap(pattern));
    } else if let Some(deny) = validate.get("deny") {
        new_validate.insert("deny".to_owned(), deny.clone());
    } else if let Some(pod_security) = validate.get("podSecurity") {
        new_validate.insert("podSecurity".to_owned(), pod_security.clone());
    } else if let Some(any) = validate.get("anyPattern").and_then(Value::as_array) {
        new_validate.insert("anyPattern".to_owned(), Value::Array(any.iter().map(wrap).collect()));
    } else if let Some(foreach) = validate.get("foreach") {
        new_validate.insert("foreach".to_owned(), foreach.clone());
    } else if validate.get("cel").is_some() {
        new_validate = validate.clone();
    } else {
        return None;
    }
    generated.insert("validate".to_owned(), Value::Object(new_validate));
    Some(Value::Object(generated))
}

fn truncate(name: &str) -> String {
    name.chars().take(63).collect()
}

/// Rewrites the rule's references to the Pod into references into the controller's template.
fn shift_references(rule: &Value, prefix: &str, cel: bool) -> Value {
    let mut text = rule.to_string();
    let pairs: [(&str, &str); 4] = if cel {
        [
            ("object.spec", "spec"),
            ("oldObject.spec", "spec"),
            ("object.metadata", "metadata"),
            ("oldObject.metadata", "metadata"),
        ]
    } else {
        [
            ("request.object.spec", "spec"),
            ("request.oldObject.spec", "spec"),
            ("request.object.metadata", "metadata"),
            ("request.oldObject.metadata", "metadata"),
        ]
    };
    for (from, field) in pairs {
        let root = from.rsplit_once('.').map_or(from, |(root, _)| root);
        text = text.replace(from, &format!("{root}.{prefix}.{field}"));
    }
    serde_json::from_str(&text).unwrap_or_else(|_| rule.clone())
}

/// The autogen rules for `rules` (the policy's own, in order), as rule documents.
pub fn generate(rules: &[Value], annotations: &Map<String, Value>) -> Vec<Value> {
    if !can_autogen(rules) {
        return Vec::new();
    }
    let controllers: Vec<String> = match annotations.get(CONTROLLERS_ANNOTATION).and_then(Value::as_str) {
        Some(list) => list.split(',').map(|c| c.trim().to_owned()).collect(),
        None => CONTROLLERS.iter().map(|c| (*c).to_owned()).chain(["CronJob".to_owned()]).collect(),
    };
    if controllers.iter().any(|c| c == "none") {
        return Vec::new();
    }
    let all = controllers.iter().any(|c| c == "all");
    let mut pod_controllers: Vec<&str> = if all {
        CONTROLLERS.to_vec()
    } else {
        CONTROLLERS.iter().copied().filter(|c| controllers.iter().any(|x| x == c)).collect()
    };
    pod_controllers.sort_unstable();
    let cronjob = all || controllers.iter().any(|c| c == "CronJob");
    let mut generated = Vec::new();
    let mut cronjobs = Vec::new();
    for rule in rules {
        let name = rule.get("name").and_then(Value::as_str).unwrap_or_default();
        if name.starts_with("autogen-") {
            continue;
        }
        let match_kinds = rule.get("match").map(block_kinds).unwrap_or_default();
        let exclude_kinds = rule.get("exclude").map(block_kinds).unwrap_or_default();
        if !contains_kind(&match_kinds, "Pod")
            || (!exclude_kinds.is_empty() && !contains_kind(&exclude_kinds, "Pod"))
        {
            continue;
        }
        let cel = rule.pointer("/validate/cel").is_some();
        let controller_kinds: Vec<&str> =
            if pod_controllers.is_empty() { vec!["CronJob"] } else { pod_controllers.clone() };
        let Some(for_controllers) =
            generate_rule(&format!("autogen-{name}"), rule, "template", &controller_kinds, false)
        else {
            continue;
        };
        if !pod_controllers.is_empty() {
            generated.push(shift_references(&for_controllers, "spec.template", cel));
        }
        if cronjob
            && let Some(for_cronjobs) = generate_rule(
                &format!("autogen-cronjob-{name}"),
                &for_controllers,
                "jobTemplate",
                &["CronJob"],
                true,
            )
        {
            cronjobs.push(shift_references(&for_cronjobs, "spec.jobTemplate.spec.template", cel));
        }
    }
    // Kyverno lists each rule's controller rule followed by its CronJob rule.
    let mut ordered = Vec::new();
    let mut cronjobs = cronjobs.into_iter();
    for rule in generated {
        ordered.push(rule);
        if let Some(cron) = cronjobs.next() {
            ordered.push(cron);
        }
    }
    ordered.extend(cronjobs);
    ordered
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pod_rule_guards_controllers_and_cronjobs() {
        let rule = json!({"name": "check", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
            "validate": {"message": "no {{request.object.metadata.name}}", "pattern": {"spec": {"containers": [{"image": "!*:latest"}]}}}});
        let generated = generate(&[rule], &Map::new());
        assert_eq!(generated.len(), 2);
        assert_eq!(generated[0]["name"], "autogen-check");
        assert_eq!(generated[0]["match"]["any"][0]["resources"]["kinds"], json!(CONTROLLERS));
        assert_eq!(
            generated[0]["validate"]["pattern"],
            json!({"spec": {"template": {"spec": {"containers": [{"image": "!*:latest"}]}}}})
        );
        assert_eq!(generated[0]["validate"]["message"], "no {{request.object.spec.template.metadata.name}}");
        assert_eq!(generated[1]["name"], "autogen-cronjob-check");
        assert_eq!(generated[1]["match"]["any"][0]["resources"]["kinds"], json!(["CronJob"]));
        assert_eq!(
            generated[1]["validate"]["pattern"],
            json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"image": "!*:latest"}]}}}}}})
        );
        assert_eq!(
            generated[1]["validate"]["message"],
            "no {{request.object.spec.jobTemplate.spec.template.metadata.name}}"
        );
    }

    #[test]
    fn the_annotation_and_selectors_limit_autogen() {
        let rule = json!({"name": "r", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]}, "validate": {"deny": {}}});
        let none = Map::from_iter([(CONTROLLERS_ANNOTATION.to_owned(), json!("none"))]);
        assert!(generate(std::slice::from_ref(&rule), &none).is_empty());
        let only = Map::from_iter([(CONTROLLERS_ANNOTATION.to_owned(), json!("Deployment"))]);
        let generated = generate(std::slice::from_ref(&rule), &only);
        assert_eq!(generated.len(), 1);
        assert_eq!(generated[0]["match"]["any"][0]["resources"]["kinds"], json!(["Deployment"]));
        let named = json!({"name": "r", "match": {"any": [{"resources": {"kinds": ["Pod"], "names": ["x"]}}]}, "validate": {"deny": {}}});
        assert!(generate(&[named], &Map::new()).is_empty());
        let mixed = json!({"name": "r", "match": {"any": [{"resources": {"kinds": ["Pod", "Service"]}}]}, "validate": {"deny": {}}});
        assert!(generate(&[mixed], &Map::new()).is_empty());
    }
}
