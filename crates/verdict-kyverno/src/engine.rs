//! Evaluating a Kyverno policy on one resource: for every rule that applies (match minus exclude),
//! its context entries, preconditions and validation — pattern, anyPattern, deny conditions, foreach —
//! with the outcome Kyverno would report: pass, fail, skip (preconditions or conditional anchors), or
//! error (an expression or context entry that cannot be evaluated — never a pass).

use std::collections::BTreeMap;

use std::cell::RefCell;
use std::rc::Rc;

use jmespath::{Rcvar, Variable};
use serde_json::{Map, Value, json};

use crate::conditions::{Operator, evaluate as evaluate_condition};
use crate::jmes::{Missing, VariableError, search, substitute_all, substitute_string, to_variable};
use crate::matching::{RequestInfo, rule_applies};
use crate::pattern::{Mismatch, match_pattern};
use crate::policy::{Action, Policy, Rule, RuleKind};

/// A rule's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The resource satisfies the rule.
    Pass,
    /// It does not.
    Fail,
    /// A failure of a policy whose failures are not scored.
    Warn,
    /// The rule could not be evaluated (counts as a failure wherever a decision is made).
    Error,
    /// The rule does not apply (preconditions, conditional anchors, nothing to iterate).
    Skip,
}

impl Status {
    /// The lower-case name (`pass`, `fail`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Warn => "warn",
            Status::Error => "error",
            Status::Skip => "skip",
        }
    }
}

/// One rule's response.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RuleResponse {
    /// The rule's name.
    pub rule: String,
    /// The outcome (as a policy report states it: unscored failures are warnings).
    pub status: Status,
    /// Why.
    pub message: String,
    /// The failure action that applies to this resource (for enforcement decisions).
    pub action: Action,
}

/// Where the context entries that read the cluster get their data: `configMap` and `apiCall` (GET of
/// a Kubernetes API path). At admission, the cluster through kube-rs; offline, nothing (the values file
/// supplies such entries instead).
pub trait ClusterData {
    /// The ConfigMap `namespace/name`, as the API returns it.
    fn config_map(&self, namespace: &str, name: &str) -> Result<Value, String>;
    /// The JSON answer to `GET url_path` on the Kubernetes API.
    fn api_get(&self, url_path: &str) -> Result<Value, String>;
}

/// What the rules of one evaluation may read besides the resource.
#[derive(Clone, Default)]
pub struct Request {
    /// The resource (`request.object`).
    pub resource: Value,
    /// `request.oldObject` (UPDATE and DELETE).
    pub old_object: Option<Value>,
    /// Operation, requester and namespace labels.
    pub info: RequestInfo,
    /// The cluster, for `configMap` and `apiCall` context entries (none offline).
    pub cluster: Option<std::sync::Arc<dyn ClusterData + Send + Sync>>,
    /// The other resources of the run (`apply`, `test`, a test's context file): where CEL params
    /// (`paramRef`) and Kyverno's `resource.Get/List` find them.
    pub resources: Option<std::sync::Arc<Vec<Value>>>,
    /// Image metadata for Kyverno's `image.GetMetadata` (a test's context file).
    pub images: Option<std::sync::Arc<Vec<Value>>>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("resource", &self.resource)
            .field("old_object", &self.old_object)
            .field("info", &self.info)
            .field("cluster", &self.cluster.is_some())
            .finish()
    }
}

impl Request {
    /// The request Kyverno's CLI makes for `resource` under `info.operation`: an UPDATE compares the
    /// resource with itself; a DELETE has only the old object.
    pub fn for_operation(resource: Value, info: RequestInfo) -> Self {
        match info.operation.as_str() {
            "UPDATE" => Request { old_object: Some(resource.clone()), resource, info, ..Request::default() },
            "DELETE" => {
                Request { resource: Value::Null, old_object: Some(resource), info, ..Request::default() }
            }
            _ => Request { resource, old_object: None, info, ..Request::default() },
        }
    }
}

/// Values supplied instead of what a cluster would provide, by rule name: each key a variable path
/// (`imageData.configData.created`, `request.operation`) set before the rule runs; a context entry
/// whose name is set is not evaluated.
pub type Values = BTreeMap<String, Map<String, Value>>;

/// A rule's outcome before policy-level adjustments.
pub(crate) struct RuleOutcome {
    pub(crate) status: Status,
    pub(crate) message: String,
}

impl RuleOutcome {
    pub(crate) fn new(status: Status, message: impl Into<String>) -> Self {
        RuleOutcome { status, message: message.into() }
    }
}

type Outcome = RuleOutcome;

/// Sets `value` at the dotted `path` of `data`, creating maps on the way.
fn set_path(data: &mut Map<String, Value>, path: &str, value: Value) {
    let mut parts = path.split('.').peekable();
    let mut current = data;
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            current.insert(part.to_owned(), value);
            return;
        }
        let next = current.entry(part.to_owned()).or_insert_with(|| Value::Object(Map::new()));
        if !next.is_object() {
            *next = Value::Object(Map::new());
        }
        let Value::Object(map) = next else { return };
        current = map;
    }
}

/// Kyverno's parsed image references of every container (`images.containers.<name>.registry`, …).
fn images(resource: &Value) -> Value {
    let spec = match resource.get("kind").and_then(Value::as_str) {
        Some("Pod") => resource.get("spec"),
        Some("CronJob") => resource.pointer("/spec/jobTemplate/spec/template/spec"),
        _ => resource.pointer("/spec/template/spec"),
    };
    let mut out = Map::new();
    for (field, key) in [
        ("containers", "containers"),
        ("initContainers", "initContainers"),
        ("ephemeralContainers", "ephemeralContainers"),
    ] {
        let mut by_name = Map::new();
        for container in spec.and_then(|s| s.get(field)).and_then(Value::as_array).into_iter().flatten() {
            let (Some(name), Some(image)) = (
                container.get("name").and_then(Value::as_str),
                container.get("image").and_then(Value::as_str),
            ) else {
                continue;
            };
            by_name.insert(name.to_owned(), parse_image(image));
        }
        if !by_name.is_empty() {
            out.insert(key.to_owned(), Value::Object(by_name));
        }
    }
    Value::Object(out)
}

/// An image reference as Kyverno's `ImageInfo`.
fn parse_image(image: &str) -> Value {
    let (rest, digest) = image.split_once('@').map_or((image, ""), |(r, d)| (r, d));
    let (first, remainder) = rest.split_once('/').unwrap_or(("", rest));
    let has_registry =
        !first.is_empty() && (first.contains('.') || first.contains(':') || first == "localhost");
    let (registry, path) =
        if has_registry { (first, remainder.to_owned()) } else { ("docker.io", rest.to_owned()) };
    let (path, tag) = match path.rsplit_once(':') {
        Some((p, t)) if !t.contains('/') => (p.to_owned(), t.to_owned()),
        _ => (path, String::new()),
    };
    let tag = if tag.is_empty() && digest.is_empty() { "latest".to_owned() } else { tag };
    let name = path.rsplit('/').next().unwrap_or(&path).to_owned();
    let mut reference = format!("{registry}/{path}");
    if !tag.is_empty() {
        reference.push(':');
        reference.push_str(&tag);
    }
    let reference_with_tag = reference.clone();
    if !digest.is_empty() {
        reference.push('@');
        reference.push_str(digest);
    }
    json!({"registry": registry, "path": path, "name": name, "tag": tag, "digest": digest,
           "reference": reference, "referenceWithTag": reference_with_tag})
}

