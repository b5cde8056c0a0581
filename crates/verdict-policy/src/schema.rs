//! The embedded JSON Schema of environment policy v1, and the translation of its errors into diagnostics
//! that say what to write instead.

use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::Value;

use crate::diagnostic::Diagnostic;
use crate::suggest::closest;
use crate::yaml::Node;

/// The schema text, also published in `docs/` for editors and other tools.
pub const ENVIRONMENT_POLICY_V1_SCHEMA: &str = include_str!("../schemas/environment-policy-v1.schema.json");

/// The `_schema` value verdict (and Kosli) documents for v1 policies.
pub const SCHEMA_URL_V1: &str = "https://kosli.com/schemas/policy/environment/v1";

/// The attestation types a rule may name, besides `custom:<name>`.
pub const ATTESTATION_TYPES: [&str; 8] =
    ["generic", "junit", "snyk", "pull_request", "jira", "sonar", "decision", "*"];

fn validator() -> Result<&'static jsonschema::Validator, String> {
    static VALIDATOR: OnceLock<Result<jsonschema::Validator, String>> = OnceLock::new();
    VALIDATOR
        .get_or_init(|| {
            let schema: Value =
                serde_json::from_str(ENVIRONMENT_POLICY_V1_SCHEMA).map_err(|e| e.to_string())?;
            jsonschema::draft202012::new(&schema).map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Validates the policy document, returning one diagnostic per problem.
pub fn validate(file: &str, root: &Node, document: &Value) -> Vec<Diagnostic> {
    let validator = match validator() {
        Ok(validator) => validator,
        Err(err) => {
            return vec![Diagnostic::error(file, 1, 1, format!("internal error: embedded schema: {err}"))];
        }
    };
    let mut diagnostics: Vec<Diagnostic> = validator
        .iter_errors(document)
        .flat_map(|error| {
            translate(file, root, document, error.instance_path().as_str(), error.kind(), error.to_string())
        })
        .collect();
    diagnostics.sort_by_key(|d| (d.line, d.column));
    diagnostics.dedup();
    diagnostics
}

/// How a schema-validated format explains itself: the keys allowed at a pointer (for "did you mean"),
/// the hint for a missing key, and a message for error kinds the format words its own way.
pub struct SchemaWording {
    /// The keys allowed at a JSON pointer.
    pub allowed_keys: fn(&str) -> &'static [&'static str],
    /// The hint for a missing required key (the key's name).
    pub required_hint: fn(&str) -> String,
    /// A (message, hint) for an error kind at a pointer, or `None` for the generic wording.
    pub special: fn(&ValidationErrorKind, &str) -> Option<(String, String)>,
}

/// Validates `document` (parsed from `root`) against `validator`: one diagnostic per problem, with the
/// line and column of the offending node — shared by every YAML format verdict loads with a schema.
pub fn diagnose(
    validator: &jsonschema::Validator,
    file: &str,
    root: &Node,
    document: &Value,
    wording: &SchemaWording,
) -> Vec<Diagnostic> {
    let mut diagnostics: Vec<Diagnostic> = validator
        .iter_errors(document)
        .flat_map(|error| {
            let pointer = error.instance_path().as_str().to_owned();
            let node = root.pointer(&pointer).unwrap_or(root);
            let at = |message: String| Diagnostic::error(file, node.start.line, node.start.column, message);
            if let Some((message, hint)) = (wording.special)(error.kind(), &pointer) {
                return vec![at(message).with_hint(hint)];
            }
            match error.kind() {
                ValidationErrorKind::AdditionalProperties { unexpected } => unexpected
                    .iter()
                    .map(|key| {
                        let (key_node, _) = node.entry(key).unwrap_or((node, node));
                        let allowed = (wording.allowed_keys)(&pointer);
                        let hint = match closest(key, allowed) {
                            Some(suggestion) => format!("did you mean `{suggestion}`?"),
                            None => format!("the keys allowed here are: {}", allowed.join(", ")),
                        };
                        Diagnostic::error(
                            file,
                            key_node.start.line,
                            key_node.start.column,
                            format!("unknown key `{key}` in {}", describe(&pointer)),
                        )
                        .with_width(key.chars().count())
                        .with_hint(hint)
                    })
                    .collect(),
                ValidationErrorKind::Required { property } => {
                    let property = property.as_str().unwrap_or_default().to_owned();
                    vec![
                        at(format!("missing required key `{property}` in {}", describe(&pointer)))
                            .with_hint((wording.required_hint)(&property)),
                    ]
                }
                _ => vec![at(format!("{} is invalid: {error}", describe(&pointer)))],
            }
        })
        .collect();
    diagnostics.sort_by_key(|d| (d.line, d.column));
    diagnostics.dedup();
    diagnostics
}

/// `artifacts.attestations[0].type` from `/artifacts/attestations/0/type`: a JSON pointer as a user
/// would write the path (shared by every schema-validated policy format).
pub fn describe(pointer: &str) -> String {
    let mut out = String::new();
    for segment in pointer.split('/').skip(1) {
        if segment.parse::<usize>().is_ok() {
            out.push_str(&format!("[{segment}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(segment);
        }
    }
    if out.is_empty() { "the top level".to_owned() } else { format!("`{out}`") }
}

fn allowed_keys(pointer: &str) -> &'static [&'static str] {
    let segments: Vec<&str> = pointer.split('/').skip(1).collect();
    match segments.as_slice() {
        [] => &["_schema", "artifacts"],
        ["artifacts"] => &["provenance", "trail-compliance", "attestations"],
        ["artifacts", "provenance" | "trail-compliance"] => &["required", "exceptions"],
        ["artifacts", _, "exceptions", _] => &["if"],
        ["artifacts", "attestations", _] => &["name", "type", "if", "must_be_compliant", "for_control"],
        _ => &[],
    }
}

fn json_type_name(value: Option<&Value>) -> String {
    match value {
        None => "nothing".to_owned(),
        Some(Value::Null) => "null (an empty value)".to_owned(),
        Some(Value::Bool(b)) => format!("the boolean {b}"),
        Some(Value::Number(n)) => format!("the number {n}"),
        Some(Value::String(s)) => format!("the string {s:?}"),
        Some(Value::Array(_)) => "a list".to_owned(),
        Some(Value::Object(_)) => "a mapping".to_owned(),
    }
}

fn expected_type(kind: &TypeKind) -> String {
    let names: Vec<String> = match kind {
        TypeKind::Single(t) => vec![t.to_string()],
        TypeKind::Multiple(set) => set.iter().map(|t| t.to_string()).collect(),
    };
    let words: Vec<&str> = names
        .iter()
        .filter(|name| name.as_str() != "null")
        .map(|name| match name.as_str() {
            "boolean" => "a boolean (true or false)",
            "object" => "a mapping",
            "array" => "a list",
            "string" => "a string",
            "integer" | "number" => "a number",
            _ => "a value of another type",
        })
        .collect();
    words.join(" or ")
}

fn translate(
    file: &str,
    root: &Node,
    document: &Value,
    pointer: &str,
    kind: &ValidationErrorKind,
    fallback: String,
) -> Vec<Diagnostic> {
    let node = root.pointer(pointer).unwrap_or(root);
    let at = |message: String| Diagnostic::error(file, node.start.line, node.start.column, message);
    let value = document.pointer(pointer);
    let last = pointer.rsplit('/').next().unwrap_or_default();
    let one = |d: Diagnostic| vec![d];
    match kind {
        ValidationErrorKind::AdditionalProperties { unexpected } => unexpected
            .iter()
            .map(|key| {
                let (key_node, _) = node.entry(key).unwrap_or((node, node));
                let allowed = allowed_keys(pointer);
                let hint = if key == "exceptions" && allowed.contains(&"must_be_compliant") {
                    "attestation rules have no exceptions; use `if: ${{ … }}` to say when the rule applies"
                        .to_owned()
                } else if let Some(suggestion) = closest(key, allowed) {
                    format!("did you mean `{suggestion}`?")
                } else {
                    format!("the keys allowed here are: {}", allowed.join(", "))
                };
                Diagnostic::error(
                    file,
                    key_node.start.line,
                    key_node.start.column,
                    format!("unknown key `{key}` in {}", describe(pointer)),
                )
                .with_width(key.chars().count())
                .with_hint(hint)
            })
            .collect(),
        ValidationErrorKind::Required { property } => {
            let property = property.as_str().unwrap_or_default();
            let hint = match property {
                "_schema" => format!("add `_schema: {SCHEMA_URL_V1}` as the first line"),
                "type" => format!(
                    "every attestation rule needs a type: {}, or custom:<name>",
                    ATTESTATION_TYPES.join(", ")
                ),
                "if" => "each exception is `- if: ${{ <expression> }}`".to_owned(),
                _ => format!("add `{property}`"),
            };
            one(at(format!("missing required key `{property}` in {}", describe(pointer))).with_hint(hint))
        }
        ValidationErrorKind::Type { kind } if last == "if" => one(at(format!(
            "{} must be an expression string, found {}",
            describe(pointer),
            json_type_name(value)
        ))
        .with_hint("write if: ${{ <expression> }}")),
        ValidationErrorKind::Type { kind } => {
            let hint = if pointer.is_empty() {
                format!("a policy is a mapping that starts with `_schema: {SCHEMA_URL_V1}`")
            } else {
                format!("write {} here", expected_type(kind))
            };
            one(at(format!(
                "{} must be {}, found {}",
                describe(pointer),
                expected_type(kind),
                json_type_name(value)
            ))
            .with_hint(hint))
        }
        ValidationErrorKind::Pattern { .. } if pointer == "/_schema" => {
            let text = value.and_then(Value::as_str).unwrap_or_default();
            let version = text.trim_end_matches('/').rsplit('/').next().unwrap_or_default();
            one(at(format!("unsupported policy schema `{text}`: the last path segment is `{version}`, verdict reads environment policy v1"))
                .with_width(text.chars().count())
                .with_hint(format!("write `_schema: {SCHEMA_URL_V1}`")))
        }
        ValidationErrorKind::Pattern { .. } if last == "if" => {
            let text = value.and_then(Value::as_str).unwrap_or_default();
            one(at(format!("{} must be wrapped in ${{{{ … }}}}, found {text:?}", describe(pointer)))
                .with_width(text.chars().count())
                .with_hint(format!("write if: ${{{{ {} }}}}", text.trim())))
        }
        ValidationErrorKind::AnyOf { .. } if last == "type" => {
            let text = match value {
                Some(Value::String(s)) => s.clone(),
                other => json_type_name(other),
            };
            let mut hint = format!("use one of {}, or custom:<name>", ATTESTATION_TYPES.join(", "));
            if let Some(suggestion) = closest(&text, &ATTESTATION_TYPES) {
                hint = format!("did you mean `{suggestion}`? ({hint})");
            }
            one(at(format!("unknown attestation type `{text}` in {}", describe(pointer)))
                .with_width(text.chars().count())
                .with_hint(hint))
        }
        ValidationErrorKind::Constant { .. } if last == "type" => {
            let rule = pointer.trim_end_matches("/type");
            let (key_node, _) =
                root.pointer(rule).and_then(|r| r.entry("for_control")).unwrap_or((node, node));
            one(Diagnostic::error(
                file,
                key_node.start.line,
                key_node.start.column,
                format!("`for_control` in {} is only allowed with `type: decision`", describe(rule)),
            )
            .with_width("for_control".len())
            .with_hint("set `type: decision`, or remove `for_control`"))
        }
        ValidationErrorKind::Not { .. } => {
            let type_node = node.pointer("/type").unwrap_or(node);
            one(Diagnostic::error(
                file,
                type_node.start.line,
                type_node.start.column,
                format!(
                    "the attestation rule {} matches any attestation: both `name` and `type` are `*`",
                    describe(pointer)
                ),
            )
            .with_hint("give the rule a specific name (name: security-scan) or a specific type"))
        }
        ValidationErrorKind::MinLength { .. } => one(at(format!("{} must not be empty", describe(pointer)))
            .with_hint("write a value, or remove the key")),
        _ => one(at(format!("{} is invalid: {fallback}", describe(pointer)))),
    }
}
