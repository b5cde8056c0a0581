//! `rego.metadata.chain()` and `rego.metadata.rule()`: the METADATA annotations (OPA's YAML comment
//! blocks before a `package` or a rule) that apply where the call is. They depend only on where the call
//! is written, so each call is replaced by its value when the modules are loaded — which needs every
//! module of a package at hand, since a package's annotations may sit in another file.

use std::collections::BTreeMap;

use regorus::unstable::{Expr, Module, Rule};
use serde_json::{Map, Value as Json, json};

use crate::ast::{Visitor, apply_edits, call_name, position, rule_name, walk_rule};

/// Every METADATA block of `source`, keyed by the line of the statement it precedes. YAML that does not
/// parse is an error naming the block's line: an annotation silently dropped could change a decision.
fn blocks(file: &str, source: &str) -> anyhow::Result<Vec<(usize, Map<String, Json>)>> {
    let lines: Vec<&str> = source.lines().collect();
    let mut found = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        let comment = |line: &str| line.trim_start().strip_prefix('#').map(str::to_owned);
        if comment(lines[index]).is_some_and(|text| text.trim() == "METADATA") {
            let start = index + 1;
            let mut yaml = String::new();
            index += 1;
            while let Some(text) = lines.get(index).and_then(|line| comment(line)) {
                yaml.push_str(text.strip_prefix(' ').unwrap_or(&text));
                yaml.push('\n');
                index += 1;
            }
            let located = |message: String| {
                let text = lines.get(start - 1).copied().unwrap_or_default();
                anyhow::anyhow!("\n--> {file}:{start}:1\n  |\n{start} | {text}\n  | ^\nerror: {message}")
            };
            let parsed = regorus::Value::from_yaml_str(&yaml)
                .map_err(|err| located(format!("invalid METADATA YAML: {err}")))?;
            let json: Json = serde_json::from_str(&parsed.to_json_str().unwrap_or_else(|_| "null".into()))?;
            let map = match json {
                Json::Object(map) => map,
                Json::Null => Map::new(),
                _ => return Err(located("METADATA must be a YAML mapping".to_owned())),
            };
            found.push((index + 1, map));
        } else {
            index += 1;
        }
    }
    Ok(found)
}

/// OPA's normal form: authors and related resources as objects, `scope` always present.
fn normalise(mut map: Map<String, Json>, default_scope: &str) -> Map<String, Json> {
    if let Some(Json::Array(authors)) = map.get_mut("authors") {
        for author in authors.iter_mut() {
            if let Json::String(text) = author {
                let text = text.trim().to_owned();
                *author = match text.rsplit_once('<') {
                    Some((name, email)) if text.ends_with('>') => {
                        let mut object = Map::new();
                        if !name.trim().is_empty() {
                            object.insert("name".into(), json!(name.trim()));
                        }
                        object.insert("email".into(), json!(email.trim_end_matches('>').trim()));
                        Json::Object(object)
                    }
                    _ => json!({ "name": text }),
                };
            }
        }
    }
    if let Some(Json::Array(resources)) = map.get_mut("related_resources") {
        for resource in resources.iter_mut() {
            if let Json::String(text) = resource {
                *resource = json!({ "ref": text });
            }
        }
    }
    map.entry("scope").or_insert_with(|| json!(default_scope));
    map
}

/// The annotations of one module: its package's, and each rule definition's by its start line.
#[derive(Debug, Default)]
pub struct ModuleAnnotations {
    package: Vec<String>,
    package_annotations: Vec<Map<String, Json>>,
    rules: BTreeMap<usize, (Vec<String>, Map<String, Json>)>,
}

fn path_of(dotted: &str) -> Vec<String> {
    let plain = dotted.split('[').next().unwrap_or_default();
    plain.split('.').filter(|segment| !segment.is_empty()).map(str::to_owned).collect()
}

/// The package path of `module` without `data`.
fn package_path(module: &Module) -> Vec<String> {
    let text = call_name(&module.package.refr);
    let mut path = path_of(&text);
    if path.first().is_some_and(|first| first == "data") {
        path.remove(0);
    }
    path
}

fn rule_line(rule: &Rule) -> usize {
    position(rule.span()).0 as usize
}