/// The data every rule of `request` starts from.
fn base_context(request: &Request) -> Map<String, Value> {
    let resource = match (&request.resource, &request.old_object) {
        (Value::Null, Some(old)) => old,
        (resource, _) => resource,
    };
    let namespace = resource.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or_default();
    let username = request.info.user_info.get("username").and_then(Value::as_str).unwrap_or_default();
    let (sa_namespace, sa_name) =
        match username.strip_prefix("system:serviceaccount:").and_then(|s| s.split_once(':')) {
            Some((ns, name)) => (ns.to_owned(), name.to_owned()),
            None => (String::new(), String::new()),
        };
    let api_version = resource.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let mut data = Map::new();
    data.insert(
        "request".to_owned(),
        json!({
            "object": request.resource,
            "oldObject": request.old_object.clone().unwrap_or(Value::Null),
            "name": resource.pointer("/metadata/name").cloned().unwrap_or(Value::Null),
            "kind": {"group": group, "version": version, "kind": resource.get("kind").cloned().unwrap_or(Value::Null)},
            "operation": request.info.operation,
            "namespace": namespace,
            "userInfo": request.info.user_info,
            "roles": request.info.roles,
            "clusterRoles": request.info.cluster_roles,
        }),
    );
    data.insert("serviceAccountName".to_owned(), Value::String(sa_name));
    data.insert("serviceAccountNamespace".to_owned(), Value::String(sa_namespace));
    data.insert("images".to_owned(), images(resource));
    data
}

/// The variables a rule reads: the request's data, converted once per resource and shared by every
/// rule (JMESPath values are reference-counted, so a rule's view costs a map of pointers), plus what
/// its context entries, values and foreach elements add — converted when read, and cached until the
/// next change.
struct Scope {
    base: Rc<BTreeMap<String, Rcvar>>,
    base_json: Rc<Map<String, Value>>,
    extra: Map<String, Value>,
    cached: RefCell<Option<Rcvar>>,
    cluster: Option<std::sync::Arc<dyn ClusterData + Send + Sync>>,
    /// The labels of the resource's namespace, when known (for CEL's `namespaceObject`).
    namespace_labels: Option<Map<String, Value>>,
    /// The CEL bindings of the request's data, converted once per request and shared by its rules.
    cel_base: Rc<std::cell::OnceCell<Result<crate::cel::Bindings, String>>>,
    /// The other resources of the run, for CEL params and `resource.Get/List`.
    resources: Option<std::sync::Arc<Vec<Value>>>,
    /// Image metadata, for `image.GetMetadata`.
    images: Option<std::sync::Arc<Vec<Value>>>,
}

impl Scope {
    fn new(
        base_json: Rc<Map<String, Value>>,
        base: Rc<BTreeMap<String, Rcvar>>,
        cluster: Option<std::sync::Arc<dyn ClusterData + Send + Sync>>,
    ) -> Self {
        Scope {
            base,
            base_json,
            extra: Map::new(),
            cached: RefCell::new(None),
            cluster,
            namespace_labels: None,
            cel_base: Rc::new(std::cell::OnceCell::new()),
            resources: None,
            images: None,
        }
    }

    fn variables(&self) -> Rcvar {
        if let Some(cached) = self.cached.borrow().as_ref() {
            return Rc::clone(cached);
        }
        let mut map = (*self.base).clone();
        for (key, value) in &self.extra {
            map.insert(key.clone(), to_variable(value));
        }
        let variables = Rc::new(Variable::Object(map));
        *self.cached.borrow_mut() = Some(Rc::clone(&variables));
        variables
    }

    /// Sets `value` at the dotted `path` (a top-level key of the shared data is copied first).
    fn set(&mut self, path: &str, value: Value) {
        let top = path.split('.').next().unwrap_or(path);
        if top != path
            && !self.extra.contains_key(top)
            && let Some(shared) = self.base_json.get(top)
        {
            self.extra.insert(top.to_owned(), shared.clone());
        }
        set_path(&mut self.extra, path, value);
        self.cached.replace(None);
    }

    fn insert(&mut self, key: String, value: Value) {
        self.extra.insert(key, value);
        self.cached.replace(None);
    }

    fn snapshot(&self) -> Map<String, Value> {
        self.extra.clone()
    }

    fn restore(&mut self, extra: Map<String, Value>) {
        self.extra = extra;
        self.cached.replace(None);
    }
}

/// Evaluates `policy` on `request`; a rule that does not apply has no response. `values` supplies
/// variables by rule name (`""` for every rule).
pub fn evaluate_policy(policy: &Policy, request: &Request, values: &Values) -> Vec<RuleResponse> {
    evaluate_prepared(policy, &Prepared::new(request, values.get("")), values)
}

/// A request ready to be judged by many policies: the values for every rule applied once (they may
/// replace request fields — `request.operation`, `request.object` — and the resource judged is the one
/// in the context afterwards, as in Kyverno's CLI), its data converted for JMESPath on first use and
/// then shared by every rule of every policy.
pub struct Prepared {
    shared: Rc<Map<String, Value>>,
    base: std::cell::OnceCell<Rc<BTreeMap<String, Rcvar>>>,
    resource: Value,
    info: RequestInfo,
    cluster: Option<std::sync::Arc<dyn ClusterData + Send + Sync>>,
    cel_base: Rc<std::cell::OnceCell<Result<crate::cel::Bindings, String>>>,
    resources: Option<std::sync::Arc<Vec<Value>>>,
    images: Option<std::sync::Arc<Vec<Value>>>,
}

impl Prepared {
    /// Makes the other resources of the run available to CEL params.
    pub fn with_resources(mut self, resources: std::sync::Arc<Vec<Value>>) -> Self {
        self.resources = Some(resources);
        self
    }

    /// Prepares `request` with the values every rule sees.
    pub fn new(request: &Request, shared_values: Option<&Map<String, Value>>) -> Self {
        let mut shared = base_context(request);
        for (path, value) in shared_values.into_iter().flatten() {
            set_path(&mut shared, path, value.clone());
        }
        let object = shared.get("request").and_then(|r| r.get("object")).cloned().unwrap_or(Value::Null);
        // A DELETE has no new object: the rule reads (and matches) the old one.
        let resource = if object.is_null() || object.as_object().is_some_and(Map::is_empty) {
            shared.get("request").and_then(|r| r.get("oldObject")).cloned().unwrap_or(Value::Null)
        } else {
            object
        };
        Prepared {
            shared: Rc::new(shared),
            base: std::cell::OnceCell::new(),
            resource,
            info: request.info.clone(),
            cluster: request.cluster.clone(),
            cel_base: Rc::new(std::cell::OnceCell::new()),
            resources: request.resources.clone(),
            images: request.images.clone(),
        }
    }

    fn base(&self) -> Rc<BTreeMap<String, Rcvar>> {
        Rc::clone(
            self.base.get_or_init(|| {
                Rc::new(self.shared.iter().map(|(k, v)| (k.clone(), to_variable(v))).collect())
            }),
        )
    }
}

