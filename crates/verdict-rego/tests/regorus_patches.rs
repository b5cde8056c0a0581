//! Evaluation fixes patched into vendor/regorus (VERDICT-PATCH.md 4 and 5): `walk` in both of OPA's
//! forms (`[path, value] := walk(x)` and `walk(x, [path, value])`) gives the same pairs, and a document
//! defined by both a general ref head (`p[q].r contains s`) and a specific one (`p.b.r contains "foo"`)
//! is the union of both, whichever path a query takes into it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;

/// The value of each rule of `module`, as JSON.
fn rules(module: &str) -> impl Fn(&str) -> serde_json::Value {
    let mut engine = verdict_rego::engine::new_engine();
    verdict_rego::engine::add_policy(&mut engine, "t.rego", module).unwrap();
    move |rule: &str| {
        let value = engine.clone().eval_rule(rule.to_owned()).unwrap();
        serde_json::from_str(&value.to_json_str().unwrap()).unwrap()
    }
}

#[test]
fn both_forms_of_walk_visit_every_path() {
    let module = r#"package t

doc := {"a": [{"b": "x"}, "yy"], "c": 1}

as_value := {json.marshal(path): value | [path, value] := walk(doc); is_string(value)}

as_output := {json.marshal(path): value | walk(doc, [path, value]); is_string(value)}

depth := max([count(path) | [path, _] := walk(doc)])
"#;
    let get = rules(module);
    let want = json!({"[\"a\",0,\"b\"]": "x", "[\"a\",1]": "yy"});
    assert_eq!(get("data.t.as_value"), want);
    assert_eq!(get("data.t.as_output"), want);
    assert_eq!(get("data.t.depth"), json!(3));
}

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
    let get = rules(module);
    assert_eq!(get("data.t.whole"), json!(["a", "c", "foo"]));
    assert_eq!(get("data.t.member"), json!("c"));
    assert_eq!(get("data.t.from_data"), json!(["a", "c", "foo"]));
    assert_eq!(get("data.t.other"), json!(["b", "c"]));
}
