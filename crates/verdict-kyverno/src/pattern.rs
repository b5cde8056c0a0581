//! Kyverno's validation patterns: the resource is overlaid with the pattern element by element. Maps
//! need every non-anchor key; arrays of maps need every element to match (elements a conditional anchor
//! rules out are skipped); scalars match with wildcards, operators (`>`, `<=`, `!`), alternatives
//! (`a | b`), conjunctions (`>1 & <5`), ranges (`1-5`, `1!-5`), quantities and durations. Anchors:
//! conditional `(k)`, global `<(k)`, equality `=(k)`, negation `X(k)`, existence `^(k)`. A conditional or
//! global anchor that does not hold makes the pattern not apply (skip), never pass.

use serde_json::{Map, Value};

use crate::quantity::{parse_duration, parse_quantity};
use crate::wildcard;

/// Why a resource does not match a pattern.
#[derive(Debug, Clone, PartialEq)]
pub enum Mismatch {
    /// The resource fails the pattern at `path`.
    Fail {
        /// Where (`/spec/containers/0/image/`).
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A conditional or global anchor did not hold: the pattern does not apply to this resource.
    Skip {
        /// Which anchors did not hold.
        message: String,
    },
}

/// Internal error kinds, mirroring how Kyverno tells skips from failures.
#[derive(Debug, Clone)]
enum Error {
    Fail(String, String),
    /// A conditional anchor's own error (direct, at this level).
    Conditional(String, String),
    /// A global anchor's own error.
    Global(String, String),
    /// Skips collected below this level (Kyverno's PatternError{Skip: true}).
    Skipped(String, String),
}

impl Error {
    fn is_skip(&self) -> bool {
        !matches!(self, Error::Fail(..))
    }

    fn message(&self) -> &str {
        match self {
            Error::Fail(_, m) | Error::Conditional(_, m) | Error::Global(_, m) | Error::Skipped(_, m) => m,
        }
    }

    fn path(&self) -> &str {
        match self {
            Error::Fail(p, _) | Error::Conditional(p, _) | Error::Global(p, _) | Error::Skipped(p, _) => p,
        }
    }
}

/// An anchor on a map key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Anchor {
    Condition,
    Global,
    Equality,
    Negation,
    Existence,
    Add,
}

/// The anchor and bare key of `key`, if it is anchored.
fn parse_anchor(key: &str) -> Option<(Anchor, &str)> {
    let (anchor, rest) = match key.as_bytes().first()? {
        b'(' => (Anchor::Condition, key),
        b'<' => (Anchor::Global, &key[1..]),
        b'=' => (Anchor::Equality, &key[1..]),
        b'X' => (Anchor::Negation, &key[1..]),
        b'^' => (Anchor::Existence, &key[1..]),
        b'+' => (Anchor::Add, &key[1..]),
        _ => return None,
    };
    let inner = rest.strip_prefix('(')?.strip_suffix(')')?;
    (!inner.is_empty()).then_some((anchor, inner))
}

/// Whether `pattern` has an anchored key anywhere inside.
fn has_nested_anchor(pattern: &Value) -> bool {
    match pattern {
        Value::Object(map) => map.iter().any(|(k, v)| parse_anchor(k).is_some() || has_nested_anchor(v)),
        Value::Array(items) => items.iter().any(has_nested_anchor),
        _ => false,
    }
}

/// Matches `resource` against `pattern` from the root.
pub fn match_pattern(resource: &Value, pattern: &Value) -> Result<(), Mismatch> {
    validate_element(Some(resource), pattern, "/").map_err(|error| {
        if error.is_skip() {
            Mismatch::Skip { message: error.message().to_owned() }
        } else {
            Mismatch::Fail { path: error.path().to_owned(), message: error.message().to_owned() }
        }
    })
}