/// Evaluates `policy` on a prepared request; `values` must hold the same `""` entry it was prepared
/// with (its keys name the context entries that are supplied rather than evaluated).
pub fn evaluate_prepared(policy: &Policy, prepared: &Prepared, values: &Values) -> Vec<RuleResponse> {
    let resource = &prepared.resource;
    let namespace = resource.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or_default();
    if let Some(policy_namespace) = &policy.namespace
        && policy.kind == "Policy"
        && policy_namespace != namespace
    {
        return Vec::new();
    }
    let action = effective_action(policy, namespace);
    let shared = &prepared.shared;
    let request = prepared;
    let mut responses = Vec::new();
    for rule in &policy.rules {
        if !rule_applies(&rule.match_block, rule.exclude.as_ref(), resource, &request.info) {
            continue;
        }
        let outcome = match &rule.kind {
            RuleKind::Unsupported(kind) => {
                Outcome::new(Status::Error, format!("rule type `{kind}` is not supported by verdict"))
            }
            RuleKind::Validate(validate) => {
                let mut scope = Scope::new(Rc::clone(shared), prepared.base(), prepared.cluster.clone());
                scope.namespace_labels = prepared.info.namespace_labels.clone();
                scope.cel_base = Rc::clone(&prepared.cel_base);
                scope.resources = prepared.resources.clone();
                scope.images = prepared.images.clone();
                for (path, value) in values.get(&rule.name).into_iter().flatten() {
                    scope.set(path, value.clone());
                }
                let supplied: Vec<&String> = [values.get(""), values.get(&rule.name)]
                    .into_iter()
                    .flatten()
                    .flat_map(Map::keys)
                    .collect();
                // A ValidatingPolicy's matchConditions: false means the rule does not apply.
                if !rule.match_conditions.is_empty() {
                    match cel_conditions_hold(&rule.match_conditions, &scope) {
                        Ok(false) => continue,
                        Ok(true) => {}
                        Err(err) => {
                            responses.push(RuleResponse {
                                rule: rule.name.clone(),
                                status: Status::Fail,
                                message: format!("matchConditions: {err}"),
                                action,
                            });
                            continue;
                        }
                    }
                }
                evaluate_rule(rule, validate, &mut scope, resource, &supplied)
            }
        };
        let status =
            if outcome.status == Status::Fail && !policy.scored { Status::Warn } else { outcome.status };
        let rule_action = match &rule.kind {
            RuleKind::Validate(validate) => validate
                .get("failureAction")
                .or_else(|| validate.get("validationFailureAction"))
                .and_then(Value::as_str)
                .and_then(|a| match a.to_ascii_lowercase().as_str() {
                    "enforce" => Some(Action::Enforce),
                    "audit" => Some(Action::Audit),
                    _ => None,
                })
                .unwrap_or(action),
            RuleKind::Unsupported(_) => action,
        };
        responses.push(RuleResponse {
            rule: rule.name.clone(),
            status,
            message: outcome.message,
            action: rule_action,
        });
    }
    responses
}

/// The policy's action for a resource in `namespace`, overrides first.
fn effective_action(policy: &Policy, namespace: &str) -> Action {
    policy
        .overrides
        .iter()
        .find(|o| o.namespaces.iter().any(|n| crate::wildcard::matches(n, namespace)))
        .map_or(policy.action, |o| o.action)
}

fn evaluate_rule(
    rule: &Rule,
    validate: &Value,
    scope: &mut Scope,
    resource: &Value,
    supplied: &[&String],
) -> Outcome {
    if let Err(message) = load_context(&rule.context, scope, supplied) {
        return Outcome::new(Status::Error, message);
    }
    match preconditions(rule.preconditions.as_ref(), scope) {
        Err(message) => return Outcome::new(Status::Error, message),
        Ok(false) => return Outcome::new(Status::Skip, "preconditions not met"),
        Ok(true) => {}
    }
    if !rule.cel_preconditions.is_empty() {
        match cel_conditions_hold(&rule.cel_preconditions, scope) {
            Ok(false) => return Outcome::new(Status::Skip, "cel preconditions not met"),
            Ok(true) => {}
            Err(err) => return Outcome::new(Status::Fail, format!("cel preconditions: {err}")),
        }
    }
    validate_block(&rule.name, validate, scope, resource, supplied, 0)
}

