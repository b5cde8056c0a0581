//! Loading an image policy: YAML with positions → JSON Schema → typed rules, reporting every problem
//! with file, line and column in one pass.

use std::sync::OnceLock;

use jsonschema::error::ValidationErrorKind;
use serde_json::Value;
use verdict_policy::diagnostic::Diagnostic;
use verdict_policy::schema::{SchemaWording, describe, diagnose};
use verdict_policy::yaml::{self, Node};
use verdict_rego::RegoPolicy;
use verdict_sigstore::Matcher;

use crate::model::{
    AttestationRequirement, Attestor, Attestors, CelValidation, CelValidations, ImagePolicy, ImageRule,
    NoMatch, PolicyMode,
};
use crate::reference::ImageGlob;

/// The schema text (also in `docs/` for editors).
pub const IMAGE_POLICY_V1_SCHEMA: &str = include_str!("../schemas/image-policy-v1.schema.json");

/// Largest policy file accepted.
pub const MAX_IMAGE_POLICY_BYTES: usize = 1 << 20;

fn validator() -> Result<&'static jsonschema::Validator, String> {
    static VALIDATOR: OnceLock<Result<jsonschema::Validator, String>> = OnceLock::new();
    VALIDATOR
        .get_or_init(|| {
            let schema: Value = serde_json::from_str(IMAGE_POLICY_V1_SCHEMA).map_err(|e| e.to_string())?;
            jsonschema::draft202012::new(&schema).map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// The keys allowed at a location, for "did you mean" hints.
fn allowed_keys(pointer: &str) -> &'static [&'static str] {
    let segments: Vec<&str> = pointer.split('/').skip(1).collect();
    match segments.as_slice() {
        [] => &["apiVersion", "kind", "noMatch", "mode", "rules"],
        ["rules", _] => &["name", "images", "requireDigest", "attestors", "attestations", "validations"],
        ["rules", _, "validations", _] => &["expression", "message"],
        [.., "attestors"] => &["count", "entries"],
        [.., "entries", _] => &["name", "keyless", "key"],
        [.., "keyless"] => &["issuer", "issuerRegExp", "subject", "subjectRegExp"],
        [.., "key"] => &["publicKey", "ignoreTlog"],
        ["rules", _, "attestations", _] => &["name", "predicateType", "attestors", "policy"],
        _ => &[],
    }
}

fn required_hint(property: &str) -> String {
    match property {
        "apiVersion" => "start the file with `apiVersion: verdict.dev/v1` and `kind: ImagePolicy`".to_owned(),
        "kind" => "add `kind: ImagePolicy`".to_owned(),
        _ => format!("add `{property}`"),
    }
}

fn special(kind: &ValidationErrorKind, pointer: &str) -> Option<(String, String)> {
    match kind {
        ValidationErrorKind::MinProperties { .. } | ValidationErrorKind::MaxProperties { .. } => Some((
            format!("{} must name exactly one of `keyless` or `key`", describe(pointer)),
            "write one attestor per list entry: `- keyless: {…}` or `- key: {publicKey: …}`".to_owned(),
        )),
        _ => None,
    }
}

fn schema_diagnostics(file: &str, root: &Node, document: &Value) -> Vec<Diagnostic> {
    match validator() {
        Ok(validator) => {
            let wording = SchemaWording { allowed_keys, required_hint, special };
            diagnose(validator, file, root, document, &wording)
        }
        Err(err) => vec![Diagnostic::error(file, 1, 1, format!("internal error: embedded schema: {err}"))],
    }
}

/// Loads an image policy from `source`; `file` is how diagnostics name it. Every problem found is
/// returned, each with its line and column.
pub fn load_image_policy(file: &str, source: &str) -> Result<ImagePolicy, Vec<Diagnostic>> {
    if source.len() > MAX_IMAGE_POLICY_BYTES {
        return Err(vec![Diagnostic::error(
            file,
            1,
            1,
            format!("the image policy is {} bytes; the limit is {MAX_IMAGE_POLICY_BYTES}", source.len()),
        )]);
    }
    let root = match yaml::parse(source) {
        Ok(Some(root)) => root,
        Ok(None) => {
            return Err(vec![
                Diagnostic::error(file, 1, 1, "the image policy is empty")
                    .with_hint("start with `apiVersion: verdict.dev/v1` and `kind: ImagePolicy`"),
            ]);
        }
        Err(err) => {
            return Err(vec![Diagnostic::error(
                file,
                err.position.line,
                err.position.column,
                format!("invalid YAML: {}", err.message),
            )]);
        }
    };
    if root.pointer("/kind").map(Node::to_json).as_ref().and_then(Value::as_str) != Some("ImagePolicy")
        && let Some(translated) = crate::formats::translate(file, &root)
    {
        return load_image_policy_node(file, &translated?);
    }
    load_image_policy_node(file, &root)
}

/// Loads a verdict ImagePolicy from its YAML tree (positions point into the file `file`).
pub(crate) fn load_image_policy_node(file: &str, root: &Node) -> Result<ImagePolicy, Vec<Diagnostic>> {
    let document = root.to_json();
    let diagnostics = schema_diagnostics(file, root, &document);
    if !diagnostics.is_empty() {
        return Err(diagnostics);
    }
    let mut builder = Builder { file, root, diagnostics: Vec::new() };
    let policy = builder.policy(&document);
    if builder.diagnostics.is_empty() { Ok(policy) } else { Err(builder.diagnostics) }
}

/// Turns a schema-valid document into the typed policy, collecting what the schema cannot check.
struct Builder<'a> {
    file: &'a str,
    root: &'a Node,
    diagnostics: Vec<Diagnostic>,
}

