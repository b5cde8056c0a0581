//! OPA 1.x template strings (`$"…{expr}…"` and raw `` $`…` ``) through verdict's engine set-up: the
//! rendered values, the undefined and multiple-output rules, escapes, nesting, comprehensions and object
//! keys, and errors that point at the right line and column. Expectations follow OPA's documentation of
//! string interpolation and its `internal.template_string` rendering.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use regorus::Value;
use serde_json::json;

fn eval(module: &str, input: serde_json::Value) -> anyhow::Result<serde_json::Value> {
    let mut engine = verdict_rego::engine::new_engine();
    verdict_rego::engine::add_policy(&mut engine, "template.rego", module)?;
    engine.set_input(Value::from(input));
    let value = engine.eval_rule("data.t.out".to_owned())?;
    Ok(serde_json::from_str(&value.to_json_str()?)?)
}

fn out(expression: &str, input: serde_json::Value) -> anyhow::Result<serde_json::Value> {
    eval(&format!("package t\n\nout := {expression}\n"), input)
}

#[test]
fn interpolates_values_as_opa_prints_them() {
    let input = json!({"name": "alice", "n": 3, "tags": ["a", "b"], "meta": {"k": "v"}, "ok": true});
    for (expression, want) in [
        (r#"$"Hello {input.name}!""#, "Hello alice!"),
        (r#"$"{input.n} + 1 = {input.n + 1}""#, "3 + 1 = 4"),
        (
            r#"$"tags={input.tags} meta={input.meta} ok={input.ok} none={null}""#,
            r#"tags=["a", "b"] meta={"k": "v"} ok=true none=null"#,
        ),
        (r#"$"{count(input.tags)} tags, first {input.tags[0]}""#, "2 tags, first a"),
        (r#"$"set {{x | some x in input.tags}} empty {set()}""#, r#"set {"a", "b"} empty set()"#),
        (r#"$"missing: {input.nope}""#, "missing: <undefined>"),
        (r#"$"""#, ""),
        (r#"$"plain""#, "plain"),
        (
            r#"$"brace \{not an expression} tab\t quote\" unicode \u00e9""#,
            "brace {not an expression} tab\t quote\" unicode é",
        ),
        ("$`raw \\n \\{x} {input.name}`", "raw \\n {x} alice"),
        ("$`two\nlines {input.n}`", "two\nlines 3"),
        (r#"$"outer {$"inner {input.name}"} done""#, "outer inner alice done"),
        (r#"$"string with brace { "}" } and { "{" }""#, "string with brace } and {"),
    ] {
        assert_eq!(
            out(expression, input.clone()).unwrap_or_else(|e| panic!("{expression}: {e:#}")),
            json!(want),
            "{expression}"
        );
    }
}

#[test]
fn inside_comprehensions_rule_bodies_and_object_keys() {
    let module = r#"package t

out := {
  "list": [$"x={x}" | some x in input.xs],
  "keys": {$"k{i}": v | some i, v in input.xs},
  "literal_key": {$"id-{input.id}": true},
  "message": msg,
}

msg := $"{n} items" if {
  n := count(input.xs)
  n > 1
}
"#;
    let got = eval(module, json!({"xs": [10, 20], "id": 7})).unwrap();
    assert_eq!(
        got,
        json!({"list": ["x=10", "x=20"], "keys": {"k0": 10, "k1": 20}, "literal_key": {"id-7": true}, "message": "2 items"})
    );
}

#[test]
fn several_values_for_one_expression_are_an_error() {
    let err = out(r#"$"{input.xs[_]}""#, json!({"xs": [1, 2]})).unwrap_err();
    assert!(format!("{err:#}").contains("template-strings must not produce multiple outputs"), "{err:#}");
    assert_eq!(out(r#"$"{input.xs[_]}""#, json!({"xs": [1]})).unwrap(), json!("1"));
}

#[test]
fn malformed_template_strings_fail_at_their_position() {
    for (module, line_col) in [
        ("package t\n\nout := $\"unterminated\n", "template.rego:3:22"),
        ("package t\n\nout := $\"{input.x\"\n", "template.rego:3:19"),
        ("package t\n\nout := $\"bad \\q escape\"\n", "template.rego:3"),
        ("package t\n\nout := 1\nx := $`never closed {input.x}\n", "template.rego:4:30"),
    ] {
        let err = eval(module, json!({})).unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains(line_col), "{module:?}: {text}");
    }
}

#[test]
fn policies_with_template_strings_decide() {
    let policy = verdict_rego::RegoPolicy::load(
        "p.rego",
        "package policy\n\ndefault allow := false\n\nallow if input.user == \"alice\"\n\nviolations contains $\"user {input.user} may not deploy {input.image}\" if not allow\n",
    )
    .unwrap();
    let decision = policy
        .evaluate(Value::from(json!({"user": "bob", "image": "web:1"})), &verdict_rego::Limits::default())
        .unwrap();
    assert!(!decision.allow);
    assert_eq!(decision.violations, Some(vec!["user bob may not deploy web:1".to_owned()]));
}

#[test]
fn every_with_key_and_value_in_every_position() {
    let module = r#"package t

default all_positive := false

all_positive if every k, v in input.m { startswith(k, "k"); v > 0 }

default small := false

small if count([x | x := 1; every _, v in input.m { v < 10 }]) == 1

default nonzero := false

nonzero if f(input.m)

f(m) if every k, v in m { k != ""; v != 0 }

out := {"rule": all_positive, "nested": small, "func": nonzero}
"#;
    assert_eq!(
        eval(module, json!({"m": {"k1": 1, "k2": 2}})).unwrap(),
        json!({"rule": true, "nested": true, "func": true})
    );
    assert_eq!(
        eval(module, json!({"m": {"k1": -1, "x": 20}})).unwrap(),
        json!({"rule": false, "nested": false, "func": true})
    );
    assert_eq!(
        eval(module, json!({"m": {"": 0}})).unwrap(),
        json!({"rule": false, "nested": true, "func": false})
    );
}

mod properties {
    use proptest::prelude::*;

    /// Rego-ish text dense in template-string syntax, so generated modules reach the template lexer and
    /// parser in every state (open expressions, escapes, nesting, raw and quoted forms, bad endings).
    fn template_text() -> impl Strategy<Value = String> {
        let piece = prop::sample::select(vec![
            "$\"",
            "$`",
            "\"",
            "`",
            "{",
            "}",
            "\\{",
            "\\",
            "\\n",
            "\\u00e9",
            "input.x",
            "1 + 2",
            " ",
            "\n",
            "[1, 2]",
            "{\"a\": 1}",
            "x",
            "é",
            "\t",
            "|",
            "some x in [1]",
        ]);
        prop::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1500))]

        /// Any text after `out :=` either loads or is a positioned error, never a panic; what loads
        /// evaluates to a value or an error, never a panic either.
        #[test]
        fn template_strings_never_panic(text in template_text()) {
            let module = format!("package t\n\nout := {text}\n");
            let mut engine = verdict_rego::engine::new_engine();
            if verdict_rego::engine::add_policy(&mut engine, "t.rego", &module).is_ok() {
                let _ = engine.eval_rule("data.t.out".to_owned());
            }
        }
    }
}
