//! Kyverno's condition operators (preconditions and `validate.deny.conditions`): `key operator value`
//! after variable substitution. Equality compares durations and quantities as such and matches the
//! value's wildcards; the `In` family compares as strings with wildcards on either side (and JSON
//! string arrays or ranges in a string value); the numeric operators compare numbers, durations,
//! quantities and semantic versions.

use serde_json::Value;

use crate::pattern::validate_value;
use crate::quantity::{parse_duration, parse_quantity};
use crate::wildcard;

/// A condition operator, as spelled in policies (`Equals`, `AnyIn`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// `Equals` / `Equal`.
    Equals,
    /// `NotEquals` / `NotEqual`.
    NotEquals,
    /// Deprecated `In`: every key element in the value.
    In,
    /// Deprecated `NotIn`.
    NotIn,
    /// `AnyIn`.
    AnyIn,
    /// `AllIn`.
    AllIn,
    /// `AnyNotIn`.
    AnyNotIn,
    /// `AllNotIn`.
    AllNotIn,
    /// `GreaterThan`.
    GreaterThan,
    /// `GreaterThanOrEquals`.
    GreaterThanOrEquals,
    /// `LessThan`.
    LessThan,
    /// `LessThanOrEquals`.
    LessThanOrEquals,
    /// `DurationGreaterThan` (deprecated; durations compare with the numeric operators too).
    DurationGreaterThan,
    /// `DurationGreaterThanOrEquals`.
    DurationGreaterThanOrEquals,
    /// `DurationLessThan`.
    DurationLessThan,
    /// `DurationLessThanOrEquals`.
    DurationLessThanOrEquals,
}

impl Operator {
    /// The operator named `name`, or `None`.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "Equals" | "Equal" => Operator::Equals,
            "NotEquals" | "NotEqual" => Operator::NotEquals,
            "In" => Operator::In,
            "NotIn" => Operator::NotIn,
            "AnyIn" => Operator::AnyIn,
            "AllIn" => Operator::AllIn,
            "AnyNotIn" => Operator::AnyNotIn,
            "AllNotIn" => Operator::AllNotIn,
            "GreaterThan" => Operator::GreaterThan,
            "GreaterThanOrEquals" => Operator::GreaterThanOrEquals,
            "LessThan" => Operator::LessThan,
            "LessThanOrEquals" => Operator::LessThanOrEquals,
            "DurationGreaterThan" => Operator::DurationGreaterThan,
            "DurationGreaterThanOrEquals" => Operator::DurationGreaterThanOrEquals,
            "DurationLessThan" => Operator::DurationLessThan,
            "DurationLessThanOrEquals" => Operator::DurationLessThanOrEquals,
            _ => return None,
        })
    }

    /// Every operator name, for error hints.
    pub const NAMES: &'static [&'static str] = &[
        "Equals",
        "NotEquals",
        "AnyIn",
        "AllIn",
        "AnyNotIn",
        "AllNotIn",
        "GreaterThan",
        "GreaterThanOrEquals",
        "LessThan",
        "LessThanOrEquals",
        "DurationGreaterThan",
        "DurationGreaterThanOrEquals",
        "DurationLessThan",
        "DurationLessThanOrEquals",
        "In",
        "NotIn",
    ];
}

/// Whether `key operator value` holds.
pub fn evaluate(operator: Operator, key: &Value, value: &Value) -> bool {
    match operator {
        Operator::Equals => equals(key, value),
        Operator::NotEquals => !equals(key, value),
        Operator::In => legacy_in(key, value, false),
        Operator::NotIn => legacy_in(key, value, true),
        Operator::AnyIn => set_operator(key, value, SetMode::AnyIn),
        Operator::AllIn => set_operator(key, value, SetMode::AllIn),
        Operator::AnyNotIn => set_operator(key, value, SetMode::AnyNotIn),
        Operator::AllNotIn => set_operator(key, value, SetMode::AllNotIn),
        Operator::GreaterThan | Operator::DurationGreaterThan => numeric(key, value, |o| o.is_gt()),
        Operator::GreaterThanOrEquals | Operator::DurationGreaterThanOrEquals => {
            numeric(key, value, |o| o.is_ge())
        }
        Operator::LessThan | Operator::DurationLessThan => numeric(key, value, |o| o.is_lt()),
        Operator::LessThanOrEquals | Operator::DurationLessThanOrEquals => numeric(key, value, |o| o.is_le()),
    }
}