fn describe(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "<nil>".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn validate_element(resource: Option<&Value>, pattern: &Value, path: &str) -> Result<(), Error> {
    match pattern {
        Value::Object(pattern_map) => match resource {
            Some(Value::Object(resource_map)) => validate_map(resource_map, pattern_map, path),
            _ => Err(Error::Fail(
                path.to_owned(),
                format!("pattern and resource have different structures at path {path}: expected a map"),
            )),
        },
        Value::Array(pattern_items) => match resource {
            Some(Value::Array(resource_items)) => validate_array(resource_items, pattern_items, path),
            _ => Err(Error::Fail(
                path.to_owned(),
                format!(
                    "validation rule failed at path {path}, resource does not satisfy the expected overlay pattern"
                ),
            )),
        },
        scalar => {
            let ok = match resource {
                Some(Value::Array(items)) => items.iter().all(|item| validate_value(Some(item), scalar)),
                other => validate_value(other, scalar),
            };
            if ok {
                Ok(())
            } else {
                Err(Error::Fail(
                    path.to_owned(),
                    format!(
                        "resource value '{}' does not match '{}' at path {path}",
                        describe(resource),
                        describe(Some(scalar))
                    ),
                ))
            }
        }
    }
}

/// The key of `map` that is `name`, bare or anchored (`=(annotations)`).
fn find_key<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a String> {
    map.keys().find(|k| k.as_str() == name || parse_anchor(k).is_some_and(|(_, bare)| bare == name))
}

/// Replaces wildcard keys of `metadata.labels` / `metadata.annotations` in the pattern (anchored or
/// not) with the resource keys they match (Kyverno's `ExpandInMetadata`).
fn expand_metadata_wildcards(
    pattern: &Map<String, Value>,
    resource: &Map<String, Value>,
) -> Option<Map<String, Value>> {
    let metadata_key = find_key(pattern, "metadata")?;
    let pattern_metadata = pattern.get(metadata_key)?.as_object()?;
    let resource_metadata = resource.get("metadata").and_then(Value::as_object);
    let mut expanded_metadata = pattern_metadata.clone();
    let mut changed = false;
    for field in ["labels", "annotations"] {
        let Some(field_key) = find_key(pattern_metadata, field) else { continue };
        let Some(pattern_field) = pattern_metadata.get(field_key).and_then(Value::as_object) else {
            continue;
        };
        let bare_key = |k: &str| parse_anchor(k).map_or(k.to_owned(), |(_, bare)| bare.to_owned());
        if !pattern_field.keys().any(|k| wildcard::has_wildcard(&bare_key(k))) {
            continue;
        }
        let resource_keys: Vec<&String> = resource_metadata
            .and_then(|m| m.get(field))
            .and_then(Value::as_object)
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        let mut replaced = Map::new();
        for (key, value) in pattern_field {
            let (prefix, bare, suffix) = match parse_anchor(key) {
                Some((_, bare)) => {
                    let start = key.len() - bare.len() - 1;
                    (&key[..start], bare, ")")
                }
                None => ("", key.as_str(), ""),
            };
            if !wildcard::has_wildcard(bare) {
                replaced.insert(key.clone(), value.clone());
                continue;
            }
            let matching: Vec<&&String> =
                resource_keys.iter().filter(|k| wildcard::matches(bare, k)).collect();
            if matching.is_empty() {
                replaced.insert(key.clone(), value.clone());
            }
            for resource_key in matching {
                replaced.insert(format!("{prefix}{resource_key}{suffix}"), value.clone());
            }
        }
        expanded_metadata.insert(field_key.clone(), Value::Object(replaced));
        changed = true;
    }
    if !changed {
        return None;
    }
    let mut expanded = pattern.clone();
    expanded.insert(metadata_key.clone(), Value::Object(expanded_metadata));
    Some(expanded)
}

fn validate_map(
    resource: &Map<String, Value>,
    pattern: &Map<String, Value>,
    path: &str,
) -> Result<(), Error> {
    let expanded = expand_metadata_wildcards(pattern, resource);
    let pattern = expanded.as_ref().unwrap_or(pattern);
    let mut anchors: Vec<(&String, Anchor, &str, &Value)> = Vec::new();
    let mut plain: Vec<(&String, &Value)> = Vec::new();
    for (key, value) in pattern {
        match parse_anchor(key) {
            Some((Anchor::Add, _)) | None => plain.push((key, value)),
            Some((anchor, bare)) => anchors.push((key, anchor, bare, value)),
        }
    }
    anchors.sort_by(|a, b| a.0.cmp(b.0));

    let mut skips: Vec<Error> = Vec::new();
    let mut applied = 0;
    for (_, anchor, bare, value) in &anchors {
        match handle_anchor(*anchor, bare, value, resource, path) {
            Ok(()) => applied += 1,
            Err(error) if error.is_skip() => skips.push(error),
            Err(error) => {
                // A direct conditional/global anchor sibling that did not hold overrides the failure.
                if !skips.iter().any(|s| !matches!(s, Error::Skipped(..))) {
                    return Err(error);
                }
            }
        }
    }
    if !skips.is_empty() {
        let direct = skips.iter().any(|s| !matches!(s, Error::Skipped(..)));
        if applied == 0 || direct {
            let message = skips.iter().map(Error::message).collect::<Vec<_>>().join("; ");
            return Err(Error::Skipped(path.to_owned(), message));
        }
    }

    // Keys whose patterns hold anchors first, so their skips win over plain failures.
    let (mut nested, mut flat): (Vec<_>, Vec<_>) = plain.into_iter().partition(|(_, v)| has_nested_anchor(v));
    nested.sort_by(|a, b| a.0.cmp(b.0));
    flat.sort_by(|a, b| a.0.cmp(b.0));
    for (key, value) in nested.into_iter().chain(flat) {
        let current = format!("{path}{key}/");
        let found = resource.get(key.as_str());
        if value.as_str() == Some("*") {
            if found.is_none_or(Value::is_null) {
                return Err(Error::Fail(path.to_owned(), format!("{path}/{key} not found")));
            }
            continue;
        }
        validate_element(found, value, &current)?;
    }
    Ok(())
}

fn handle_anchor(
    anchor: Anchor,
    key: &str,
    pattern: &Value,
    resource: &Map<String, Value>,
    path: &str,
) -> Result<(), Error> {
    let current = format!("{path}{key}/");
    let found = resource.get(key);
    match anchor {
        Anchor::Negation => match found {
            Some(_) => Err(Error::Fail(
                current.clone(),
                format!("negation anchor matched in resource: {current} is not allowed"),
            )),
            None => Ok(()),
        },
        Anchor::Equality => match found {
            Some(value) => validate_element(Some(value), pattern, &current),
            None => Ok(()),
        },
        Anchor::Condition => match found {
            Some(value) => validate_element(Some(value), pattern, &current).map_err(|e| {
                Error::Conditional(
                    e.path().to_owned(),
                    format!("conditional anchor mismatch: {}", e.message()),
                )
            }),
            None => Err(Error::Conditional(
                current,
                "conditional anchor mismatch: conditional anchor key doesn't exist in the resource"
                    .to_owned(),
            )),
        },
        Anchor::Global => match found {
            Some(value) => validate_element(Some(value), pattern, &current).map_err(|e| {
                Error::Global(e.path().to_owned(), format!("global anchor mismatch: {}", e.message()))
            }),
            None => Ok(()),
        },
        Anchor::Existence => match found {
            None => Ok(()),
            Some(Value::Array(items)) => {
                let Value::Array(patterns) = pattern else {
                    return Err(Error::Fail(
                        current,
                        "invalid pattern type: the existence anchor's pattern has to be a list".to_owned(),
                    ));
                };
                for element_pattern in patterns {
                    if !element_pattern.is_object() {
                        return Err(Error::Fail(
                            current,
                            "invalid pattern type: the existence anchor's list must hold maps".to_owned(),
                        ));
                    }
                    if !items
                        .iter()
                        .any(|item| validate_element(Some(item), element_pattern, &current).is_ok())
                    {
                        return Err(Error::Fail(
                            current.clone(),
                            format!("existence anchor validation failed at path {current}"),
                        ));
                    }
                }
                Ok(())
            }
            Some(_) => {
                Err(Error::Fail(current, "the existence anchor ^() can be used only on a list".to_owned()))
            }
        },
        Anchor::Add => Ok(()),
    }
}

/// The first failure of `outcomes`; else, when none applied and some were skipped, a skip of the
/// whole (Kyverno's PatternError{Skip}).
fn skip_unless_applied(outcomes: impl Iterator<Item = Result<(), Error>>, path: &str) -> Result<(), Error> {
    let mut applied = 0;
    let mut skips = Vec::new();
    for outcome in outcomes {
        match outcome {
            Ok(()) => applied += 1,
            Err(error) if error.is_skip() => skips.push(error),
            Err(error) => return Err(error),
        }
    }
    if applied == 0 && !skips.is_empty() {
        let message = skips.iter().map(Error::message).collect::<Vec<_>>().join("; ");
        return Err(Error::Skipped(path.to_owned(), message));
    }
    Ok(())
}

fn validate_array(resource: &[Value], pattern: &[Value], path: &str) -> Result<(), Error> {
    let Some(first) = pattern.first() else {
        return Err(Error::Fail(path.to_owned(), "pattern Array empty".to_owned()));
    };
    match first {
        Value::Object(_) => {
            let outcomes = resource
                .iter()
                .enumerate()
                .map(|(index, element)| validate_element(Some(element), first, &format!("{path}{index}/")));
            skip_unless_applied(outcomes, path)
        }
        Value::Array(_) => {
            if resource.len() < pattern.len() {
                return Err(Error::Fail(
                    path.to_owned(),
                    format!(
                        "validate Array failed, array length mismatch, resource Array len is {} and pattern Array len is {}",
                        resource.len(),
                        pattern.len()
                    ),
                ));
            }
            let outcomes = pattern.iter().enumerate().map(|(index, element_pattern)| {
                validate_element(resource.get(index), element_pattern, &format!("{path}{index}/"))
            });
            skip_unless_applied(outcomes, path)
        }
        scalar => {
            let array = Value::Array(resource.to_vec());
            validate_element(Some(&array), scalar, path)
        }
    }
}

/// A JSON number as Kyverno's Go values see it: integral numbers are ints.
enum Number {
    Int(i64),
    Float(f64),
}

fn number(value: &serde_json::Number) -> Number {
    match value.as_i64() {
        Some(int) => Number::Int(int),
        None => Number::Float(value.as_f64().unwrap_or(f64::NAN)),
    }
}

/// Whether the scalar `value` satisfies the scalar `pattern` (Kyverno's `pattern.Validate`).
pub fn validate_value(value: Option<&Value>, pattern: &Value) -> bool {
    match pattern {
        Value::Bool(expected) => value.and_then(Value::as_bool) == Some(*expected),
        Value::Number(expected) => match number(expected) {
            Number::Int(expected) => match value {
                Some(Value::Number(n)) => match number(n) {
                    Number::Int(actual) => actual == expected,
                    Number::Float(actual) => actual.trunc() == actual && actual as i64 == expected,
                },
                Some(Value::String(s)) => s.parse::<i64>().ok() == Some(expected),
                _ => false,
            },
            Number::Float(expected) => match value {
                Some(Value::Number(n)) => match number(n) {
                    Number::Int(actual) => expected.trunc() == expected && expected as i64 == actual,
                    Number::Float(actual) => actual == expected,
                },
                Some(Value::String(s)) => s.parse::<f64>().ok() == Some(expected),
                _ => false,
            },
        },
        Value::Null => match value {
            None | Some(Value::Null) => true,
            Some(Value::Number(n)) => n.as_f64() == Some(0.0),
            Some(Value::String(s)) => s.is_empty(),
            Some(Value::Bool(b)) => !b,
            Some(_) => false,
        },
        Value::Object(_) => matches!(value, Some(Value::Object(_))),
        Value::Array(_) => false,
        Value::String(pattern) => validate_string_patterns(value, pattern),
    }
}

fn validate_string_patterns(value: Option<&Value>, pattern: &str) -> bool {
    if value.and_then(Value::as_str) == Some(pattern) {
        return true;
    }
    pattern.split('|').any(|alternative| {
        alternative
            .trim_matches(' ')
            .split('&')
            .all(|condition| validate_string_pattern(value, condition.trim_matches(' ')))
    })
}

/// The comparison a string pattern starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    Equal,
    MoreEqual,
    LessEqual,
    NotEqual,
    More,
    Less,
    InRange,
    NotInRange,
}