/// Whether every CEL condition (`{name, expression}`) is true.
fn cel_conditions_hold(conditions: &[Value], scope: &Scope) -> Result<bool, String> {
    let bindings = cel_activation(scope, &[])?;
    for condition in conditions {
        let source = condition.get("expression").and_then(Value::as_str).unwrap_or_default();
        let expression = crate::cel::compile_cached(source)?;
        if !crate::cel::evaluate_bool_in(&expression, &bindings)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Evaluates context entries in order; a supplied value wins over evaluation.
fn load_context(entries: &[Value], scope: &mut Scope, supplied: &[&String]) -> Result<(), String> {
    for entry in entries {
        let name = entry.get("name").and_then(Value::as_str).unwrap_or_default();
        if supplied.iter().any(|s| s.as_str() == name || s.starts_with(&format!("{name}."))) {
            continue;
        }
        if let Some(variable) = entry.get("variable") {
            let data = scope.variables();
            let mut value = match variable.get("value") {
                Some(value) => substitute_all(value, &data, Missing::Error)
                    .map_err(|e| format!("context entry {name:?}: {e}"))?,
                None => Value::Null,
            };
            if let Some(path) = variable.get("jmesPath").and_then(Value::as_str) {
                let path = match substitute_string(path, &data, Missing::Error) {
                    Ok(Value::String(s)) => s,
                    Ok(other) => other.to_string(),
                    Err(e) => return Err(format!("context entry {name:?}: {e}")),
                };
                let source =
                    if variable.get("value").is_some() { crate::jmes::to_variable(&value) } else { data };
                value = search(&path, &source).unwrap_or(Value::Null);
            }
            if value.is_null() {
                match variable.get("default") {
                    Some(default) => {
                        value = substitute_all(default, &scope.variables(), Missing::Error)
                            .map_err(|e| format!("context entry {name:?}: {e}"))?
                    }
                    None => {
                        return Err(format!(
                            "context entry {name:?}: the variable resolved to nothing and has no default"
                        ));
                    }
                }
            }
            scope.set(name, value);
            continue;
        }
        let kind = ["configMap", "apiCall", "imageRegistry", "globalReference"]
            .into_iter()
            .find(|k| entry.get(*k).is_some())
            .unwrap_or("unknown");
        let value = match (kind, &scope.cluster) {
            ("configMap", Some(cluster)) => {
                read_config_map(name, &entry["configMap"], scope, cluster.as_ref())?
            }
            ("apiCall", Some(cluster)) => read_api_call(name, &entry["apiCall"], scope, cluster.as_ref())?,
            _ => {
                return Err(format!(
                    "context entry {name:?} ({kind}) needs data from a cluster or registry: supply `{name}` in the values file"
                ));
            }
        };
        scope.set(name, value);
    }
    Ok(())
}

/// A text field of a context entry with its variables substituted.
fn entry_text(entry: &Value, field: &str, scope: &Scope) -> Result<Option<String>, String> {
    let Some(raw) = entry.get(field) else { return Ok(None) };
    match substitute_all(raw, &scope.variables(), Missing::Error).map_err(|e| e.to_string())? {
        Value::String(text) => Ok(Some(text)),
        Value::Null => Ok(None),
        other => Ok(Some(other.to_string())),
    }
}

/// A `configMap` context entry read from the cluster (namespace default: `default`).
fn read_config_map(
    name: &str,
    entry: &Value,
    scope: &Scope,
    cluster: &dyn ClusterData,
) -> Result<Value, String> {
    let map_name = entry_text(entry, "name", scope)?
        .ok_or_else(|| format!("context entry {name:?}: configMap needs a `name`"))?;
    let namespace = entry_text(entry, "namespace", scope)?
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "default".to_owned());
    cluster
        .config_map(&namespace, &map_name)
        .map_err(|err| format!("context entry {name:?}: configMap {namespace}/{map_name}: {err}"))
}

/// An `apiCall` context entry: a GET of a Kubernetes API path, its `jmesPath` applied, its `default`
/// when that yields nothing. Service calls and other methods are not supported and say so.
fn read_api_call(
    name: &str,
    entry: &Value,
    scope: &Scope,
    cluster: &dyn ClusterData,
) -> Result<Value, String> {
    if entry.get("service").is_some() {
        return Err(format!(
            "context entry {name:?}: apiCall `service` calls are not supported by verdict (only `urlPath` GETs)"
        ));
    }
    let method = entry.get("method").and_then(Value::as_str).unwrap_or("GET");
    if method != "GET" {
        return Err(format!(
            "context entry {name:?}: apiCall method {method} is not supported by verdict (only GET)"
        ));
    }
    let path = entry_text(entry, "urlPath", scope)?
        .ok_or_else(|| format!("context entry {name:?}: apiCall needs a `urlPath`"))?;
    let answer =
        cluster.api_get(&path).map_err(|err| format!("context entry {name:?}: GET {path}: {err}"))?;
    let mut value = match entry.get("jmesPath").and_then(Value::as_str).filter(|p| !p.is_empty()) {
        Some(expression) => {
            search(expression, &to_variable(&answer)).map_err(|e| format!("context entry {name:?}: {e}"))?
        }
        None => answer,
    };
    if value.is_null()
        && let Some(default) = entry.get("default")
    {
        value = default.clone();
    }
    Ok(value)
}

/// Whether every condition block holds; variables that cannot be resolved read as "".
fn conditions_hold(block: &Value, scope: &Scope) -> Result<bool, String> {
    let data = scope.variables();
    let check = |condition: &Value| -> Result<bool, String> {
        let operator_name = condition.get("operator").and_then(Value::as_str).unwrap_or_default();
        let operator = Operator::parse(operator_name)
            .ok_or_else(|| format!("unknown condition operator {operator_name:?}"))?;
        let key = substitute_all(condition.get("key").unwrap_or(&Value::Null), &data, Missing::Empty)
            .map_err(|e| e.to_string())?;
        let value = substitute_all(condition.get("value").unwrap_or(&Value::Null), &data, Missing::Empty)
            .map_err(|e| e.to_string())?;
        Ok(evaluate_condition(operator, &key, &value))
    };
    match block {
        Value::Array(list) => {
            for condition in list {
                if !check(condition)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Value::Object(map) => {
            if let Some(any) = map.get("any").and_then(Value::as_array).filter(|a| !a.is_empty()) {
                let mut one = false;
                for condition in any {
                    if check(condition)? {
                        one = true;
                        break;
                    }
                }
                if !one {
                    return Ok(false);
                }
            }
            if let Some(all) = map.get("all").and_then(Value::as_array) {
                for condition in all {
                    if !check(condition)? {
                        return Ok(false);
                    }
                }
            }
            Ok(true)
        }
        Value::Null => Ok(true),
        _ => Err("conditions must be a list or an `any`/`all` map".to_owned()),
    }
}

fn preconditions(block: Option<&Value>, scope: &Scope) -> Result<bool, String> {
    match block {
        None => Ok(true),
        Some(block) => {
            conditions_hold(block, scope).map_err(|e| format!("failed to evaluate preconditions: {e}"))
        }
    }
}

/// The rule's message with variables substituted (or why it could not be).
fn message(validate: &Value, scope: &Scope) -> String {
    let Some(text) = validate.get("message").and_then(Value::as_str) else { return String::new() };
    match substitute_string(text, &scope.variables(), Missing::Error) {
        Ok(Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(VariableError::NotFound { .. } | VariableError::Query { .. }) => text.to_owned(),
    }
}

/// The CEL variables of a rule: `object`, `oldObject`, `request`, `namespaceObject`, `params` and
/// `variables`, from the rule's data.
/// The CEL bindings of the request's data: `object`, `oldObject`, `request`, `namespaceObject`,
/// `params`.
fn cel_request_bindings(scope: &Scope) -> Result<crate::cel::Bindings, String> {
    let data = match scope.extra.get("request") {
        Some(request) => request.clone(),
        None => scope.base_json.get("request").cloned().unwrap_or(Value::Null),
    };
    let object = data.get("object").cloned().unwrap_or(Value::Null);
    let old_object = data.get("oldObject").cloned().unwrap_or(Value::Null);
    let mut request = data.as_object().cloned().unwrap_or_default();
    request.remove("object");
    request.remove("oldObject");
    let namespace = request.get("namespace").and_then(Value::as_str).unwrap_or_default().to_owned();
    let namespace_object = if namespace.is_empty() {
        Value::Null
    } else {
        let labels = scope.namespace_labels.clone().unwrap_or_default();
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "labels": labels}})
    };
    let params =
        scope.extra.get("params").or_else(|| scope.base_json.get("params")).cloned().unwrap_or(Value::Null);
    crate::cel::Bindings::new(&crate::cel::Activation {
        values: vec![
            ("object".to_owned(), object),
            ("oldObject".to_owned(), old_object),
            ("request".to_owned(), Value::Object(request)),
            ("namespaceObject".to_owned(), namespace_object),
            ("params".to_owned(), params),
        ],
    })
}

/// The CEL variables of a rule — the request's data (converted once per request unless this rule
/// changed it) and the rule's `variables`.
fn cel_activation(scope: &Scope, variables: &[Value]) -> Result<crate::cel::Bindings, String> {
    let own = scope.extra.contains_key("request") || scope.extra.contains_key("params");
    let base = if own {
        cel_request_bindings(scope)?
    } else {
        scope.cel_base.get_or_init(|| cel_request_bindings(scope)).clone()?
    };
    cel_variables(base, variables)
}

/// `bindings` with the rule's `variables` computed in order, each seeing the ones before; one that
/// fails is left out, so an expression that reads it fails (and one that does not, as with Kubernetes'
/// lazy variables, does not).
fn cel_variables(
    mut bindings: crate::cel::Bindings,
    variables: &[Value],
) -> Result<crate::cel::Bindings, String> {
    let mut computed = Map::new();
    for variable in variables {
        let name = variable.get("name").and_then(Value::as_str).unwrap_or_default();
        let source = variable.get("expression").and_then(Value::as_str).unwrap_or_default();
        let expression = crate::cel::compile_cached(source)?;
        bindings.set("variables", &Value::Object(computed.clone()))?;
        if let Ok(value) = crate::cel::evaluate_in(&expression, &bindings) {
            computed.insert(name.to_owned(), value);
        }
    }
    bindings.set("variables", &Value::Object(computed))?;
    Ok(bindings)
}

/// The params of a CEL rule.
enum Params {
    /// The rule takes none.
    None,
    /// The parameter resource.
    Found(Value),
    /// None found, and `parameterNotFoundAction: Allow` admits.
    MissingAllowed(String),
}

/// Finds the resource `paramKind` + `paramRef` name: among the run's resources (`apply`, `test`),
/// else from the cluster (at admission). Missing params deny unless `parameterNotFoundAction: Allow`.
fn resolve_params(cel: &Value, scope: &Scope) -> Result<Params, String> {
    let Some(kind) = cel.get("paramKind") else { return Ok(Params::None) };
    let api_version = kind.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
    let kind_name = kind.get("kind").and_then(Value::as_str).unwrap_or_default();
    let reference =
        cel.get("paramRef").ok_or_else(|| format!("paramKind {kind_name} is given without a paramRef"))?;
    let name = reference.get("name").and_then(Value::as_str).unwrap_or_default();
    let request_namespace = scope
        .base_json
        .get("request")
        .and_then(|r| r.get("namespace"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let namespace = reference.get("namespace").and_then(Value::as_str).unwrap_or(request_namespace);
    let matches = |resource: &&Value| {
        resource.get("apiVersion").and_then(Value::as_str) == Some(api_version)
            && resource.get("kind").and_then(Value::as_str) == Some(kind_name)
            && resource.pointer("/metadata/name").and_then(Value::as_str) == Some(name)
            && (namespace.is_empty()
                || resource
                    .pointer("/metadata/namespace")
                    .and_then(Value::as_str)
                    .is_none_or(|n| n == namespace))
    };
    let mut found = scope.resources.as_ref().and_then(|resources| resources.iter().find(matches).cloned());
    if found.is_none()
        && let Some(cluster) = &scope.cluster
    {
        let plural = format!("{}s", kind_name.to_ascii_lowercase());
        let prefix = if api_version.contains('/') {
            format!("/apis/{api_version}")
        } else {
            format!("/api/{api_version}")
        };
        let path = if namespace.is_empty() {
            format!("{prefix}/{plural}/{name}")
        } else {
            format!("{prefix}/namespaces/{namespace}/{plural}/{name}")
        };
        found = cluster.api_get(&path).ok();
    }
    match found {
        Some(params) => Ok(Params::Found(params)),
        None => {
            let what = format!("no {kind_name} {namespace}/{name} for paramRef");
            if reference.get("parameterNotFoundAction").and_then(Value::as_str) == Some("Allow") {
                Ok(Params::MissingAllowed(format!("{what}: admitted (parameterNotFoundAction: Allow)")))
            } else {
                Err(format!("{what} (parameterNotFoundAction: Deny)"))
            }
        }
    }
}

/// Whether any string in `value` contains one of `calls` (without serializing it: this runs per rule
/// evaluation).
fn mentions(value: &Value, calls: &[&str]) -> bool {
    match value {
        Value::String(text) => calls.iter().any(|call| text.contains(call)),
        Value::Array(items) => items.iter().any(|item| mentions(item, calls)),
        Value::Object(fields) => fields.values().any(|field| mentions(field, calls)),
        _ => false,
    }
}

/// A `validate.cel` rule (and a ValidatingPolicy's validations): every expression must be true; the
/// first false one fails with its message (or messageExpression), an error is an error.
fn validate_cel(rule: &str, cel: &Value, scope: &Scope, rule_message: Option<&str>) -> Outcome {
    let variables = cel.get("variables").and_then(Value::as_array).cloned().unwrap_or_default();
    // Kyverno's resource and image libraries read the data the run supplies.
    let uses_library = mentions(cel, &["resource.List(", "resource.Get(", "image.GetMetadata("]);
    if uses_library {
        // At admission, `resource.Get/List` read the cluster, as Kyverno's do (image metadata is not
        // read from registries here: such a call fails the rule).
        if scope.resources.is_none()
            && scope.images.is_none()
            && let Some(cluster) = &scope.cluster
        {
            return crate::cel::with_cluster_library(std::sync::Arc::clone(cluster), || {
                validate_cel_with(rule, cel, scope, rule_message, &variables)
            });
        }
        // Without data the libraries must not answer "nothing found": that would pass rules that deny
        // when something exists. The rule fails instead.
        if scope.resources.is_none() && scope.images.is_none() {
            return Outcome::new(
                Status::Fail,
                format!(
                    "rule {rule}: Kyverno's resource/image CEL libraries have no data here (verdict serves them from a test's context file and the resources of `verdict apply`/`verdict test`)"
                ),
            );
        }
        static EMPTY: std::sync::OnceLock<std::sync::Arc<Vec<Value>>> = std::sync::OnceLock::new();
        let empty = || std::sync::Arc::clone(EMPTY.get_or_init(Default::default));
        let resources = scope.resources.clone().unwrap_or_else(empty);
        let images = scope.images.clone().unwrap_or_else(empty);
        return crate::cel::with_library(resources, images, || {
            validate_cel_with(rule, cel, scope, rule_message, &variables)
        });
    }
    validate_cel_with(rule, cel, scope, rule_message, &variables)
}

/// [`validate_cel`] once the library data, if any, is in place.
fn validate_cel_with(
    rule: &str,
    cel: &Value,
    scope: &Scope,
    rule_message: Option<&str>,
    variables: &[Value],
) -> Outcome {
    let mut bindings = match cel_activation(scope, variables) {
        Ok(bindings) => bindings,
        Err(err) => return Outcome::new(Status::Error, err),
    };
    match resolve_params(cel, scope) {
        Ok(Params::None) => {}
        Ok(Params::Found(params)) => {
            // Variables may read params: they are computed again with them bound.
            if let Err(err) = bindings.set("params", &params) {
                return Outcome::new(Status::Error, err);
            }
            if !variables.is_empty() {
                match cel_variables(bindings.clone(), variables) {
                    Ok(with_variables) => bindings = with_variables,
                    Err(err) => return Outcome::new(Status::Error, err),
                }
            }
        }
        Ok(Params::MissingAllowed(why)) => return Outcome::new(Status::Pass, why),
        Err(why) => return Outcome::new(Status::Fail, why),
    }
    for item in cel.get("expressions").and_then(Value::as_array).into_iter().flatten() {
        let source = item.get("expression").and_then(Value::as_str).unwrap_or_default();
        let expression = match crate::cel::compile_cached(source) {
            Ok(expression) => expression,
            Err(err) => return Outcome::new(Status::Error, format!("invalid CEL expression: {err}")),
        };
        match crate::cel::evaluate_bool_in(&expression, &bindings) {
            Ok(true) => {}
            Ok(false) => {
                let from_expression = item
                    .get("messageExpression")
                    .and_then(Value::as_str)
                    .and_then(|m| crate::cel::compile_cached(m).ok())
                    .and_then(|m| crate::cel::evaluate_in(&m, &bindings).ok())
                    .and_then(|v| v.as_str().map(str::to_owned));
                let message = from_expression
                    .or_else(|| item.get("message").and_then(Value::as_str).map(str::to_owned))
                    .or_else(|| rule_message.map(str::to_owned))
                    .unwrap_or_else(|| format!("failed expression: {source}"));
                return Outcome::new(Status::Fail, message.trim().to_owned());
            }
            // As Kubernetes with failurePolicy Fail (Kyverno's default): an expression that cannot be
            // evaluated denies.
            Err(err) => {
                return Outcome::new(
                    Status::Fail,
                    format!("rule {rule}: expression resulted in an error: {err}"),
                );
            }
        }
    }
    let mut message = format!("validation rule '{rule}' passed.");
    let annotations: Vec<String> = cel
        .get("auditAnnotations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|annotation| {
            let key = annotation.get("key").and_then(Value::as_str)?;
            let source = annotation.get("valueExpression").and_then(Value::as_str)?;
            let value =
                crate::cel::compile_cached(source).and_then(|e| crate::cel::evaluate_in(&e, &bindings));
            match value {
                Ok(Value::Null) => None,
                Ok(Value::String(text)) => Some(format!("{key}={text}")),
                Ok(other) => Some(format!("{key}={other}")),
                Err(err) => Some(format!("{key}: {err}")),
            }
        })
        .collect();
    if !annotations.is_empty() {
        message.push_str(&format!(" Audit annotations: {}", annotations.join(", ")));
    }
    Outcome::new(Status::Pass, message)
}

/// `pattern` with its variables substituted, or the rule's error outcome.
fn substitute_pattern(rule: &str, pattern: &Value, data: &Rcvar) -> Result<Value, Outcome> {
    substitute_all(pattern, data, Missing::Error).map_err(|e| {
        Outcome::new(Status::Error, format!("variable substitution failed for rule {rule}: {e}"))
    })
}

/// A message ending with a full stop, as Kyverno writes failures.
fn sentence(message: &str) -> String {
    if message.is_empty() || message.ends_with('.') { message.to_owned() } else { format!("{message}.") }
}

fn validate_block(
    rule: &str,
    validate: &Value,
    scope: &mut Scope,
    resource: &Value,
    supplied: &[&String],
    nesting: usize,
) -> Outcome {
    if let Some(deny) = validate.get("deny") {
        let conditions = deny.get("conditions").cloned().unwrap_or(Value::Null);
        return match conditions_hold(&conditions, scope) {
            Err(e) => Outcome::new(Status::Error, format!("failed to check deny conditions: {e}")),
            Ok(true) => Outcome::new(Status::Fail, message(validate, scope)),
            Ok(false) => Outcome::new(Status::Pass, format!("validation rule '{rule}' passed.")),
        };
    }
    if validate.get("pattern").is_some() || validate.get("anyPattern").is_some() {
        let data = scope.variables();
        if let Some(pattern) = validate.get("pattern") {
            let pattern = match substitute_pattern(rule, pattern, &data) {
                Ok(p) => p,
                Err(outcome) => return outcome,
            };
            return match match_pattern(resource, &pattern) {
                Ok(()) => Outcome::new(Status::Pass, format!("validation rule '{rule}' passed.")),
                Err(Mismatch::Skip { message }) => Outcome::new(Status::Skip, message),
                Err(Mismatch::Fail { path, .. }) => Outcome::new(
                    Status::Fail,
                    format!(
                        "validation error: {} rule {rule} failed at path {path}",
                        sentence(&message(validate, scope))
                    ),
                ),
            };
        }
        let patterns = validate.get("anyPattern").and_then(Value::as_array).cloned().unwrap_or_default();
        let (mut skipped, mut failed) = (Vec::new(), Vec::new());
        for (index, pattern) in patterns.iter().enumerate() {
            let pattern = match substitute_pattern(rule, pattern, &data) {
                Ok(p) => p,
                Err(outcome) => return outcome,
            };
            match match_pattern(resource, &pattern) {
                Ok(()) => {
                    return Outcome::new(
                        Status::Pass,
                        format!("validation rule '{rule}' anyPattern[{index}] passed."),
                    );
                }
                Err(Mismatch::Skip { message }) => skipped.push(message),
                Err(Mismatch::Fail { path, .. }) => {
                    failed.push(format!("rule {rule}[{index}] failed at path {path}"))
                }
            }
        }
        if failed.is_empty() && !skipped.is_empty() {
            return Outcome::new(Status::Skip, skipped.join("; "));
        }
        return Outcome::new(
            Status::Fail,
            format!("validation error: {} {}", sentence(&message(validate, scope)), failed.join(" ")),
        );
    }
    if let Some(foreach) = validate.get("foreach").and_then(Value::as_array) {
        return validate_foreach(rule, validate, foreach, scope, resource, supplied, nesting);
    }
    if validate.get("podSecurity").is_some() {
        return crate::pod_security::validate(rule, validate, resource);
    }
    if let Some(cel) = validate.get("cel") {
        return validate_cel(rule, cel, scope, validate.get("message").and_then(Value::as_str));
    }
    Outcome::new(Status::Error, "the rule's `validate` block has nothing verdict can evaluate")
}

fn validate_foreach(
    rule: &str,
    validate: &Value,
    blocks: &[Value],
    scope: &mut Scope,
    resource: &Value,
    supplied: &[&String],
    nesting: usize,
) -> Outcome {
    let mut applied = 0;
    for block in blocks {
        let list = block.get("list").and_then(Value::as_str).unwrap_or_default();
        let data = scope.variables();
        let expression = match substitute_string(list, &data, Missing::Error) {
            Ok(Value::String(s)) => s,
            _ => continue,
        };
        let elements = match search(&expression, &data) {
            Ok(Value::Array(items)) => items,
            Ok(Value::Null) | Err(_) => continue,
            Ok(other) => vec![other],
        };
        let element_scope = block.get("elementScope").and_then(Value::as_bool);
        let saved = scope.snapshot();
        let mut outcome = None;
        let mut count = 0;
        for (index, element) in elements.iter().enumerate() {
            if element.is_null() {
                continue;
            }
            scope.restore(saved.clone());
            for (key, value) in [
                ("element".to_owned(), element.clone()),
                ("elementIndex".to_owned(), json!(index)),
                (format!("element{nesting}"), element.clone()),
                (format!("elementIndex{nesting}"), json!(index)),
            ] {
                scope.insert(key, value);
            }
            let target = if element.is_object() && element_scope != Some(false) { element } else { resource };
            let result = foreach_element(rule, validate, block, scope, target, supplied, nesting);
            match result.status {
                Status::Skip => continue,
                Status::Pass => count += 1,
                Status::Error if index + 1 < elements.len() => continue,
                Status::Error => {
                    outcome =
                        Some(Outcome::new(Status::Error, format!("validation failure: {}", result.message)));
                    break;
                }
                _ => {
                    let text =
                        if result.message.is_empty() { message(validate, scope) } else { result.message };
                    outcome = Some(Outcome::new(Status::Fail, format!("validation failure: {text}")));
                    break;
                }
            }
        }
        scope.restore(saved);
        if let Some(outcome) = outcome {
            return outcome;
        }
        applied += count;
    }
    if applied == 0 {
        return Outcome::new(Status::Skip, "rule skipped");
    }
    Outcome::new(Status::Pass, "rule passed")
}

/// One element of a foreach block: its context, preconditions and validation.
fn foreach_element(
    rule: &str,
    validate: &Value,
    block: &Value,
    scope: &mut Scope,
    target: &Value,
    supplied: &[&String],
    nesting: usize,
) -> Outcome {
    let context: Vec<Value> = block.get("context").and_then(Value::as_array).cloned().unwrap_or_default();
    if let Err(message) = load_context(&context, scope, supplied) {
        return Outcome::new(Status::Error, message);
    }
    match preconditions(block.get("preconditions"), scope) {
        Err(message) => return Outcome::new(Status::Error, message),
        Ok(false) => return Outcome::new(Status::Skip, "preconditions not met"),
        Ok(true) => {}
    }
    let mut inner = serde_json::Map::new();
    for key in ["pattern", "anyPattern", "deny"] {
        if let Some(value) = block.get(key) {
            inner.insert(key.to_owned(), value.clone());
        }
    }
    if let Some(nested) = block.get("foreach") {
        inner.insert("foreach".to_owned(), nested.clone());
    }
    if let Some(message) = validate.get("message") {
        inner.insert("message".to_owned(), message.clone());
    }
    let inner = Value::Object(inner);
    let outcome = validate_block(rule, &inner, scope, target, supplied, nesting + 1);
    match outcome.status {
        // A failing element reports the rule's message with this element's variables.
        Status::Fail if inner.get("deny").is_some() => Outcome::new(Status::Fail, message(validate, scope)),
        _ => outcome,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::load_policy_file;

    fn run(policy: &str, resource: Value) -> Vec<(String, Status)> {
        let file = load_policy_file("p.yaml", policy).unwrap_or_else(|d| panic!("{d:#?}"));
        let request = Request {
            resource,
            info: RequestInfo { operation: "CREATE".into(), ..RequestInfo::default() },
            ..Request::default()
        };
        evaluate_policy(&file.policies[0], &request, &Values::new())
            .into_iter()
            .map(|r| (r.rule, r.status))
            .collect()
    }

    const DENY_LATEST: &str = r#"
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: no-latest}
spec:
  validationFailureAction: Enforce
  rules:
    - name: no-latest
      match: {any: [{resources: {kinds: [Pod]}}]}
      preconditions:
        all:
          - key: "{{ request.operation }}"
            operator: AnyIn
            value: [CREATE, UPDATE]
      validate:
        message: "{{ element.name }} uses latest"
        foreach:
          - list: request.object.spec.containers
            deny:
              conditions:
                any:
                  - key: "{{ element.image }}"
                    operator: Equals
                    value: "*:latest"
"#;

    #[test]
    fn foreach_deny_with_autogen() {
        let pod = |image: &str| json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": image}]}});
        assert_eq!(run(DENY_LATEST, pod("nginx:1")), vec![("no-latest".to_owned(), Status::Pass)]);
        assert_eq!(run(DENY_LATEST, pod("nginx:latest")), vec![("no-latest".to_owned(), Status::Fail)]);
        let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "nginx:latest"}]}}}});
        assert_eq!(run(DENY_LATEST, deployment), vec![("autogen-no-latest".to_owned(), Status::Fail)]);
        let service = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}});
        assert!(run(DENY_LATEST, service).is_empty());
    }

    #[test]
    fn images_are_parsed_as_kyverno_does() {
        let image = parse_image("ghcr.io/acme/app:1.2@sha256:abc");
        assert_eq!(image["registry"], "ghcr.io");
        assert_eq!(image["path"], "acme/app");
        assert_eq!(image["name"], "app");
        assert_eq!(image["tag"], "1.2");
        assert_eq!(parse_image("nginx")["tag"], "latest");
        assert_eq!(parse_image("nginx")["registry"], "docker.io");
        assert_eq!(parse_image("localhost:5000/x:1")["registry"], "localhost:5000");
    }
}