/// Go's `fmt.Sprint` of a JSON value.
pub fn sprint(value: &Value) -> String {
    match value {
        Value::Null => "<nil>".to_owned(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match n.as_i64() {
            Some(i) => i.to_string(),
            None => n.as_f64().map(|f| f.to_string()).unwrap_or_default(),
        },
        Value::Array(items) => format!("[{}]", items.iter().map(sprint).collect::<Vec<_>>().join(" ")),
        Value::Object(map) => {
            format!(
                "map[{}]",
                map.iter().map(|(k, v)| format!("{k}:{}", sprint(v))).collect::<Vec<_>>().join(" ")
            )
        }
    }
}

fn equals(key: &Value, value: &Value) -> bool {
    match key {
        Value::String(key_text) => {
            if let Value::String(value_text) = value {
                if let (Some(a), Some(b)) = (parse_duration(key_text), parse_duration(value_text)) {
                    return a == b;
                }
                if let (Some(a), Some(b)) = (parse_quantity(key_text), parse_quantity(value_text)) {
                    return a == b;
                }
                return wildcard::matches(value_text, key_text);
            }
            false
        }
        Value::Number(n) => match value {
            Value::Number(m) => n.as_f64() == m.as_f64(),
            Value::String(s) => match n.as_i64() {
                Some(i) => s.parse::<i64>().ok() == Some(i),
                None => s.parse::<f64>().ok() == n.as_f64(),
            },
            _ => false,
        },
        Value::Bool(b) => value.as_bool() == Some(*b),
        Value::Null => validate_value(Some(value), &Value::Null),
        Value::Array(_) | Value::Object(_) => key == value,
    }
}

/// The elements of a string value: a JSON string array, else the string itself.
fn string_elements(text: &str) -> Option<Vec<String>> {
    if serde_json::from_str::<Value>(text).is_ok() {
        return serde_json::from_str::<Vec<String>>(text).ok();
    }
    Some(vec![text.to_owned()])
}

fn either_way(a: &str, b: &str) -> bool {
    wildcard::matches(a, b) || wildcard::matches(b, a)
}

fn is_range(text: &str) -> bool {
    crate::pattern::is_in_range_pattern(text)
}

#[derive(Clone, Copy, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)] // named after the operators they implement
enum SetMode {
    AnyIn,
    AllIn,
    AnyNotIn,
    AllNotIn,
}

fn set_operator(key: &Value, value: &Value, mode: SetMode) -> bool {
    let keys: Vec<String> = match key {
        Value::String(s) => vec![s.clone()],
        Value::Number(_) | Value::Bool(_) => vec![sprint(key)],
        Value::Array(items) => items.iter().map(sprint).collect(),
        _ => return false,
    };
    let single = !matches!(key, Value::Array(_));
    if single {
        // One key: Kyverno's anyKeyExistsInArray / allKeyExistsInArray (identical for one key).
        let exists = match value {
            Value::Array(values) => values.iter().any(|v| either_way(&sprint(v), &keys[0])),
            Value::String(text) => {
                if wildcard::matches(text, &keys[0]) {
                    true
                } else if is_range(text) {
                    validate_value(Some(&Value::String(keys[0].clone())), value)
                } else {
                    match string_elements(text) {
                        Some(elements) => elements.iter().any(|e| *e == keys[0]),
                        None => return false,
                    }
                }
            }
            _ => return false,
        };
        return match mode {
            SetMode::AnyIn | SetMode::AllIn => exists,
            SetMode::AnyNotIn | SetMode::AllNotIn => !exists,
        };
    }
    let values: Vec<String> = match value {
        Value::Array(values) => values.iter().map(sprint).collect(),
        Value::Number(_) | Value::Bool(_) => vec![sprint(value)],
        Value::String(text) => {
            if keys.len() == 1 && keys[0] == *text {
                return matches!(mode, SetMode::AnyIn | SetMode::AllIn);
            }
            if is_range(text) {
                let in_range = |k: &String| validate_value(Some(&Value::String(k.clone())), value);
                return match mode {
                    SetMode::AnyIn => keys.iter().any(in_range),
                    SetMode::AllIn => keys.iter().all(in_range),
                    SetMode::AnyNotIn => keys.iter().any(|k| !in_range(k)),
                    SetMode::AllNotIn => !keys.iter().any(in_range),
                };
            }
            match string_elements(text) {
                Some(elements) => elements,
                None => return false,
            }
        }
        _ => return false,
    };
    let found = |k: &String| values.iter().any(|v| either_way(k, v));
    match mode {
        SetMode::AnyIn => keys.iter().any(found),
        SetMode::AllIn => keys.iter().all(found),
        SetMode::AnyNotIn => keys.iter().any(|k| !found(k)),
        SetMode::AllNotIn => !keys.iter().any(found),
    }
}

/// The deprecated `In`/`NotIn`: a string key must be in the value list; a list key must be a subset.
fn legacy_in(key: &Value, value: &Value, negate: bool) -> bool {
    match key {
        Value::String(_) | Value::Number(_) | Value::Bool(_) => {
            let key = sprint(key);
            let exists = match value {
                Value::Array(values) => values.iter().any(|v| either_way(&sprint(v), &key)),
                Value::String(text) => {
                    wildcard::matches(text, &key)
                        || match serde_json::from_str::<Vec<String>>(text) {
                            Ok(elements) => elements.contains(&key),
                            Err(_) => return false,
                        }
                }
                _ => return false,
            };
            exists != negate
        }
        Value::Array(items) => {
            let Some(keys) = items.iter().map(|v| v.as_str().map(str::to_owned)).collect::<Option<Vec<_>>>()
            else {
                return false;
            };
            let values: Vec<String> = match value {
                Value::Array(values) => {
                    match values.iter().map(|v| v.as_str().map(str::to_owned)).collect::<Option<Vec<_>>>() {
                        Some(values) => values,
                        None => return false,
                    }
                }
                Value::String(text) => {
                    if keys.len() == 1 && keys[0] == *text {
                        return !negate;
                    }
                    match serde_json::from_str::<Vec<String>>(text) {
                        Ok(values) => values,
                        Err(_) => return false,
                    }
                }
                _ => return false,
            };
            if negate {
                !keys.iter().any(|k| values.contains(k))
            } else {
                keys.iter().all(|k| values.contains(k))
            }
        }
        _ => false,
    }
}

/// A semantic version `MAJOR.MINOR.PATCH[-pre]` as comparable parts.
fn semver(text: &str) -> Option<(u64, u64, u64, String)> {
    let (core, pre) = text.split_once('-').unwrap_or((text, ""));
    let core = core.split_once('+').map_or(core, |(c, _)| c);
    let mut parts = core.split('.');
    let parsed = (parts.next()?.parse().ok()?, parts.next()?.parse().ok()?, parts.next()?.parse().ok()?);
    if parts.next().is_some() {
        return None;
    }
    Some((parsed.0, parsed.1, parsed.2, pre.to_owned()))
}

fn numeric(key: &Value, value: &Value, holds: impl Fn(std::cmp::Ordering) -> bool) -> bool {
    let number = |v: &Value| -> Option<f64> {
        match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.parse::<f64>().ok(),
            _ => None,
        }
    };
    let compare = |a: f64, b: f64| a.partial_cmp(&b).is_some_and(&holds);
    match key {
        Value::Number(n) => {
            let Some(k) = n.as_f64() else { return false };
            match value {
                Value::Number(_) | Value::String(_) => number(value).is_some_and(|v| compare(k, v)),
                _ => false,
            }
        }
        Value::String(text) => {
            if let Value::String(other) = value {
                if let (Some(a), Some(b)) = (parse_duration(text), parse_duration(other)) {
                    return compare(a, b);
                }
                if let (Some(a), Some(b)) = (parse_quantity(text), parse_quantity(other)) {
                    return compare(a, b);
                }
            }
            if let Ok(k) = text.parse::<f64>() {
                return number(value).is_some_and(|v| compare(k, v));
            }
            if let (Some(a), Some(b)) = (semver(text), value.as_str().and_then(semver)) {
                let ordering = (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2)).then_with(|| {
                    match (a.3.is_empty(), b.3.is_empty()) {
                        (true, true) => std::cmp::Ordering::Equal,
                        (true, false) => std::cmp::Ordering::Greater,
                        (false, true) => std::cmp::Ordering::Less,
                        (false, false) => a.3.cmp(&b.3),
                    }
                });
                return holds(ordering);
            }
            false
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn eval(op: &str, key: Value, value: Value) -> bool {
        evaluate(Operator::parse(op).unwrap(), &key, &value)
    }

    #[test]
    fn equality_with_wildcards_quantities_and_durations() {
        assert!(eval("Equals", json!("nginx:1.25"), json!("nginx:*")));
        assert!(!eval("Equals", json!("nginx:*"), json!("nginx:1.25")));
        assert!(eval("Equals", json!("1Gi"), json!("1024Mi")));
        assert!(eval("Equals", json!("1h"), json!("60m")));
        assert!(eval("Equals", json!(3), json!("3")));
        assert!(eval("Equals", json!(true), json!(true)));
        assert!(eval("NotEquals", json!("CREATE"), json!("DELETE")));
        assert!(eval("Equals", json!({"a": 1}), json!({"a": 1})));
        assert!(eval("Equals", Value::Null, json!("")));
    }

    #[test]
    fn set_operators() {
        assert!(eval("AnyIn", json!("CREATE"), json!(["CREATE", "UPDATE"])));
        assert!(!eval("AnyIn", json!("DELETE"), json!(["CREATE", "UPDATE"])));
        assert!(eval("AnyIn", json!(["a", "b"]), json!(["b", "c"])));
        assert!(!eval("AllIn", json!(["a", "b"]), json!(["b", "c"])));
        assert!(eval("AllIn", json!(["a", "b"]), json!(["a", "b", "c"])));
        assert!(eval("AnyNotIn", json!(["a", "b"]), json!(["b", "c"])));
        assert!(!eval("AllNotIn", json!(["a", "b"]), json!(["b", "c"])));
        assert!(eval("AllNotIn", json!(["a"]), json!(["b", "c"])));
        assert!(eval("AnyIn", json!("kube-system"), json!(["kube-*"])));
        assert!(eval("AnyIn", json!(["NET_ADMIN"]), json!("[\"NET_ADMIN\", \"SYS_TIME\"]")));
        assert!(eval("AnyIn", json!(5), json!("1-10")));
        assert!(!eval("AnyIn", json!(15), json!("1-10")));
        assert!(eval("AllNotIn", json!([]), json!(["x"])));
        assert!(eval("In", json!("a"), json!(["a", "b"])));
        assert!(eval("NotIn", json!("z"), json!(["a", "b"])));
    }

    #[test]
    fn numeric_operators() {
        assert!(eval("GreaterThan", json!(5), json!(3)));
        assert!(eval("GreaterThan", json!("5"), json!(3)));
        assert!(eval("LessThanOrEquals", json!("500m"), json!("1")));
        assert!(eval("GreaterThan", json!("2Gi"), json!("1Gi")));
        assert!(eval("GreaterThan", json!("2h"), json!("90m")));
        assert!(eval("DurationLessThan", json!("10m"), json!("1h")));
        assert!(eval("GreaterThanOrEquals", json!("1.25.0"), json!("1.24.3")));
        assert!(!eval("GreaterThan", json!("abc"), json!(1)));
        assert!(!eval("GreaterThan", json!([1]), json!(0)));
    }
}