fn range_regex(not: bool) -> &'static regex::Regex {
    static IN: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    static NOT_IN: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let (cell, separator) = if not { (&NOT_IN, "!-") } else { (&IN, "-") };
    cell.get_or_init(|| {
        let side = r"([-|\+]?\d+(?:\.\d+)?[A-Za-z]*)";
        regex::Regex::new(&format!("^{side}{separator}{side}$"))
            .unwrap_or_else(|_| unreachable!("a constant regex"))
    })
}

/// Whether `text` is a range pattern (`1-10`, `100Mi-1Gi`).
pub fn is_in_range_pattern(text: &str) -> bool {
    operator(text) == Operator::InRange
}

fn operator(pattern: &str) -> Operator {
    if pattern.len() < 2 {
        return Operator::Equal;
    }
    if pattern.starts_with(">=") {
        Operator::MoreEqual
    } else if pattern.starts_with("<=") {
        Operator::LessEqual
    } else if pattern.starts_with('>') {
        Operator::More
    } else if pattern.starts_with('<') {
        Operator::Less
    } else if pattern.starts_with('!') {
        Operator::NotEqual
    } else if range_regex(true).is_match(pattern) {
        Operator::NotInRange
    } else if range_regex(false).is_match(pattern) {
        Operator::InRange
    } else {
        Operator::Equal
    }
}