#[cfg(test)]
mod cel_policy_tests {
    use serde_json::json;

    use super::*;
    use crate::policy::load_policy_file;

    fn statuses(source: &str, resource: Value) -> Vec<(String, Status)> {
        let file = load_policy_file("p.yaml", source).unwrap_or_else(|d| panic!("{d:#?}"));
        let request = Request::for_operation(
            resource,
            RequestInfo { operation: "CREATE".into(), ..RequestInfo::default() },
        );
        file.policies
            .iter()
            .flat_map(|p| evaluate_policy(p, &request, &Values::new()))
            .map(|r| (r.rule, r.status))
            .collect()
    }

    /// The same rule as a classic pattern, a `validate.cel` rule, a ValidatingPolicy and a Kubernetes
    /// ValidatingAdmissionPolicy with its binding gives the same decisions, pod controllers included.
    #[test]
    fn one_rule_in_every_language_decides_the_same() {
        let classic = "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: p}\nspec:\n  rules:\n    - name: r\n      match: {any: [{resources: {kinds: [Pod]}}]}\n      validate:\n        message: no privileged\n        pattern:\n          spec:\n            containers:\n              - =(securityContext):\n                  =(privileged): false\n";
        let cel = "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: p}\nspec:\n  rules:\n    - name: r\n      match: {any: [{resources: {kinds: [Pod]}}]}\n      validate:\n        cel:\n          expressions:\n            - expression: \"object.spec.containers.all(c, c.?securityContext.?privileged.orValue(false) == false)\"\n              message: no privileged\n";
        let vpol = "apiVersion: policies.kyverno.io/v1\nkind: ValidatingPolicy\nmetadata: {name: p}\nspec:\n  validationActions: [Deny]\n  matchConstraints:\n    resourceRules:\n      - {apiGroups: [''], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [pods]}\n  validations:\n    - expression: \"object.spec.containers.all(c, c.?securityContext.?privileged.orValue(false) == false)\"\n      message: no privileged\n";
        let vap = "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata: {name: p}\nspec:\n  failurePolicy: Fail\n  matchConstraints:\n    resourceRules:\n      - {apiGroups: [''], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [pods]}\n  validations:\n    - expression: \"object.spec.containers.all(c, c.?securityContext.?privileged.orValue(false) == false)\"\n---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata: {name: p-binding}\nspec:\n  policyName: p\n  validationActions: [Deny]\n";
        let pod = |privileged: bool| {
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"},
            "spec": {"containers": [{"name": "c", "image": "i", "securityContext": {"privileged": privileged}}]}})
        };
        let deployment = |privileged: bool| {
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i", "securityContext": {"privileged": privileged}}]}}}})
        };
        for source in [classic, cel, vpol, vap] {
            let status =
                |resource| statuses(source, resource).into_iter().map(|(_, s)| s).collect::<Vec<_>>();
            assert_eq!(status(pod(false)), [Status::Pass], "{source}");
            assert_eq!(status(pod(true)), [Status::Fail], "{source}");
            assert_eq!(status(deployment(true)), [Status::Fail], "{source}");
            assert_eq!(status(deployment(false)), [Status::Pass], "{source}");
        }
        // An expression that does not compile is a load error at the rule; one that fails at run time
        // fails the rule (as failurePolicy Fail).
        let broken = cel.replace(
            "object.spec.containers.all(c, c.?securityContext.?privileged.orValue(false) == false)",
            "object.spec.(",
        );
        assert!(load_policy_file("p.yaml", &broken).unwrap_err().iter().any(|d| d.short().contains("CEL")));
        let erroring = cel.replace(
            "object.spec.containers.all(c, c.?securityContext.?privileged.orValue(false) == false)",
            "object.spec.nothing == 1",
        );
        assert_eq!(statuses(&erroring, pod(false)), [("r".to_owned(), Status::Fail)]);
    }

    /// Params: a ValidatingAdmissionPolicy's `paramKind` with its binding's `paramRef`, found among the
    /// run's resources; a missing one denies unless `parameterNotFoundAction: Allow`. Audit annotations
    /// are reported with the result.
    #[test]
    fn params_come_from_the_runs_resources() {
        let vap = |action: &str| {
            format!(
                "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata: {{name: replicas}}\nspec:\n  paramKind: {{apiVersion: v1, kind: ConfigMap}}\n  matchConstraints:\n    resourceRules:\n      - {{apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments]}}\n  validations:\n    - expression: \"object.spec.replicas <= int(params.data.maxReplicas)\"\n      messageExpression: \"'at most ' + params.data.maxReplicas + ' replicas'\"\n  auditAnnotations:\n    - {{key: replicas, valueExpression: \"string(object.spec.replicas)\"}}\n---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata: {{name: replicas-binding}}\nspec:\n  policyName: replicas\n  validationActions: [Deny]\n  paramRef: {{name: limits, namespace: shop, parameterNotFoundAction: {action}}}\n"
            )
        };
        let deployment = |replicas: i64| {
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": format!("d{replicas}"), "namespace": "shop"},
            "spec": {"replicas": replicas, "template": {"spec": {"containers": []}}}})
        };
        let limits = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "limits", "namespace": "shop"}, "data": {"maxReplicas": "3"}});
        let run = |source: &str, resources: Vec<Value>| {
            let file = load_policy_file("vap.yaml", source).unwrap_or_else(|d| panic!("{d:#?}"));
            let info = RequestInfo { operation: "CREATE".into(), ..RequestInfo::default() };
            crate::apply::apply(&file.policies, &resources, &crate::testsuite::ValuesFile::default(), &info)
                .into_iter()
                .filter(|r| r.resource.kind == "Deployment")
                .map(|r| (r.resource.name, r.result, r.message))
                .collect::<Vec<_>>()
        };
        let results = run(&vap("Deny"), vec![deployment(2), deployment(5), limits.clone()]);
        assert_eq!(results[0].1, Status::Pass, "{results:?}");
        assert!(results[0].2.contains("Audit annotations: replicas=2"), "{results:?}");
        assert_eq!((results[1].1, results[1].2.as_str()), (Status::Fail, "at most 3 replicas"));
        let missing = run(&vap("Deny"), vec![deployment(2)]);
        assert_eq!(missing[0].1, Status::Fail);
        assert!(missing[0].2.contains("no ConfigMap shop/limits"), "{missing:?}");
        let allowed = run(&vap("Allow"), vec![deployment(5)]);
        assert_eq!(allowed[0].1, Status::Pass, "{allowed:?}");
    }
}

