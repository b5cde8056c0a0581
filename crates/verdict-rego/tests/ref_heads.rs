//! A document defined by both a general ref head (`p[q].r contains s`) and a specific one
//! (`p.b.r contains "foo"`) is the union of both, whichever path a query takes into it (patched in
//! vendor/regorus: regorus evaluated only the most specific rule).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;

#[test]
fn general_and_specific_ref_heads_both_contribute() {
    let module = r#"package t

p[q].r contains s if {
  some q in ["a", "b"]
  some s in ["a", "b", "c"]
  q != s
}

p.b.r contains "foo"

whole := p.b.r
member := p.b.r.c
from_data := data.t.p.b.r
other := p.a.r
"#;
    let mut engine = verdict_rego::engine::new_engine();
    verdict_rego::engine::add_policy(&mut engine, "t.rego", module).unwrap();
    let get = |rule: &str| -> serde_json::Value {
        let value = engine.clone().eval_rule(rule.to_owned()).unwrap();
        serde_json::from_str(&value.to_json_str().unwrap()).unwrap()
    };
    assert_eq!(get("data.t.whole"), json!(["a", "c", "foo"]));
    assert_eq!(get("data.t.member"), json!("c"));
    assert_eq!(get("data.t.from_data"), json!(["a", "c", "foo"]));
    assert_eq!(get("data.t.other"), json!(["b", "c"]));
}
