//! Property tests: no pattern, condition, expression or policy — however malformed — panics the
//! engine; matching is deterministic; a resource always matches a pattern made of its own plain
//! values.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use verdict_kyverno::conditions::{Operator, evaluate};
use verdict_kyverno::jmes::{Missing, substitute_string, to_variable};
use verdict_kyverno::pattern::match_pattern;

/// Arbitrary JSON with strings drawn from Kyverno's pattern alphabet (operators, anchors, wildcards).
fn json_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        "[a-z]{1,6}",
        "\\(([a-z]{1,4})\\)",
        "=\\(([a-z]{1,4})\\)",
        "X\\(([a-z]{1,4})\\)",
        "\\^\\(([a-z]{1,4})\\)",
        "<\\(([a-z]{1,4})\\)",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|n| json!(n)),
        "[a-z0-9*?!<>=|&. -]{0,10}".prop_map(Value::String),
        "[<>!]?=?[0-9]{1,3}(Mi|Gi|m|h|s)?".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 5, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..4)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

/// The resource's plain values as a pattern: strings escaped of every pattern metacharacter by
/// keeping only those without them.
fn literal_pattern(value: &Value) -> Option<Value> {
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                if k.contains(['(', ')', '*', '?']) {
                    return None;
                }
                out.insert(k.clone(), literal_pattern(v)?);
            }
            Some(Value::Object(out))
        }
        Value::String(s) if s.chars().all(|c| c.is_ascii_alphanumeric()) && !s.is_empty() => {
            Some(value.clone())
        }
        Value::Bool(_) => Some(value.clone()),
        Value::Number(n) if n.as_i64().is_some() => Some(value.clone()),
        _ => None,
    }
}

proptest! {
    #[test]
    fn matching_never_panics_and_is_deterministic(pattern in json_value(), resource in json_value()) {
        let first = match_pattern(&resource, &pattern);
        prop_assert_eq!(first, match_pattern(&resource, &pattern));
    }

    #[test]
    fn a_resource_matches_its_own_literal_values(resource in json_value()) {
        if let Some(pattern) = literal_pattern(&resource)
            && resource.is_object()
        {
            prop_assert_eq!(match_pattern(&resource, &pattern), Ok(()));
        }
    }

    #[test]
    fn conditions_never_panic(key in json_value(), value in json_value(), op in 0usize..Operator::NAMES.len()) {
        let operator = Operator::parse(Operator::NAMES[op]).unwrap();
        let _ = evaluate(operator, &key, &value);
    }

    #[test]
    fn variables_never_panic(text in "[a-z{}.()\\[\\]@|`'0-9 ,*?-]{0,40}", data in json_value()) {
        let _ = substitute_string(&text, &to_variable(&data), Missing::Error);
        let _ = substitute_string(&format!("{{{{ {text} }}}}"), &to_variable(&data), Missing::Empty);
    }
}
