//! `kyverno test` files (`cli.kyverno.io/v1alpha1` `Test`): the policies, resources, values and user
//! info they name, and each expected result row checked against what the engine decides — a row
//! passes when the actual result equals the expected one, exactly as `kyverno test` counts it (a rule
//! that does not apply to a named resource counts as a pass, "excluded").

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use verdict_policy::diagnostic::Diagnostic;

use crate::engine::{Request, Values, evaluate_policy};
use crate::matching::RequestInfo;
use crate::policy::{Policy, load_policy_file};

/// Why a test file cannot be run at all.
#[derive(Debug, thiserror::Error)]
pub enum TestError {
    /// A file is missing or unreadable.
    #[error("{path}: {message}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// A file does not load.
    #[error("{}", .0.iter().map(Diagnostic::short).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Diagnostic>),
}

/// One checked row of a test, for one resource.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RowResult {
    /// The policy named by the row.
    pub policy: String,
    /// The rule (the actual rule name, `autogen-…` included), or the row's rule when none responded.
    pub rule: String,
    /// The resource (`kind/namespace/name` when known).
    pub resource: String,
    /// What the row expects.
    pub expected: String,
    /// What the engine decided (`excluded` when the rule did not apply; `not found` when the resource
    /// or policy is missing).
    pub actual: String,
    /// Whether the row holds.
    pub passed: bool,
    /// The engine's message.
    pub message: String,
}

/// A whole test file's outcome.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TestReport {
    /// The test file.
    pub file: String,
    /// `metadata.name`.
    pub name: String,
    /// Every checked row.
    pub rows: Vec<RowResult>,
}

impl TestReport {
    /// How many rows passed and failed.
    pub fn counts(&self) -> (usize, usize) {
        let passed = self.rows.iter().filter(|r| r.passed).count();
        (passed, self.rows.len() - passed)
    }
}

/// Selects rows by policy, rule and resource (`--test-case-selector "policy=p, rule=r, resource=x"`),
/// wildcards allowed.
#[derive(Debug, Clone, Default)]
pub struct Selector {
    /// The policy pattern.
    pub policy: Option<String>,
    /// The rule pattern.
    pub rule: Option<String>,
    /// The resource pattern.
    pub resource: Option<String>,
}

impl Selector {
    /// Parses `policy=…, rule=…, resource=…` (any subset).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut selector = Selector::default();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part.split_once('=').ok_or_else(|| format!("{part:?} is not key=value"))?;
            let value = Some(value.trim().to_owned());
            match key.trim() {
                "policy" => selector.policy = value,
                "rule" => selector.rule = value,
                "resource" => selector.resource = value,
                other => return Err(format!("unknown selector key {other:?}: use policy, rule or resource")),
            }
        }
        Ok(selector)
    }

    fn accepts(&self, policy: &str, rule: &str, resource: &str) -> bool {
        let ok = |pattern: &Option<String>, value: &str| {
            pattern.as_ref().is_none_or(|p| crate::wildcard::matches(p, value))
        };
        ok(&self.policy, policy) && ok(&self.rule, rule) && ok(&self.resource, resource)
    }
}

fn read(path: &Path) -> Result<String, TestError> {
    std::fs::read_to_string(path)
        .map_err(|err| TestError::Read { path: path.display().to_string(), message: err.to_string() })
}

/// Every YAML document of `path` as JSON (`List` kinds expanded into their items).
pub fn load_resources(path: &Path) -> Result<Vec<Value>, TestError> {
    let source = read(path)?;
    parse_resources(&path.display().to_string(), &source)
}

/// Every YAML document of `source` as JSON (`List` kinds expanded into their items); `file` names it
/// in errors.
pub fn parse_resources(file: &str, source: &str) -> Result<Vec<Value>, TestError> {
    let documents = crate::policy::parse_yaml_documents(file, source).map_err(TestError::Invalid)?;
    let mut out = Vec::new();
    for document in documents {
        let value = document.to_json();
        if value.is_null() {
            continue;
        }
        if value.get("kind").and_then(Value::as_str) == Some("List") {
            out.extend(value.get("items").and_then(Value::as_array).cloned().unwrap_or_default());
        } else {
            out.push(value);
        }
    }
    Ok(out)
}