fn operator_len(op: Operator) -> usize {
    match op {
        Operator::Equal | Operator::InRange | Operator::NotInRange => 0,
        Operator::MoreEqual | Operator::LessEqual => 2,
        Operator::NotEqual | Operator::More | Operator::Less => 1,
    }
}

fn validate_string_pattern(value: Option<&Value>, pattern: &str) -> bool {
    let op = operator(pattern);
    match op {
        Operator::InRange | Operator::NotInRange => {
            let Some(captures) = range_regex(op == Operator::NotInRange).captures(pattern) else {
                return false;
            };
            let (left, right) = (&captures[1], &captures[2]);
            if op == Operator::InRange {
                validate_string_pattern(value, &format!(">= {left}"))
                    && validate_string_pattern(value, &format!("<= {right}"))
            } else {
                validate_string_pattern(value, &format!("< {left}"))
                    || validate_string_pattern(value, &format!("> {right}"))
            }
        }
        _ => {
            let rest = pattern.get(operator_len(op)..).unwrap_or_default().trim();
            validate_string(value, rest, op)
        }
    }
}

/// A number or string as Go's `convertNumberToString` renders it (nil is "0").
fn number_text(value: Option<&Value>) -> Option<String> {
    match value {
        None | Some(Value::Null) => Some("0".to_owned()),
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(match number(n) {
            Number::Int(i) => i.to_string(),
            Number::Float(f) => format!("{f:.6}"),
        }),
        _ => None,
    }
}

