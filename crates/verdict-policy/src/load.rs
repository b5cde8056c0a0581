//! Loading a policy file: YAML → schema validation → typed policy with parsed expressions.
//!
//! Loading reports every problem it can find in one pass, each with file, line, column and a hint, so a
//! user fixes a policy in one edit instead of one error per run.

use std::sync::Arc;

use serde_json::Value;
use verdict_core::RuleDescriptor;

use crate::diagnostic::Diagnostic;
use crate::expr::{self, ParseError};
use crate::model::{AttestationRule, Condition, Policy, RequiredRule};
use crate::schema::{self, SCHEMA_URL_V1};
use crate::yaml::{self, Node};

/// Largest policy file accepted; real policies are a few hundred bytes.
pub const MAX_POLICY_BYTES: usize = 1 << 20;

/// A policy that loaded, with any warnings about it.
#[derive(Debug, Clone)]
pub struct LoadedPolicy {
    /// The policy.
    pub policy: Policy,
    /// Things that are valid but probably not what the author meant.
    pub warnings: Vec<Diagnostic>,
}

/// Loads the policy named `name` from `source`; `file` is how diagnostics name the file.
pub fn load_policy(file: &str, name: &str, source: &str) -> Result<LoadedPolicy, Vec<Diagnostic>> {
    if source.len() > MAX_POLICY_BYTES {
        return Err(vec![Diagnostic::error(
            file,
            1,
            1,
            format!("the policy file is {} bytes; the limit is {MAX_POLICY_BYTES}", source.len()),
        )]);
    }
    let root = match yaml::parse(source) {
        Ok(Some(root)) => root,
        Ok(None) => {
            return Err(vec![
                Diagnostic::error(file, 1, 1, "the policy file is empty")
                    .with_hint(format!("a policy starts with `_schema: {SCHEMA_URL_V1}`")),
            ]);
        }
        Err(err) => {
            let (message, hint) = if err.message.contains("duplicate") {
                (
                    "duplicate key in mapping".to_owned(),
                    Some("each key may appear once per mapping: merge the two"),
                )
            } else {
                (format!("invalid YAML: {}", err.message), Some(yaml_hint(&err.message)))
            };
            let mut diagnostic = Diagnostic::error(file, err.position.line, err.position.column, message);
            if let Some(hint) = hint {
                diagnostic = diagnostic.with_hint(hint);
            }
            return Err(vec![diagnostic]);
        }
    };
    let document = root.to_json();
    // Every error at once: the expressions are parsed even when the schema found problems, so a user
    // fixes a bad key and a bad expression in one edit. The builder reads only well-typed values, so a
    // schema error does not turn into a second, confusing one; two reports at one spot keep the first.
    let mut errors = schema::validate(file, &root, &document);
    let mut builder = Builder { file, source, root: &root, errors: Vec::new() };
    let policy = builder.policy(name, &document);
    for error in builder.errors {
        if !errors.iter().any(|e| (e.line, e.column) == (error.line, error.column)) {
            errors.push(error);
        }
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| (e.line, e.column));
        return Err(errors);
    }
    let warnings = warnings(file, &root, &policy);
    Ok(LoadedPolicy { policy, warnings })
}

/// What to try for a YAML syntax error, by what the parser says: tabs and indentation are the usual
/// mistakes in hand-written policies, quoting the next.
fn yaml_hint(message: &str) -> &'static str {
    let message = message.to_ascii_lowercase();
    if message.contains("tab") {
        "indent with spaces: YAML does not allow tabs for indentation"
    } else if [
        "did not find expected key",
        "expected <block end>",
        "did not find expected '-'",
        "indentation",
    ]
    .iter()
    .any(|symptom| message.contains(symptom))
    {
        "check the indentation: the keys of one mapping (and the items of one list) must start in the same column"
    } else if ["mapping values are not allowed", "cannot start any token", "unexpected character"]
        .iter()
        .any(|symptom| message.contains(symptom))
    {
        "a value containing `: ` or ` #`, or starting with one of { [ * & ! | > ' \" % @, must be quoted"
    } else {
        "check the indentation and quoting at this position"
    }
}

struct Builder<'a> {
    file: &'a str,
    source: &'a str,
    root: &'a Node,
    errors: Vec<Diagnostic>,
}

