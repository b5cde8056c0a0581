//! `walk` in both of OPA's forms: `[path, value] := walk(x)` (the call as a value, patched in
//! vendor/regorus) and `walk(x, [path, value])` (output argument), giving the same pairs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;

#[test]
fn both_forms_of_walk_visit_every_path() {
    let module = r#"package t

doc := {"a": [{"b": "x"}, "yy"], "c": 1}

as_value := {json.marshal(path): value | [path, value] := walk(doc); is_string(value)}

as_output := {json.marshal(path): value | walk(doc, [path, value]); is_string(value)}

depth := max([count(path) | [path, _] := walk(doc)])
"#;
    let mut engine = verdict_rego::engine::new_engine();
    verdict_rego::engine::add_policy(&mut engine, "t.rego", module).unwrap();
    let get = |rule: &str| -> serde_json::Value {
        let value = engine.clone().eval_rule(rule.to_owned()).unwrap();
        serde_json::from_str(&value.to_json_str().unwrap()).unwrap()
    };
    let want = json!({"[\"a\",0,\"b\"]": "x", "[\"a\",1]": "yy"});
    assert_eq!(get("data.t.as_value"), want);
    assert_eq!(get("data.t.as_output"), want);
    assert_eq!(get("data.t.depth"), json!(3));
}