#[cfg(test)]
mod cel_cluster_tests {
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};

    use serde_json::json;

    use super::*;
    use crate::policy::load_policy_file;

    /// The API server as the webhook's cluster access answers: GETs by path, each one remembered.
    struct FakeCluster {
        objects: BTreeMap<String, Value>,
        asked: Mutex<Vec<String>>,
    }

    impl ClusterData for FakeCluster {
        fn config_map(&self, namespace: &str, name: &str) -> Result<Value, String> {
            self.api_get(&format!("/api/v1/namespaces/{namespace}/configmaps/{name}"))
        }

        fn api_get(&self, url_path: &str) -> Result<Value, String> {
            self.asked.lock().unwrap().push(url_path.to_owned());
            self.objects.get(url_path).cloned().ok_or_else(|| format!("404 {url_path}"))
        }
    }

    const POLICY: &str = "apiVersion: policies.kyverno.io/v1\nkind: ValidatingPolicy\nmetadata: {name: p}\nspec:\n  validationActions: [Deny]\n  matchConstraints:\n    resourceRules:\n      - {apiGroups: [''], apiVersions: [v1], operations: [CREATE], resources: [pods]}\n  variables:\n    - name: allowed\n      expression: \"resource.Get('v1', 'configmaps', object.metadata.namespace, object.metadata.annotations['policy']).data.registry\"\n    - name: quotas\n      expression: \"resource.List('apps/v1', 'deployments', object.metadata.namespace).items\"\n  validations:\n    - expression: \"object.spec.containers.all(c, c.image.startsWith(variables.allowed))\"\n      message: not from the allowed registry\n    - expression: \"size(variables.quotas) < 2\"\n      message: too many deployments\n";

    fn decide(cluster: &Arc<FakeCluster>, annotation: &str, image: &str) -> Vec<(Status, String)> {
        let file = load_policy_file("p.yaml", POLICY).unwrap_or_else(|d| panic!("{d:#?}"));
        let pod = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "shop", "annotations": {"policy": annotation}},
            "spec": {"containers": [{"name": "c", "image": image}]}});
        let mut request =
            Request::for_operation(pod, RequestInfo { operation: "CREATE".into(), ..RequestInfo::default() });
        request.cluster = Some(Arc::clone(cluster) as Arc<dyn ClusterData + Send + Sync>);
        file.policies
            .iter()
            .flat_map(|p| evaluate_policy(p, &request, &Values::new()))
            .map(|r| (r.status, r.message))
            .collect()
    }

    /// At admission (no run data, a cluster), Kyverno's `resource.Get/List` read the API server by the
    /// paths Kyverno uses; what the cluster does not have, and arguments that are not plain names (an
    /// annotation trying `../secrets/…`), fail the rule without a read.
    #[test]
    fn resource_functions_read_the_cluster_at_admission() {
        let cluster = Arc::new(FakeCluster {
            objects: BTreeMap::from([
                (
                    "/api/v1/namespaces/shop/configmaps/registries".to_owned(),
                    json!({"data": {"registry": "ghcr.io/acme/"}}),
                ),
                (
                    "/apis/apps/v1/namespaces/shop/deployments".to_owned(),
                    json!({"kind": "DeploymentList", "items": [{"metadata": {"name": "one"}}]}),
                ),
            ]),
            asked: Mutex::new(Vec::new()),
        });
        let passed = decide(&cluster, "registries", "ghcr.io/acme/web:1");
        assert!(passed.iter().all(|(status, _)| *status == Status::Pass), "{passed:?}");
        assert_eq!(
            *cluster.asked.lock().unwrap(),
            ["/api/v1/namespaces/shop/configmaps/registries", "/apis/apps/v1/namespaces/shop/deployments"]
        );
        let elsewhere = decide(&cluster, "registries", "docker.io/library/nginx:1");
        assert_eq!(elsewhere[0].0, Status::Fail);
        assert!(elsewhere[0].1.contains("not from the allowed registry"), "{elsewhere:?}");
        // A ConfigMap the cluster does not have: the variable fails, so does the rule.
        assert_eq!(decide(&cluster, "missing", "ghcr.io/acme/web:1")[0].0, Status::Fail);
        // Path injection through object data is refused before any read.
        cluster.asked.lock().unwrap().clear();
        let injected = decide(&cluster, "../../secrets/token", "ghcr.io/acme/web:1");
        assert_eq!(injected[0].0, Status::Fail, "{injected:?}");
        assert!(!cluster.asked.lock().unwrap().iter().any(|p| p.contains("secrets")));
    }

    #[test]
    fn api_paths_are_kyvernos_and_only_plain_names_make_one() {
        use crate::cel::api_path;
        assert_eq!(
            api_path("v1", "configmaps", "shop", Some("a")).unwrap(),
            "/api/v1/namespaces/shop/configmaps/a"
        );
        assert_eq!(api_path("apps/v1", "deployments", "", None).unwrap(), "/apis/apps/v1/deployments");
        assert_eq!(
            api_path("rbac.authorization.k8s.io/v1", "clusterroles", "", Some("system:node")).unwrap(),
            "/apis/rbac.authorization.k8s.io/v1/clusterroles/system:node"
        );
        for (version, resource, namespace, name) in [
            ("v1", "configmaps", "shop", Some("..")),
            ("v1", "configmaps", "../kube-system", Some("a")),
            ("v1", "configmaps/a", "shop", None),
            ("a/b/c", "configmaps", "", None),
            ("v1", "configmaps", "shop", Some("a?watch=1")),
            ("v1", "", "shop", None),
        ] {
            assert!(
                api_path(version, resource, namespace, name).is_err(),
                "{version} {resource} {namespace} {name:?}"
            );
        }
    }
}