/// The requester described by a `UserInfo` file (`userInfo`, `roles`, `clusterRoles`).
pub fn load_user_info(path: &Path, operation: &str) -> Result<RequestInfo, TestError> {
    let info = load_resources(path)?.into_iter().next().unwrap_or(Value::Null);
    Ok(RequestInfo {
        operation: operation.to_owned(),
        roles: strings(info.get("roles")),
        cluster_roles: strings(info.get("clusterRoles")),
        user_info: info.get("userInfo").cloned().unwrap_or(Value::Null),
        ..RequestInfo::default()
    })
}

/// A values file (`cli.kyverno.io/v1alpha1` `Values`): what a cluster would otherwise provide —
/// global values, values per policy rule and per resource, namespace labels.
#[derive(Debug, Clone, Default)]
pub struct ValuesFile {
    global: Map<String, Value>,
    /// (policy, rule) → values.
    rules: BTreeMap<(String, String), Map<String, Value>>,
    /// (policy, resource) → values.
    resources: BTreeMap<(String, String), Map<String, Value>>,
    /// Namespace name → its labels (for `namespaceSelector`).
    pub namespace_labels: BTreeMap<String, Map<String, Value>>,
}

impl ValuesFile {
    /// The values for evaluating `policy` on the resource named `resource`: global and resource
    /// values for every rule (`""`), rule values by rule name (autogen rules share their rule's).
    pub fn for_resource(&self, policy: &Policy, resource: &str) -> Values {
        let mut values = Values::new();
        let mut shared = self.global.clone();
        if let Some(extra) = self.resources.get(&(policy.name.clone(), resource.to_owned())) {
            shared.extend(extra.clone());
        }
        values.insert(String::new(), shared);
        for rule in &policy.rules {
            let base = rule.name.trim_start_matches("autogen-cronjob-").trim_start_matches("autogen-");
            let found = self
                .rules
                .get(&(policy.name.clone(), rule.name.clone()))
                .or_else(|| self.rules.get(&(policy.name.clone(), base.to_owned())));
            if let Some(extra) = found {
                values.insert(rule.name.clone(), extra.clone());
            }
        }
        values
    }
}

/// Reads a values file.
pub(crate) fn load_values(path: &Path) -> Result<ValuesFile, TestError> {
    let documents = load_resources(path)?;
    let mut values = ValuesFile::default();
    for document in documents {
        if let Some(global) = document.get("globalValues").and_then(Value::as_object) {
            values.global.extend(global.clone());
        }
        for policy in document.get("policies").and_then(Value::as_array).into_iter().flatten() {
            let name = policy.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
            for rule in policy.get("rules").and_then(Value::as_array).into_iter().flatten() {
                let rule_name = rule.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
                let map = rule.get("values").and_then(Value::as_object).cloned().unwrap_or_default();
                values.rules.insert((name.clone(), rule_name), map);
            }
            for resource in policy.get("resources").and_then(Value::as_array).into_iter().flatten() {
                let resource_name =
                    resource.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
                let map = resource.get("values").and_then(Value::as_object).cloned().unwrap_or_default();
                values.resources.insert((name.clone(), resource_name), map);
            }
        }
        for namespace in document.get("namespaceSelector").and_then(Value::as_array).into_iter().flatten() {
            let name = namespace.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
            let labels = namespace.get("labels").and_then(Value::as_object).cloned().unwrap_or_default();
            values.namespace_labels.insert(name, labels);
        }
    }
    Ok(values)
}

fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