fn compare(ordering: std::cmp::Ordering, op: Operator) -> Option<bool> {
    use std::cmp::Ordering::{Equal, Greater, Less};
    Some(match op {
        Operator::Equal => ordering == Equal,
        Operator::NotEqual => ordering != Equal,
        Operator::More => ordering == Greater,
        Operator::Less => ordering == Less,
        Operator::MoreEqual => ordering != Less,
        Operator::LessEqual => ordering != Greater,
        Operator::InRange | Operator::NotInRange => return None,
    })
}

fn validate_string(value: Option<&Value>, pattern: &str, op: Operator) -> bool {
    let text = number_text(value);
    // Durations first (the only type compared across spellings), then quantities, then strings.
    if let (Some(expected), Some(actual)) =
        (parse_duration(pattern), text.as_deref().and_then(parse_duration))
        && let Some(ordering) = actual.partial_cmp(&expected)
        && let Some(result) = compare(ordering, op)
    {
        return result;
    }
    if let (Some(expected), Some(actual)) =
        (parse_quantity(pattern), text.as_deref().and_then(parse_quantity))
        && let Some(ordering) = actual.partial_cmp(&expected)
        && let Some(result) = compare(ordering, op)
    {
        return result;
    }
    if !matches!(op, Operator::Equal | Operator::NotEqual) {
        return false;
    }
    let text = match value {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => match number(n) {
            Number::Int(i) => i.to_string(),
            Number::Float(f) => format_go_exponent(f),
        },
        _ => return false,
    };
    let matched = wildcard::matches(pattern, &text);
    if op == Operator::NotEqual { !matched } else { matched }
}