/// Reads the annotations of a parsed module from its source.
pub fn annotations(file: &str, source: &str, module: &Module) -> anyhow::Result<ModuleAnnotations> {
    let package = package_path(module);
    let package_line = position(&module.package.span).0 as usize;
    let mut result = ModuleAnnotations { package: package.clone(), ..Default::default() };
    let rule_lines: BTreeMap<usize, Vec<String>> = module
        .policy
        .iter()
        .map(|rule| {
            let mut path = package.clone();
            path.extend(path_of(&rule_name(rule)));
            (rule_line(rule), path)
        })
        .collect();
    for (line, map) in blocks(file, source)? {
        if line == package_line {
            result.package_annotations.push(normalise(map, "package"));
        } else if let Some(path) = rule_lines.get(&line) {
            result.rules.insert(line, (path.clone(), normalise(map, "rule")));
        }
    }
    Ok(result)
}

struct MetadataCalls {
    calls: Vec<(usize, usize, &'static str)>,
}

impl Visitor for MetadataCalls {
    fn expression(&mut self, expression: &Expr) {
        let Expr::Call { span, fcn, params, .. } = expression else { return };
        if !params.is_empty() {
            return;
        }
        let kind = match call_name(fcn).as_str() {
            "rego.metadata.chain" => "chain",
            "rego.metadata.rule" => "rule",
            _ => return,
        };
        self.calls.push((span.start as usize, span.end as usize, kind));
    }
}

fn with_scope<'a>(map: &'a Map<String, Json>, scope: &str) -> Option<&'a Map<String, Json>> {
    (map.get("scope").and_then(Json::as_str) == Some(scope)).then_some(map)
}

fn entry(path: &[String], annotations: Option<&Map<String, Json>>) -> Json {
    let mut object = Map::new();
    object.insert("path".into(), json!(path));
    if let Some(annotations) = annotations {
        object.insert("annotations".into(), Json::Object(annotations.clone()));
    }
    Json::Object(object)
}

/// `source` with every `rego.metadata.chain()` / `rego.metadata.rule()` call replaced by its value;
/// `all` holds the annotations of every module loaded together (this one included).
pub fn rewrite(
    source: &str,
    module: &Module,
    own: &ModuleAnnotations,
    all: &[ModuleAnnotations],
) -> Option<String> {
    let mut edits = Vec::new();
    for rule in &module.policy {
        let mut calls = MetadataCalls { calls: Vec::new() };
        walk_rule(rule, &mut calls);
        if calls.calls.is_empty() {
            continue;
        }
        let mut path = own.package.clone();
        path.extend(path_of(&rule_name(rule)));
        let own_annotations = own.rules.get(&rule_line(rule)).map(|(_, map)| map);
        let mut chain = vec![entry(&path, own_annotations.and_then(|map| with_scope(map, "rule")))];
        for module in all {
            for (rule_path, map) in module.rules.values() {
                if *rule_path == path
                    && let Some(document) = with_scope(map, "document")
                {
                    chain.push(entry(&path, Some(document)));
                }
            }
        }
        for depth in (0..=own.package.len()).rev() {
            let prefix = &own.package[..depth];
            for module in all.iter().filter(|module| module.package == prefix) {
                for map in &module.package_annotations {
                    let scoped = if depth == own.package.len() {
                        with_scope(map, "package").or_else(|| with_scope(map, "subpackages"))
                    } else {
                        with_scope(map, "subpackages")
                    };
                    if let Some(map) = scoped {
                        chain.push(entry(prefix, Some(map)));
                    }
                }
            }
        }
        let rule_value = own_annotations.map_or_else(|| json!({}), |map| Json::Object(map.clone()));
        for (start, end, kind) in calls.calls {
            let value = if kind == "chain" { Json::Array(chain.clone()) } else { rule_value.clone() };
            edits.push((start, end, value.to_string()));
        }
    }
    if edits.is_empty() {
        return None;
    }
    let text = apply_edits(source, edits);
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_attach_to_the_next_line_and_normalise() {
        let source = "# METADATA\n# title: T\n# authors:\n# - Jane Doe <jane@example.com>\n# - Bob\n# related_resources:\n# - https://example.com\npackage p\n";
        let found = blocks("x.rego", source).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, 8);
        let map = normalise(found[0].1.clone(), "package");
        assert_eq!(
            Json::Object(map),
            json!({"title": "T", "scope": "package",
                   "authors": [{"name": "Jane Doe", "email": "jane@example.com"}, {"name": "Bob"}],
                   "related_resources": [{"ref": "https://example.com"}]})
        );
    }

    #[test]
    fn bad_yaml_is_an_error_with_its_line() {
        let err = blocks("x.rego", "package p\n\n# METADATA\n# title: [unclosed\np := 1\n").unwrap_err();
        let parsed = crate::error::EngineMessage::parse(&err.to_string());
        assert_eq!(parsed.location.map(|l| (l.line, l.column)), Some((3, 1)), "{err}");
        assert!(parsed.message.starts_with("invalid METADATA YAML"), "{err}");
    }
}