fn resource_id(resource: &Value) -> String {
    let kind = resource.get("kind").and_then(Value::as_str).unwrap_or_default();
    let namespace = resource.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or_default();
    let name = resource.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
    if namespace.is_empty() { format!("{kind}/{name}") } else { format!("{kind}/{namespace}/{name}") }
}

/// A row that fails because what it names is missing.
fn not_found(policy: &str, rule: &str, resource: &str, expected: &str, message: String) -> RowResult {
    RowResult {
        policy: policy.to_owned(),
        rule: rule.to_owned(),
        resource: resource.to_owned(),
        expected: expected.to_owned(),
        actual: "not found".to_owned(),
        passed: false,
        message,
    }
}

/// Runs the test file at `path`; `selector` limits the rows checked.
pub fn run_test_file(path: &Path, selector: &Selector) -> Result<TestReport, TestError> {
    let base = path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let test = load_resources(path)?.into_iter().next().unwrap_or(Value::Null);
    if test.get("kind").and_then(Value::as_str) != Some("Test") {
        return Err(TestError::Invalid(vec![
            Diagnostic::error(&path.display().to_string(), 1, 1, "not a `kind: Test` file").with_hint(
                "a kyverno test file starts with `apiVersion: cli.kyverno.io/v1alpha1` and `kind: Test`",
            ),
        ]));
    }
    let mut policies: Vec<Policy> = Vec::new();
    let mut other_policies: Vec<String> = Vec::new();
    for file in strings(test.get("policies")) {
        let policy_path = base.join(&file);
        let source = read(&policy_path)?;
        let loaded =
            load_policy_file(&policy_path.display().to_string(), &source).map_err(TestError::Invalid)?;
        policies.extend(loaded.policies);
        other_policies.extend(loaded.others.into_iter().map(|o| format!("{} ({})", o.name, o.kind)));
    }
    let mut resources = Vec::new();
    for file in strings(test.get("resources")) {
        resources
            .extend(load_resources(&base.join(&file))?.into_iter().map(crate::apply::with_default_namespace));
    }
    // A `context` file (`cli.kyverno.io/v1alpha1` Context) gives what Kyverno's CEL libraries read:
    // cluster resources (`resource.Get/List`) and image metadata (`image.GetMetadata`).
    let mut library_resources = resources.clone();
    let mut images = Vec::new();
    if let Some(file) = test.get("context").and_then(Value::as_str) {
        for document in load_resources(&base.join(file))? {
            library_resources.extend(
                document.pointer("/spec/resources").and_then(Value::as_array).cloned().unwrap_or_default(),
            );
            images.extend(
                document.pointer("/spec/images").and_then(Value::as_array).cloned().unwrap_or_default(),
            );
        }
    }
    let all_resources = std::sync::Arc::new(library_resources);
    let images = std::sync::Arc::new(images);
    let values = match test.get("variables").and_then(Value::as_str) {
        Some(file) => load_values(&base.join(file))?,
        None => ValuesFile::default(),
    };
    let user = match test.get("userinfo").and_then(Value::as_str) {
        Some(file) => load_user_info(&base.join(file), "CREATE")?,
        None => RequestInfo { operation: "CREATE".to_owned(), ..RequestInfo::default() },
    };

    let mut rows = Vec::new();
    for row in test.get("results").and_then(Value::as_array).into_iter().flatten() {
        let policy_name = row.get("policy").and_then(Value::as_str).unwrap_or_default();
        let policy_name = policy_name.rsplit('/').next().unwrap_or(policy_name).to_owned();
        let rule_name = row.get("rule").and_then(Value::as_str).unwrap_or_default().to_owned();
        let expected = row.get("result").and_then(Value::as_str).unwrap_or_default().to_owned();
        let mut names = strings(row.get("resources"));
        names.extend(strings(row.get("resource")));
        for name in names {
            if !selector.accepts(&policy_name, &rule_name, &name) {
                continue;
            }
            let (wanted_namespace, wanted_name) = match name.split_once('/') {
                Some((ns, n)) => (Some(ns), n),
                None => (None, name.as_str()),
            };
            let matching: Vec<&Value> = resources
                .iter()
                .filter(|r| r.pointer("/metadata/name").and_then(Value::as_str) == Some(wanted_name))
                .filter(|r| {
                    wanted_namespace.is_none_or(|ns| {
                        r.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("default") == ns
                    })
                })
                .collect();
            let Some(policy) = policies.iter().find(|p| p.name == policy_name) else {
                let why = if other_policies.iter().any(|o| o.starts_with(&format!("{policy_name} ("))) {
                    format!("policy {policy_name} is of a kind verdict does not evaluate yet")
                } else {
                    format!("policy {policy_name} not found in the test's policies")
                };
                rows.push(not_found(&policy_name, &rule_name, &name, &expected, why));
                continue;
            };
            if matching.is_empty() {
                let why = format!("resource {name} not found in the test's resources");
                rows.push(not_found(&policy_name, &rule_name, &name, &expected, why));
                continue;
            }
            for resource in matching {
                let resource_name =
                    resource.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
                let rule_values = values.for_resource(policy, resource_name);
                let mut info = user.clone();
                if let Some(operation) =
                    rule_values.get("").and_then(|v| v.get("request.operation")).and_then(Value::as_str)
                {
                    info.operation = operation.to_owned();
                }
                let namespace =
                    resource.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("default");
                info.namespace_labels = values.namespace_labels.get(namespace).cloned();
                let mut request = Request::for_operation(resource.clone(), info);
                request.resources = Some(std::sync::Arc::clone(&all_resources));
                request.images = Some(std::sync::Arc::clone(&images));
                let responses: Vec<_> = evaluate_policy(policy, &request, &rule_values)
                    .into_iter()
                    .filter(|r| {
                        rule_name.is_empty()
                            || r.rule == rule_name
                            || r.rule == format!("autogen-{rule_name}")
                            || r.rule == format!("autogen-cronjob-{rule_name}")
                    })
                    .collect();
                if responses.is_empty() {
                    rows.push(RowResult {
                        policy: policy_name.clone(),
                        rule: rule_name.clone(),
                        resource: resource_id(resource),
                        expected: expected.clone(),
                        actual: "excluded".to_owned(),
                        passed: true,
                        message: "the rule does not apply to this resource".to_owned(),
                    });
                }
                for response in responses {
                    let actual = response.status.as_str().to_owned();
                    rows.push(RowResult {
                        policy: policy_name.clone(),
                        rule: response.rule,
                        resource: resource_id(resource),
                        passed: actual == expected,
                        expected: expected.clone(),
                        actual,
                        message: response.message,
                    });
                }
            }
        }
    }
    Ok(TestReport {
        file: path.display().to_string(),
        name: test.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default().to_owned(),
        rows,
    })
}

/// Every file named `file_name` below `dir` (recursively, hidden directories included: kyverno keeps
/// its tests in `.kyverno-test/`), sorted.
pub fn find_test_files(dir: &Path, file_name: &str) -> Result<Vec<PathBuf>, TestError> {
    if dir.is_file() {
        return Ok(vec![dir.to_path_buf()]);
    }
    walk(dir, true, &|path| path.file_name().and_then(|n| n.to_str()) == Some(file_name))
}

/// The files below `dir` that `wanted` accepts, sorted; hidden directories are entered when `hidden`.
pub(crate) fn walk(
    dir: &Path,
    hidden: bool,
    wanted: &dyn Fn(&Path) -> bool,
) -> Result<Vec<PathBuf>, TestError> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let entries = std::fs::read_dir(&current).map_err(|err| TestError::Read {
            path: current.display().to_string(),
            message: err.to_string(),
        })?;
        for entry in entries.flatten() {
            let path = entry.path();
            let is_hidden = path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.'));
            if path.is_dir() {
                if hidden || !is_hidden {
                    pending.push(path);
                }
            } else if wanted(&path) {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}