/// Go's `strconv.FormatFloat(v, 'E', -1, 64)`: `1.5E+00`.
fn format_go_exponent(value: f64) -> String {
    let formatted = format!("{value:E}");
    match formatted.split_once('E') {
        Some((mantissa, exponent)) => {
            let (sign, digits) = match exponent.strip_prefix('-') {
                Some(digits) => ('-', digits),
                None => ('+', exponent),
            };
            format!("{mantissa}E{sign}{digits:0>2}")
        }
        None => formatted,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn check(resource: Value, pattern: Value) -> Result<(), Mismatch> {
        match_pattern(&resource, &pattern)
    }

    fn skipped(result: Result<(), Mismatch>) -> bool {
        matches!(result, Err(Mismatch::Skip { .. }))
    }

    fn failed(result: Result<(), Mismatch>) -> bool {
        matches!(result, Err(Mismatch::Fail { .. }))
    }

    #[test]
    fn scalar_operators_from_kyverno_docs() {
        let v = |value: Value, pattern: &str| validate_value(Some(&value), &json!(pattern));
        assert!(v(json!("nginx:1.25"), "!*:latest"));
        assert!(!v(json!("nginx:latest"), "!*:latest"));
        assert!(v(json!(5), ">4"));
        assert!(!v(json!(4), ">4"));
        assert!(v(json!(4), ">=4"));
        assert!(v(json!("2Gi"), ">1Gi"));
        assert!(!v(json!("512Mi"), ">1Gi"));
        assert!(v(json!("500m"), "<=1"));
        assert!(v(json!(3), "1-5"));
        assert!(!v(json!(6), "1-5"));
        assert!(v(json!(6), "1!-5"));
        assert!(v(json!("http"), "http | https"));
        assert!(!v(json!("ftp"), "http | https"));
        assert!(v(json!(3), ">1 & <5"));
        assert!(!v(json!(7), ">1 & <5"));
        assert!(v(json!("2h"), ">90m"));
        assert!(v(json!("abc"), "?*"));
        assert!(!v(json!(""), "?*"));
        assert!(!validate_value(None, &json!("?*")));
        assert!(validate_value(Some(&json!(80)), &json!(80)));
        assert!(validate_value(Some(&json!("80")), &json!(80)));
        assert!(validate_value(None, &Value::Null));
        assert!(validate_value(Some(&json!(false)), &Value::Null));
        assert!(validate_value(Some(&json!(true)), &json!(true)));
        assert!(!validate_value(Some(&json!("true")), &json!(true)));
    }

    #[test]
    fn maps_need_every_plain_key() {
        let pattern = json!({"metadata": {"labels": {"app.kubernetes.io/name": "?*"}}});
        assert!(
            check(json!({"metadata": {"labels": {"app.kubernetes.io/name": "x"}}}), pattern.clone()).is_ok()
        );
        assert!(failed(check(json!({"metadata": {"labels": {}}}), pattern.clone())));
        assert!(failed(check(json!({"metadata": {}}), pattern)));
    }

    #[test]
    fn arrays_of_maps_match_every_element_and_skip_by_condition() {
        let pattern = json!({"spec": {"containers": [{"(name)": "nginx*", "image": "!*:latest"}]}});
        let pod = |image: &str, name: &str| json!({"spec": {"containers": [{"name": name, "image": image}]}});
        assert!(check(pod("nginx:1", "nginx"), pattern.clone()).is_ok());
        assert!(failed(check(pod("nginx:latest", "nginx"), pattern.clone())));
        assert!(skipped(check(pod("redis:latest", "redis"), pattern.clone())));
        let mixed = json!({"spec": {"containers": [{"name": "redis", "image": "redis:latest"}, {"name": "nginx", "image": "nginx:1"}]}});
        assert!(check(mixed, pattern).is_ok());
    }

    #[test]
    fn anchors() {
        // Equality: only when present.
        let pattern = json!({"spec": {"=(hostNetwork)": false}});
        assert!(check(json!({"spec": {}}), pattern.clone()).is_ok());
        assert!(check(json!({"spec": {"hostNetwork": false}}), pattern.clone()).is_ok());
        assert!(failed(check(json!({"spec": {"hostNetwork": true}}), pattern)));
        // Negation.
        let pattern = json!({"spec": {"X(hostPath)": "null"}});
        assert!(check(json!({"spec": {}}), pattern.clone()).is_ok());
        assert!(failed(check(json!({"spec": {"hostPath": {}}}), pattern)));
        // Existence: at least one element.
        let pattern = json!({"spec": {"^(containers)": [{"image": "nginx*"}]}});
        assert!(
            check(
                json!({"spec": {"containers": [{"image": "redis"}, {"image": "nginx:1"}]}}),
                pattern.clone()
            )
            .is_ok()
        );
        assert!(failed(check(json!({"spec": {"containers": [{"image": "redis"}]}}), pattern)));
        // Global: the whole rule does not apply.
        let pattern =
            json!({"spec": {"containers": [{"<(image)": "*:latest", "imagePullPolicy": "Always"}]}});
        assert!(skipped(check(
            json!({"spec": {"containers": [{"image": "nginx:1", "imagePullPolicy": "IfNotPresent"}]}}),
            pattern.clone()
        )));
        assert!(failed(check(
            json!({"spec": {"containers": [{"image": "nginx:latest", "imagePullPolicy": "IfNotPresent"}]}}),
            pattern
        )));
        // Condition on a map: if the condition holds, the rest must.
        let pattern = json!({"metadata": {"(name)": "prod-*"}, "spec": {"replicas": ">1"}});
        assert!(skipped(check(
            json!({"metadata": {"name": "dev"}, "spec": {"replicas": 1}}),
            pattern.clone()
        )));
        assert!(failed(check(json!({"metadata": {"name": "prod-a"}, "spec": {"replicas": 1}}), pattern)));
    }

    #[test]
    fn wildcard_label_keys_expand_to_the_resource_keys() {
        let pattern = json!({"metadata": {"labels": {"app.kubernetes.io/*": "?*"}}});
        assert!(
            check(json!({"metadata": {"labels": {"app.kubernetes.io/name": "x"}}}), pattern.clone()).is_ok()
        );
        assert!(failed(check(
            json!({"metadata": {"labels": {"app.kubernetes.io/name": ""}}}),
            pattern.clone()
        )));
        assert!(failed(check(json!({"metadata": {"labels": {"team": "x"}}}), pattern)));
    }

    #[test]
    fn star_needs_a_value() {
        let pattern = json!({"spec": {"securityContext": "*"}});
        assert!(check(json!({"spec": {"securityContext": {}}}), pattern.clone()).is_ok());
        assert!(failed(check(json!({"spec": {}}), pattern)));
    }
}
