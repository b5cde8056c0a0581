//! OPA 1.x reads a keyword immediately followed by `.name` as the first segment of a reference or rule
//! head (`as.foo := 1`, `every.foo == 1`) — verdict's patched regorus parser does too — while the same
//! words followed by a space keep meaning the keyword. Both in one policy, so neither reading can take
//! the other's place unnoticed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use verdict_rego::{Limits, RegoPolicy};

const POLICY: &str = r#"package policy

import data.lib as helpers

default allow := false

as.limit := 3
not.blocked := "latest"
every.tag contains "v1"
some.count := n if {
  n := count(input.tags)
} else := 0
with.fallback := 1
in.list := ["a", "b"]

allow if {
  some tag in input.tags
  not tag == not.blocked
  every t in input.tags {
    t != not.blocked
  }
  some.count <= as.limit
  every.tag["v1"]
  "a" in in.list
  x := with.fallback with input.tags as []
  x == 1
}

violations contains msg if {
  some tag in input.tags
  tag == not.blocked
  msg := sprintf("tag %s is not allowed", [tag])
}
"#;

fn decide(tags: &[&str]) -> verdict_rego::Decision {
    let policy = RegoPolicy::load("keywords.rego", POLICY).unwrap_or_else(|err| panic!("{err}"));
    policy
        .evaluate(regorus::Value::from(serde_json::json!({"tags": tags})), &Limits::default())
        .unwrap_or_else(|err| panic!("{err}"))
}

#[test]
fn keywords_start_references_only_when_a_name_follows_the_dot() {
    assert!(decide(&["v1", "v2"]).allow);
    // The keywords still work as keywords: `not`, `some … in`, `every`, and the count against
    // `as.limit` deny.
    let latest = decide(&["latest"]);
    assert!(!latest.allow);
    assert_eq!(latest.violations, Some(vec!["tag latest is not allowed".to_owned()]));
    assert!(!decide(&["a", "b", "c", "d"]).allow);
}
