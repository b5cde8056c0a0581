//! Loading Kyverno `ClusterPolicy` and `Policy` documents (`kyverno.io/v1`, `v2beta1`): every rule
//! with its match, exclude, context, preconditions and validation, pod-controller rules generated as
//! Kyverno's autogen does, and every problem reported with the file, line and column.

use serde_json::{Map, Value};
use verdict_policy::diagnostic::Diagnostic;
use verdict_policy::yaml::Node;

use crate::conditions::Operator;

/// Audit or Enforce: what a failing rule does at admission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub enum Action {
    /// Report only.
    Audit,
    /// Block.
    Enforce,
}

impl Action {
    fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "audit" => Some(Action::Audit),
            "enforce" => Some(Action::Enforce),
            _ => None,
        }
    }
}

/// A namespace-specific failure action (`validationFailureActionOverrides`).
#[derive(Debug, Clone, PartialEq)]
pub struct ActionOverride {
    /// The action.
    pub action: Action,
    /// The namespaces it applies to (wildcards allowed).
    pub namespaces: Vec<String>,
}

/// What a rule does.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleKind {
    /// A `validate` rule (pattern, anyPattern, deny, foreach, podSecurity or cel).
    Validate(Value),
    /// A rule type verdict does not evaluate (`mutate`, `generate`, `verifyImages`): reported per rule.
    Unsupported(&'static str),
}

/// One rule, as Kyverno would run it (autogen rules included).
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Its name (`autogen-…` for generated ones).
    pub name: String,
    /// `match`.
    pub match_block: Value,
    /// `exclude`.
    pub exclude: Option<Value>,
    /// `context` entries.
    pub context: Vec<Value>,
    /// `preconditions`.
    pub preconditions: Option<Value>,
    /// `celPreconditions`: CEL `{name, expression}`; one that is false skips the rule.
    pub cel_preconditions: Vec<Value>,
    /// A ValidatingPolicy's `matchConditions`: CEL `{name, expression}`; one that is false means the
    /// rule does not apply (no result).
    pub match_conditions: Vec<Value>,
    /// What it does.
    pub kind: RuleKind,
}