impl Builder<'_> {
    fn error(&mut self, pointer: &str, message: String, hint: Option<&str>) {
        let node = self.root.pointer(pointer).unwrap_or(self.root);
        let mut diagnostic = Diagnostic::error(self.file, node.start.line, node.start.column, message);
        if let Some(hint) = hint {
            diagnostic = diagnostic.with_hint(hint);
        }
        self.diagnostics.push(diagnostic);
    }

    fn policy(&mut self, document: &Value) -> ImagePolicy {
        let no_match = match document.get("noMatch").and_then(Value::as_str) {
            Some("allow") => NoMatch::Allow,
            _ => NoMatch::Deny,
        };
        let rules = document["rules"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
            .map(|(index, rule)| self.rule(&format!("/rules/{index}"), rule))
            .collect();
        let mode = match document.get("mode").and_then(Value::as_str) {
            Some("audit") => Some(PolicyMode::Audit),
            Some("warn") => Some(PolicyMode::Warn),
            Some("enforce") => Some(PolicyMode::Enforce),
            _ => None,
        };
        ImagePolicy { no_match, mode, rules }
    }

    fn rule(&mut self, at: &str, rule: &Value) -> ImageRule {
        let name = rule["name"].as_str().unwrap_or_default().to_owned();
        let mut images = Vec::new();
        for (index, pattern) in rule["images"].as_array().into_iter().flatten().enumerate() {
            match ImageGlob::new(pattern.as_str().unwrap_or_default()) {
                Ok(glob) => images.push(glob),
                Err(message) => self.error(
                    &format!("{at}/images/{index}"),
                    message,
                    Some("write registry/path, with * or ** wildcards"),
                ),
            }
        }
        let attestors = rule.get("attestors").map(|value| self.attestors(&format!("{at}/attestors"), value));
        let mut attestations = Vec::new();
        for (index, requirement) in
            rule.get("attestations").and_then(Value::as_array).into_iter().flatten().enumerate()
        {
            let pointer = format!("{at}/attestations/{index}");
            let own = requirement
                .get("attestors")
                .map(|value| self.attestors(&format!("{pointer}/attestors"), value));
            let Some(signers) = own.or_else(|| attestors.clone()) else {
                self.error(
                    &pointer,
                    format!(
                        "the attestation {} has no attestors: nobody could be trusted to have signed it",
                        describe(&pointer)
                    ),
                    Some("give the attestation `attestors`, or give the rule `attestors` for it to inherit"),
                );
                continue;
            };
            let predicate_type = requirement["predicateType"].as_str().unwrap_or_default().to_owned();
            let policy = requirement.get("policy").and_then(Value::as_str).and_then(|source| {
                match RegoPolicy::load(&format!("{}#{pointer}/policy", self.file), source) {
                    Ok(policy) => Some(policy),
                    Err(err) => {
                        self.error(&format!("{pointer}/policy"), format!("the predicate policy does not load: {err}"), Some("a predicate policy is Rego with `package policy` and an `allow` rule; `input.predicate` is the predicate"));
                        None
                    }
                }
            });
            attestations.push(AttestationRequirement {
                name: requirement.get("name").and_then(Value::as_str).unwrap_or(&predicate_type).to_owned(),
                predicate_type,
                attestors: signers,
                policy,
            });
        }
        let validations = rule
            .get("validations")
            .map(|list| self.validations(at, rule, list, (attestors.as_ref(), &attestations)));
        if attestors.is_none() && attestations.is_empty() && validations.is_none() {
            self.error(
                at,
                format!(
                    "the rule {name:?} requires neither signatures nor attestations: it would verify nothing"
                ),
                Some("add `attestors` (who must sign the image) and/or `attestations`"),
            );
        }
        ImageRule {
            name,
            images,
            require_digest: rule.get("requireDigest").and_then(Value::as_bool).unwrap_or(false),
            attestors,
            attestations,
            validations,
        }
    }

    /// A rule's CEL `validations`, compiled, with the attestors and attestations they may name (the
    /// rule's and its attestations' attestors that have a `name`).
    fn validations(
        &mut self,
        at: &str,
        rule: &Value,
        list: &Value,
        (built_attestors, built_attestations): (Option<&Attestors>, &[AttestationRequirement]),
    ) -> CelValidations {
        let mut attestors: Vec<(String, Vec<Attestor>)> = Vec::new();
        let mut sets: Vec<(String, &Value, Option<&Attestors>)> = Vec::new();
        if let Some(entries) = rule.pointer("/attestors/entries") {
            sets.push((format!("{at}/attestors/entries"), entries, built_attestors));
        }
        for (index, requirement) in
            rule.get("attestations").and_then(Value::as_array).into_iter().flatten().enumerate()
        {
            if let Some(entries) = requirement.pointer("/attestors/entries") {
                let built = built_attestations.get(index).map(|r| &r.attestors);
                sets.push((format!("{at}/attestations/{index}/attestors/entries"), entries, built));
            }
        }
        for (_, entries, built) in sets {
            let entries = entries.as_array().map(Vec::as_slice).unwrap_or_default();
            // An attestor that did not load was reported already; names are paired only when all did.
            let Some(built) = built.filter(|b| b.entries.len() == entries.len()) else { continue };
            for (entry, attestor) in entries.iter().zip(&built.entries) {
                let Some(name) = entry.get("name").and_then(Value::as_str) else { continue };
                match attestors.iter_mut().find(|(n, _)| n == name) {
                    Some((_, same)) => same.push(attestor.clone()),
                    None => attestors.push((name.to_owned(), vec![attestor.clone()])),
                }
            }
        }
        let attestations: Vec<(String, String)> =
            built_attestations.iter().map(|r| (r.name.clone(), r.predicate_type.clone())).collect();
        let mut expressions = Vec::new();
        for (index, validation) in list.as_array().into_iter().flatten().enumerate() {
            let source = validation["expression"].as_str().unwrap_or_default();
            match verdict_kyverno::cel::compile(source) {
                Ok(expression) => expressions.push(CelValidation {
                    expression: std::sync::Arc::new(expression),
                    message: validation.get("message").and_then(Value::as_str).map(str::to_owned),
                }),
                Err(err) => self.error(
                    &format!("{at}/validations/{index}/expression"),
                    format!("the CEL expression does not compile: {err}"),
                    Some("a validation is a CEL expression that yields a bool, e.g. images.containers.map(i, verifyImageSignatures(i, [attestors.release])).all(n, n > 0)"),
                ),
            }
        }
        CelValidations { attestors, attestations, expressions }
    }

    fn attestors(&mut self, at: &str, value: &Value) -> Attestors {
        let entries: Vec<Attestor> = value["entries"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
            .filter_map(|(index, entry)| self.attestor(&format!("{at}/entries/{index}"), entry))
            .collect();
        let count = value
            .get("count")
            .and_then(Value::as_u64)
            .map_or(1, |n| usize::try_from(n).unwrap_or(usize::MAX));
        let listed = value["entries"].as_array().map_or(0, Vec::len);
        if count > listed {
            self.error(
                &format!("{at}/count"),
                format!("count is {count} but only {listed} attestors are listed: it can never be satisfied"),
                Some("lower `count` or list more attestors"),
            );
        }
        Attestors { count, entries }
    }

    fn attestor(&mut self, at: &str, entry: &Value) -> Option<Attestor> {
        if entry.get("key").is_some() == entry.get("keyless").is_some() {
            self.error(
                at,
                format!("{} must name exactly one of `keyless` or `key`", describe(at)),
                Some("write one attestor per list entry: `- keyless: {…}` or `- key: {publicKey: …}`"),
            );
            return None;
        }
        if let Some(key) = entry.get("key") {
            let pem = key["publicKey"].as_str().unwrap_or_default().trim().to_owned();
            if !(pem.starts_with("-----BEGIN PUBLIC KEY-----") && pem.ends_with("-----END PUBLIC KEY-----")) {
                self.error(
                    &format!("{at}/key/publicKey"),
                    "publicKey must be a PEM public key (-----BEGIN PUBLIC KEY----- … -----END PUBLIC KEY-----)".to_owned(),
                    Some("paste the key with `publicKey: |` followed by its lines, indented"),
                );
                return None;
            }
            let ignore_tlog = key.get("ignoreTlog").and_then(Value::as_bool).unwrap_or(false);
            return Some(Attestor::Key { public_key: pem, ignore_tlog });
        }
        let keyless = &entry["keyless"];
        let issuer = self.matcher(&format!("{at}/keyless"), keyless, "issuer");
        let subject = self.matcher(&format!("{at}/keyless"), keyless, "subject");
        Some(Attestor::Keyless { issuer: issuer?, subject: subject? })
    }

    /// `issuer` / `issuerRegExp` (or subject): exactly one of the two.
    fn matcher(&mut self, at: &str, keyless: &Value, what: &str) -> Option<Matcher> {
        let regexp_key = format!("{what}RegExp");
        match (keyless.get(what).and_then(Value::as_str), keyless.get(&regexp_key).and_then(Value::as_str)) {
            (Some(exact), None) => Some(Matcher::Exact(exact.to_owned())),
            (None, Some(pattern)) => {
                let mut unanchored = false;
                match Matcher::regex(pattern, |_| unanchored = true) {
                    Ok(_) if unanchored => {
                        self.error(
                            &format!("{at}/{regexp_key}"),
                            format!("{regexp_key} {pattern:?} is not anchored: it matches any {what} that merely contains it"),
                            Some("anchor it: ^…$ (an image policy refuses unanchored identity patterns)"),
                        );
                        None
                    }
                    Ok(matcher) => Some(matcher),
                    Err(err) => {
                        self.error(&format!("{at}/{regexp_key}"), err.to_string(), None);
                        None
                    }
                }
            }
            (Some(_), Some(_)) => {
                self.error(at, format!("give `{what}` or `{regexp_key}`, not both"), None);
                None
            }
            (None, None) => {
                self.error(
                    at,
                    format!("a keyless attestor needs `{what}` (exact) or `{regexp_key}`"),
                    Some("both the certificate identity (subject) and its OIDC issuer must be pinned"),
                );
                None
            }
        }
    }
}
