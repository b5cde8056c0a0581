//! `with f as count`: a builtin as the replacement of a function (or of another builtin), as OPA allows
//! for mocking in tests — verdict's patched regorus no longer refuses the builtin's name as an unbound
//! variable. An unknown name is still refused.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use verdict_rego::{Limits, RegoPolicy};

fn allow(source: &str) -> Result<bool, String> {
    let policy = RegoPolicy::load("with.rego", source).map_err(|err| err.to_string())?;
    policy
        .evaluate(regorus::Value::from(serde_json::json!({})), &Limits::default())
        .map(|decision| decision.allow)
        .map_err(|err| err.to_string())
}

#[test]
fn a_builtin_replaces_a_function_or_another_builtin() {
    let policy = r#"package policy

default allow := false

f(_) := 0

allow if {
  n := f([1, 2, 3]) with f as count
  n == 3
  m := count([{"a": 1}, {"b": 2}]) with count as object.union_n
  m == {"a": 1, "b": 2}
  f([1]) == 0
}
"#;
    assert_eq!(allow(policy), Ok(true));
    let unknown = policy.replace("with f as count", "with f as no_such_function");
    assert!(allow(&unknown).is_err(), "an unknown replacement is refused, never a pass");
}