impl Builder<'_> {
    fn policy(&mut self, name: &str, document: &Value) -> Policy {
        let artifacts = document.get("artifacts");
        let provenance = self.required_rule(artifacts, "provenance");
        let trail_compliance = self.required_rule(artifacts, "trail-compliance");
        let rules = artifacts.and_then(|a| a.get("attestations")).and_then(Value::as_array);
        let attestations = rules
            .into_iter()
            .flatten()
            .enumerate()
            .map(|(index, rule)| self.attestation_rule(index, rule))
            .collect();
        Policy { name: name.to_owned(), provenance, trail_compliance, attestations }
    }

    fn required_rule(&mut self, artifacts: Option<&Value>, key: &str) -> Option<RequiredRule> {
        let rule = artifacts?.as_object()?.get(key)?;
        let required = rule.get("required").and_then(Value::as_bool).unwrap_or(false);
        let exceptions = rule
            .get("exceptions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
            .filter_map(|(index, exception)| {
                let text = exception.get("if").and_then(Value::as_str)?;
                self.condition(&format!("/artifacts/{key}/exceptions/{index}/if"), text)
            })
            .collect();
        let exceptions: Vec<Condition> = exceptions;
        let sources = exceptions.iter().map(|c| c.source.clone()).collect();
        let descriptor = Arc::new(match key {
            "provenance" => RuleDescriptor::Provenance { required, exceptions: sources },
            _ => RuleDescriptor::TrailCompliance { required, exceptions: sources },
        });
        Some(RequiredRule { required, exceptions, descriptor })
    }

    fn attestation_rule(&mut self, index: usize, rule: &Value) -> AttestationRule {
        let text = |key: &str| rule.get(key).and_then(Value::as_str).map(str::to_owned);
        let condition = text("if")
            .and_then(|source| self.condition(&format!("/artifacts/attestations/{index}/if"), &source));
        let attestation_type = text("type").unwrap_or_else(|| "*".to_owned());
        let name = text("name").unwrap_or_else(|| "*".to_owned());
        let must_be_compliant = rule.get("must_be_compliant").and_then(Value::as_bool).unwrap_or(true);
        let for_control = text("for_control");
        let descriptor = Arc::new(RuleDescriptor::Attestation {
            attestation_type: attestation_type.clone(),
            name: name.clone(),
            condition: condition.as_ref().map(|c: &Condition| c.source.clone()),
            must_be_compliant,
            for_control: for_control.clone(),
        });
        AttestationRule { attestation_type, name, condition, must_be_compliant, for_control, descriptor }
    }

    /// Parses a `${{ … }}` value; on failure records a diagnostic pointing inside the expression.
    fn condition(&mut self, pointer: &str, text: &str) -> Option<Condition> {
        let leading = text.len() - text.trim_start().len();
        let trimmed = text.trim();
        let inner = trimmed.strip_prefix("${{").and_then(|rest| rest.strip_suffix("}}"));
        let Some(inner) = inner else {
            // The schema pattern already guarantees the wrapping; keep this path an error all the same.
            let node = self.root.pointer(pointer).unwrap_or(self.root);
            self.errors.push(Diagnostic::error(
                self.file,
                node.start.line,
                node.start.column,
                "expected ${{ … }}",
            ));
            return None;
        };
        match expr::parse(inner) {
            Ok(expr) => Some(Condition { source: trimmed.to_owned(), expr }),
            Err(err) => {
                self.errors.push(self.expression_error(pointer, text, leading + 3, inner, &err));
                None
            }
        }
    }

    fn expression_error(
        &self,
        pointer: &str,
        value: &str,
        inner_offset: usize,
        inner: &str,
        err: &ParseError,
    ) -> Diagnostic {
        let node = self.root.pointer(pointer).unwrap_or(self.root);
        let (line, column) = locate(self.source, node, value, inner_offset + err.span.start);
        let start = err.span.start.min(inner.len());
        let end = err.span.end.clamp(start, inner.len());
        let width = inner.get(start..end).map_or(1, |s| s.chars().count());
        let mut diagnostic =
            Diagnostic::error(self.file, line, column, err.message.clone()).with_width(width);
        if let Some(hint) = &err.hint {
            diagnostic = diagnostic.with_hint(hint.clone());
        }
        diagnostic
    }
}

/// Maps a byte offset inside a scalar's value to a line and column in the source. The scalar's source
/// text is searched for the `${{` that opens the expression, and characters after it are assumed to map
/// one to one (true for plain and quoted scalars without escapes; otherwise the position is approximate
/// but stays inside the scalar).
fn locate(source: &str, node: &Node, value: &str, offset: usize) -> (usize, usize) {
    let start_byte = source.char_indices().nth(node.start.index).map_or(source.len(), |(i, _)| i);
    let end_byte = source.char_indices().nth(node.end.index).map_or(source.len(), |(i, _)| i);
    let raw = source.get(start_byte..end_byte.max(start_byte)).unwrap_or_default();
    let (Some(raw_open), Some(value_open)) = (raw.find("${{"), value.find("${{")) else {
        return (node.start.line, node.start.column);
    };
    let mut target = raw_open + offset.saturating_sub(value_open);
    target = target.min(raw.len());
    while !raw.is_char_boundary(target) {
        target -= 1;
    }
    let before = &raw[..target];
    match before.rfind('\n') {
        Some(newline) => {
            let line = node.start.line + before.matches('\n').count();
            (line, before[newline + 1..].chars().count() + 1)
        }
        None => (node.start.line, node.start.column + before.chars().count()),
    }
}

fn warnings(file: &str, root: &Node, policy: &Policy) -> Vec<Diagnostic> {
    let provenance_required = policy.provenance.as_ref().is_some_and(|rule| rule.required);
    let trail_required = policy.trail_compliance.as_ref().is_some_and(|rule| rule.required);
    let mut warnings = Vec::new();
    if !provenance_required && (trail_required || !policy.attestations.is_empty()) {
        let (key, _) = root.entry("artifacts").unwrap_or((root, root));
        warnings.push(
            Diagnostic::warning(
                file,
                key.start.line,
                key.start.column,
                "this policy has attestation or trail-compliance rules but does not require provenance: an artifact with no evidence at all passes them",
            )
            .with_width("artifacts".len())
            .with_hint("add `provenance: {required: true}` under `artifacts` to deny unknown artifacts"),
        );
    }
    warnings
}