/// A loaded Kyverno policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// The file it came from.
    pub file: String,
    /// `ClusterPolicy` or `Policy`.
    pub kind: String,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace` of a namespaced `Policy`.
    pub namespace: Option<String>,
    /// `metadata.annotations`.
    pub annotations: Map<String, Value>,
    /// The failure action (`validationFailureAction` / `failureAction`; Audit by default).
    pub action: Action,
    /// Per-namespace overrides.
    pub overrides: Vec<ActionOverride>,
    /// Whether failures are scored (`policies.kyverno.io/scored: "false"` makes them warnings).
    pub scored: bool,
    /// The rules, with autogen rules after the originals.
    pub rules: Vec<Rule>,
}

/// What a file holds besides Kyverno classic policies, for callers that read other kinds.
#[derive(Debug, Clone, PartialEq)]
pub struct OtherDocument {
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// `metadata.name`.
    pub name: String,
    /// The document.
    pub document: Value,
}

/// Every document of a policy file, sorted by what it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PolicyFile {
    /// Kyverno ClusterPolicies and Policies.
    pub policies: Vec<Policy>,
    /// Other documents (ValidatingPolicy, ValidatingAdmissionPolicy, …).
    pub others: Vec<OtherDocument>,
}

struct Loader<'a> {
    file: &'a str,
    diagnostics: Vec<Diagnostic>,
}

impl Loader<'_> {
    fn error(&mut self, at: &Node, message: impl Into<String>, hint: &str) {
        let mut diagnostic = Diagnostic::error(self.file, at.start.line, at.start.column, message);
        if !hint.is_empty() {
            diagnostic = diagnostic.with_hint(hint);
        }
        self.diagnostics.push(diagnostic);
    }
}

fn text<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer).and_then(Value::as_str)
}

/// Every YAML document of `source`, or the syntax error with `file`'s line and column.
pub(crate) fn parse_yaml_documents(file: &str, source: &str) -> Result<Vec<Node>, Vec<Diagnostic>> {
    verdict_policy::yaml::parse_documents(source).map_err(|err| {
        vec![
            Diagnostic::error(
                file,
                err.position.line,
                err.position.column,
                format!("invalid YAML: {}", err.message),
            )
            .with_hint("check the indentation and quoting around this position"),
        ]
    })
}

/// Loads every document of `source` (`file` names it in diagnostics).
pub fn load_policy_file(file: &str, source: &str) -> Result<PolicyFile, Vec<Diagnostic>> {
    let documents = parse_yaml_documents(file, source)?;
    let mut loader = Loader { file, diagnostics: Vec::new() };
    let mut loaded = PolicyFile::default();
    for node in &documents {
        let document = node.to_json();
        if document.is_null() {
            continue;
        }
        let api_version = text(&document, "/apiVersion").unwrap_or_default().to_owned();
        let kind = text(&document, "/kind").unwrap_or_default().to_owned();
        let group = api_version.split('/').next().unwrap_or_default();
        if group == "kyverno.io" && (kind == "ClusterPolicy" || kind == "Policy") {
            if let Some(policy) = load_policy(&mut loader, node, &document) {
                loaded.policies.push(policy);
            }
        } else if group == "policies.kyverno.io"
            && (kind == "ValidatingPolicy" || kind == "NamespacedValidatingPolicy")
        {
            let translated = crate::vpol::translate(&document);
            match translated {
                Ok(policy_document) => {
                    if let Some(mut policy) = load_policy(&mut loader, node, &policy_document) {
                        policy.kind = kind.clone();
                        loaded.policies.push(policy);
                    }
                }
                Err(message) => loader.error(
                    node,
                    message,
                    "see docs/kyverno.md for what ValidatingPolicy fields verdict reads",
                ),
            }
        } else if kind.is_empty() {
            loader.error(
                node,
                "the document has no `kind`",
                "a Kyverno policy starts with `apiVersion: kyverno.io/v1` and `kind: ClusterPolicy`",
            );
        } else {
            let name = text(&document, "/metadata/name").unwrap_or_default().to_owned();
            loaded.others.push(OtherDocument { api_version, kind, name, document });
        }
    }
    admission_policies(&mut loader, &documents, &mut loaded);
    if loader.diagnostics.is_empty() { Ok(loaded) } else { Err(loader.diagnostics) }
}

/// Kubernetes ValidatingAdmissionPolicies of the file, each with the bindings of the file that name it:
/// the same evaluation as a ValidatingPolicy, with the bindings' `validationActions` (Deny when none)
/// and their namespace selector. A policy without a binding in the file is evaluated as if bound to
/// everything with `Deny` — what `verdict apply` is asked about. Params (`paramKind` and the binding's
/// `paramRef`) come from the run's resources or the cluster.
fn admission_policies(loader: &mut Loader<'_>, documents: &[Node], loaded: &mut PolicyFile) {
    let is = |other: &OtherDocument, kind: &str| {
        other.kind == kind && other.api_version.starts_with("admissionregistration.k8s.io/")
    };
    let bindings: Vec<Value> = loaded
        .others
        .iter()
        .filter(|o| is(o, "ValidatingAdmissionPolicyBinding"))
        .map(|o| o.document.clone())
        .collect();
    let policies: Vec<Value> = loaded
        .others
        .iter()
        .filter(|o| is(o, "ValidatingAdmissionPolicy"))
        .map(|o| o.document.clone())
        .collect();
    for policy in policies {
        let name = text(&policy, "/metadata/name").unwrap_or_default();
        let found = documents
            .iter()
            .find(|n| {
                n.pointer("/metadata/name").is_some_and(|m| m.to_json() == Value::String(name.to_owned()))
            })
            .or(documents.first());
        let Some(node) = found else { continue };
        let bound: Vec<&Value> =
            bindings.iter().filter(|b| text(b, "/spec/policyName") == Some(name)).collect();
        let mut actions: Vec<Value> = bound
            .iter()
            .flat_map(|b| {
                b.pointer("/spec/validationActions").and_then(Value::as_array).cloned().unwrap_or_default()
            })
            .collect();
        if actions.is_empty() {
            actions.push(Value::String("Deny".to_owned()));
        }
        let mut document = policy.clone();
        document["spec"]["validationActions"] = Value::Array(actions);
        // The params of the first binding that names some (each binding is its own evaluation in a
        // cluster; here, one).
        if let Some(reference) = bound.iter().find_map(|b| b.pointer("/spec/paramRef")) {
            document["spec"]["paramRef"] = reference.clone();
        }
        if let Some(selector) = bound.iter().find_map(|b| b.pointer("/spec/matchResources/namespaceSelector"))
            && document.pointer("/spec/matchConstraints/namespaceSelector").is_none()
            && let Some(constraints) =
                document.pointer_mut("/spec/matchConstraints").and_then(Value::as_object_mut)
        {
            constraints.insert("namespaceSelector".to_owned(), selector.clone());
        }
        match crate::vpol::translate(&document) {
            Ok(translated) => {
                if let Some(mut loaded_policy) = load_policy(loader, node, &translated) {
                    loaded_policy.kind = "ValidatingAdmissionPolicy".to_owned();
                    loaded.policies.push(loaded_policy);
                }
            }
            Err(message) => loader.error(
                node,
                format!("ValidatingAdmissionPolicy {name}: {message}"),
                "see docs/kyverno.md",
            ),
        }
    }
    loaded
        .others
        .retain(|o| !is(o, "ValidatingAdmissionPolicy") && !is(o, "ValidatingAdmissionPolicyBinding"));
}

fn load_policy(loader: &mut Loader<'_>, node: &Node, document: &Value) -> Option<Policy> {
    let name = text(document, "/metadata/name").unwrap_or_default().to_owned();
    if name.is_empty() {
        loader.error(
            node.pointer("/metadata").unwrap_or(node),
            "the policy has no `metadata.name`",
            "add `metadata: {name: …}`",
        );
    }
    let kind = text(document, "/kind").unwrap_or_default().to_owned();
    let spec = document.get("spec").cloned().unwrap_or(Value::Null);
    let spec_node = node.pointer("/spec").unwrap_or(node);
    let action_text = text(&spec, "/failureAction").or_else(|| text(&spec, "/validationFailureAction"));
    let action = match action_text {
        None => Action::Audit,
        Some(text) => Action::parse(text).unwrap_or_else(|| {
            let at = spec_node
                .pointer("/failureAction")
                .or_else(|| spec_node.pointer("/validationFailureAction"))
                .unwrap_or(spec_node);
            loader.error(
                at,
                format!("failure action {text:?} is neither Audit nor Enforce"),
                "write `Audit` or `Enforce`",
            );
            Action::Audit
        }),
    };
    let overrides = overrides(spec.get("validationFailureActionOverrides"));
    let annotations =
        document.pointer("/metadata/annotations").and_then(Value::as_object).cloned().unwrap_or_default();
    let scored = annotations.get("policies.kyverno.io/scored").and_then(Value::as_str) != Some("false");
    let Some(rules) = spec.get("rules").and_then(Value::as_array) else {
        loader.error(spec_node, "the policy has no `spec.rules`", "add at least one rule");
        return None;
    };
    let mut loaded = Vec::new();
    for (index, rule) in rules.iter().enumerate() {
        let at = spec_node.pointer(&format!("/rules/{index}")).unwrap_or(spec_node);
        if let Some(rule) = load_rule(loader, at, rule) {
            loaded.push(rule);
        }
    }
    let generated = crate::autogen::generate(rules, &annotations);
    for rule in &generated {
        if let Some(rule) = load_rule(loader, spec_node, rule) {
            loaded.push(rule);
        }
    }
    Some(Policy {
        file: loader.file.to_owned(),
        kind,
        name,
        namespace: text(document, "/metadata/namespace").map(str::to_owned),
        annotations,
        action,
        overrides,
        scored,
        rules: loaded,
    })
}

fn overrides(value: Option<&Value>) -> Vec<ActionOverride> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let action = Action::parse(entry.get("action")?.as_str()?)?;
            let namespaces = entry
                .get("namespaces")
                .and_then(Value::as_array)
                .map(|n| n.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                .unwrap_or_default();
            Some(ActionOverride { action, namespaces })
        })
        .collect()
}

fn load_rule(loader: &mut Loader<'_>, at: &Node, rule: &Value) -> Option<Rule> {
    let Some(name) = rule.get("name").and_then(Value::as_str) else {
        loader.error(at, "the rule has no `name`", "add `name: …` to the rule");
        return None;
    };
    let Some(match_block) = rule.get("match").cloned() else {
        loader.error(
            at,
            format!("rule {name:?} has no `match`"),
            "add `match: {any: [{resources: {kinds: [Pod]}}]}`",
        );
        return None;
    };
    let kind = if let Some(validate) = rule.get("validate") {
        check_validate(loader, at, name, validate);
        RuleKind::Validate(validate.clone())
    } else if rule.get("mutate").is_some() {
        RuleKind::Unsupported("mutate")
    } else if rule.get("generate").is_some() {
        RuleKind::Unsupported("generate")
    } else if rule.get("verifyImages").is_some() {
        RuleKind::Unsupported("verifyImages")
    } else {
        loader.error(
            at,
            format!("rule {name:?} has no `validate`, `mutate`, `generate` or `verifyImages`"),
            "add a `validate` block",
        );
        return None;
    };
    if let Some(conditions) = rule.get("preconditions") {
        check_conditions(loader, at, name, conditions);
    }
    for block in ["celPreconditions", "matchConditions"] {
        let sources: Vec<&str> = rule
            .get(block)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| c.get("expression").and_then(Value::as_str))
            .collect();
        check_cel(loader, at, name, &sources);
    }
    Some(Rule {
        name: name.to_owned(),
        match_block,
        exclude: rule.get("exclude").cloned(),
        context: rule.get("context").and_then(Value::as_array).cloned().unwrap_or_default(),
        preconditions: rule.get("preconditions").cloned(),
        cel_preconditions: rule
            .get("celPreconditions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
        match_conditions: rule.get("matchConditions").and_then(Value::as_array).cloned().unwrap_or_default(),
        kind,
    })
}

fn check_validate(loader: &mut Loader<'_>, at: &Node, name: &str, validate: &Value) {
    let kinds: Vec<&str> =
        ["pattern", "anyPattern", "deny", "foreach", "podSecurity", "cel", "manifests", "assert"]
            .into_iter()
            .filter(|k| validate.get(*k).is_some())
            .collect();
    if kinds.is_empty() {
        loader.error(
            at,
            format!(
                "rule {name:?}: `validate` has none of pattern, anyPattern, deny, foreach, podSecurity, cel"
            ),
            "add one of them",
        );
    }
    if let Some(deny) = validate.get("deny")
        && let Some(conditions) = deny.get("conditions")
    {
        check_conditions(loader, at, name, conditions);
    }
    if let Some(cel) = validate.get("cel") {
        let mut sources = Vec::new();
        for item in cel.get("expressions").and_then(Value::as_array).into_iter().flatten() {
            sources.extend(
                ["expression", "messageExpression"]
                    .iter()
                    .filter_map(|k| item.get(*k).and_then(Value::as_str)),
            );
        }
        for item in cel.get("variables").and_then(Value::as_array).into_iter().flatten() {
            sources.extend(item.get("expression").and_then(Value::as_str));
        }
        check_cel(loader, at, name, &sources);
    }
}

/// Compiles every CEL expression of a rule, reporting each that does not compile.
fn check_cel(loader: &mut Loader<'_>, at: &Node, name: &str, sources: &[&str]) {
    for source in sources {
        if let Err(err) = crate::cel::compile(source) {
            let first_line = err.lines().next().unwrap_or_default().to_owned();
            loader.error(
                at,
                format!("rule {name:?}: invalid CEL expression {source:?}: {first_line}"),
                "check the expression's syntax (CEL, as in Kubernetes ValidatingAdmissionPolicy)",
            );
        }
    }
}

/// Checks every condition's operator (`any`/`all` blocks or the old list form).
fn check_conditions(loader: &mut Loader<'_>, at: &Node, name: &str, conditions: &Value) {
    let mut all = Vec::new();
    match conditions {
        Value::Array(list) => all.extend(list),
        Value::Object(map) => {
            for key in ["any", "all"] {
                all.extend(map.get(key).and_then(Value::as_array).into_iter().flatten());
            }
        }
        _ => {}
    }
    for condition in all {
        let operator = condition.get("operator").and_then(Value::as_str).unwrap_or_default();
        if Operator::parse(operator).is_none() {
            loader.error(
                at,
                format!("rule {name:?}: unknown condition operator {operator:?}"),
                &format!("the operators are: {}", Operator::NAMES.join(", ")),
            );
        }
    }
}
