//! Golden tests of the expression language: every operator, function, context, precedence level and
//! literal form, with hand-computed expectations.

use std::collections::BTreeMap;

use proptest::prelude::*;
use verdict_core::FlowEvidence;

use super::*;

fn flow() -> FlowEvidence {
    let tags = BTreeMap::from([
        ("risk-level".to_owned(), "high".to_owned()),
        ("key.with.dots".to_owned(), "dotted".to_owned()),
        ("app.kubernetes.io/name".to_owned(), "web".to_owned()),
        ("replicas".to_owned(), "10".to_owned()),
        ("version".to_owned(), "1.2.3".to_owned()),
    ]);
    FlowEvidence { name: "backend-ci".to_owned(), tags }
}

const FP: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn eval_with(text: &str, flow: Option<&FlowEvidence>) -> Result<bool, String> {
    let expr = parse(text).map_err(|e| format!("parse: {e}"))?;
    let scope = Scope { flow, artifact_name: "backend", artifact_fingerprint: FP };
    expr.eval_condition(&scope).map_err(|e| format!("eval: {e}"))
}

fn eval(text: &str) -> Result<bool, String> {
    eval_with(text, Some(&flow()))
}

fn check(cases: &[(&str, bool)]) {
    for (text, expected) in cases {
        assert_eq!(eval(text), Ok(*expected), "{text}");
    }
}

#[test]
fn contexts() {
    check(&[
        (r#"flow.name == "backend-ci""#, true),
        (r#"flow.tags.risk-level == "high""#, true),
        (r#"flow.tags.key.with.dots == "dotted""#, true),
        (r#"flow.tags.app.kubernetes.io/name == "web""#, true),
        ("flow.tags.missing == null", true),
        (r#"artifact.name == "backend""#, true),
        (&format!(r#"artifact.fingerprint == "{FP}""#), true),
    ]);
}

#[test]
fn contexts_without_a_flow_are_null() {
    assert_eq!(eval_with("flow.name == null", None), Ok(true));
    assert_eq!(eval_with("flow.tags.risk-level == null", None), Ok(true));
    assert_eq!(eval_with("exists(flow.name)", None), Ok(false));
    assert_eq!(eval_with(r#"artifact.name == "backend""#, None), Ok(true));
}

#[test]
fn equality_compares_any_values_without_coercion() {
    check(&[
        ("1 == 1.0", true),
        (r#""a" == "a""#, true),
        (r#""a" != "b""#, true),
        ("true == true", true),
        ("true != false", true),
        ("null == null", true),
        (r#"null == """#, false),
        (r#"flow.tags.replicas == 10"#, false),
        (r#"flow.tags.replicas == "10""#, true),
        ("[1, 2] == [1, 2]", true),
        ("[1, 2] == [2, 1]", false),
        ("[] == []", true),
        (r#"1 == "1""#, false),
        ("false == null", false),
    ]);
}

#[test]
fn ordering_coerces_numeric_strings() {
    check(&[
        ("1 < 2", true),
        ("2 > 1", true),
        ("2 <= 2", true),
        ("2 >= 3", false),
        ("-1.5 < 0", true),
        ("flow.tags.replicas > 9", true),
        (r#"flow.tags.replicas > "9""#, true),
        (r#""10" < "9""#, false),
        (r#""apple" < "banana""#, true),
        (r#""b" >= "a""#, true),
    ]);
}

#[test]
fn ordering_incomparable_values_is_an_error() {
    for text in [
        r#"flow.tags.version > 1"#,
        "null < 1",
        "flow.tags.missing >= 3",
        "true > false",
        r#""abc" < 2"#,
        "[1] < [2]",
    ] {
        let result = eval(text);
        assert!(matches!(&result, Err(e) if e.starts_with("eval: cannot compare")), "{text}: {result:?}");
    }
}

#[test]
fn membership() {
    check(&[
        (r#"flow.name in ["backend-ci", "frontend-ci"]"#, true),
        (r#"flow.name in ["frontend-ci"]"#, false),
        ("flow.tags.missing in [null]", true),
        ("1 in [1.0, 2]", true),
        (r#""1" in [1]"#, false),
        ("1 in []", false),
        (r#"flow.tags.risk-level in ["low", flow.tags.risk-level]"#, true),
    ]);
}

#[test]
fn logic_and_short_circuit() {
    check(&[
        ("true and true", true),
        ("true and false", false),
        ("false or true", true),
        ("false or false", false),
        ("not false", true),
        ("not not true", true),
        // The right-hand side would be an error; short-circuit means it is never evaluated.
        ("false and flow.tags.version > 1", false),
        ("true or flow.tags.version > 1", true),
    ]);
    assert!(eval("true and flow.tags.version > 1").is_err());
    assert!(eval("false or flow.tags.version > 1").is_err());
}

#[test]
fn precedence_lowest_first_or_and_not_comparison() {
    // `not` binds looser than comparisons: not (risk == "high").
    check(&[
        (r#"not flow.tags.risk-level == "high""#, false),
        (r#"not flow.tags.risk-level == "low""#, true),
        // and binds tighter than or: true or (false and false).
        ("true or false and false", true),
        ("(true or false) and false", false),
        // not binds tighter than and: (not false) and false.
        ("not false and false", false),
        ("not (false and false)", true),
        ("false and false or true", true),
    ]);
    let tree = parse(r#"not flow.name == "x""#).unwrap();
    assert!(matches!(tree.kind, ExprKind::Not(ref inner) if matches!(inner.kind, ExprKind::Compare { .. })));
}

#[test]
fn functions() {
    check(&[
        ("exists(flow.tags.risk-level)", true),
        ("exists(flow.tags.nope)", false),
        ("exists(null)", false),
        (r#"matches(flow.name, "^backend")"#, true),
        (r#"matches(flow.name, "ci$")"#, true),
        (r#"matches(flow.name, "end-c")"#, true),
        (r#"matches(flow.name, "^ci")"#, false),
        (r#"matches(flow.tags.replicas, "^\d+$")"#, true),
        (r#"matches(flow.tags.nope, ".*")"#, false),
        (r#"matches(flow.name, flow.tags.risk-level)"#, false),
        (r#"matches(flow.tags.risk-level, flow.tags.risk-level)"#, true),
    ]);
    assert!(eval("matches(1, \"x\")").unwrap_err().contains("needs a string to search"));
    assert!(eval("matches(flow.name, 1)").unwrap_err().contains("needs a string pattern"));
}

#[test]
fn literal_forms() {
    check(&[
        (r#"'single' == "single""#, true),
        (r#""say \"hi\"" == 'say "hi"'"#, true),
        (r#"'it\'s' == "it's""#, true),
        (r#""back\\slash" == 'back\\slash'"#, true),
        // A backslash before any other character is kept as written.
        (r#"matches("a1", "a\d")"#, true),
        ("0.5 == 0.50", true),
        ("-2 < -1", true),
        ("true", true),
        ("false", false),
        ("[true, 'x', 1, null] == [true, \"x\", 1.0, null]", true),
    ]);
    let tree = parse(r#""a\d""#).unwrap();
    assert_eq!(tree.kind, ExprKind::Literal(Literal::String("a\\d".to_owned())));
}

#[test]
fn dynamic_invalid_regex_is_an_evaluation_error() {
    let flow = FlowEvidence { name: "(".to_owned(), tags: BTreeMap::new() };
    let result = eval_with("matches(\"x\", flow.name)", Some(&flow));
    assert!(result.unwrap_err().contains("invalid regular expression"));
}

#[test]
fn non_boolean_results_are_evaluation_errors() {
    for text in ["flow.name", "1", "null", "[true]", "flow.tags.missing"] {
        let result = eval(text);
        assert!(matches!(&result, Err(e) if e.contains("not a boolean")), "{text}: {result:?}");
    }
    assert!(eval("not flow.name").unwrap_err().contains("`not` needs a boolean"));
    assert!(eval("flow.name and true").unwrap_err().contains("`and` needs a boolean"));
    assert!(eval("false or 1").unwrap_err().contains("`or` needs a boolean"));
}

fn parse_error(text: &str) -> ParseError {
    match parse(text) {
        Ok(tree) => panic!("{text:?} parsed as {tree:?}"),
        Err(err) => err,
    }
}

#[test]
fn load_time_errors_point_at_the_offending_column() {
    let cases: &[(&str, &str, usize)] = &[
        ("match(flow.name, \"x\")", "unknown function `match`", 0),
        ("exists()", "`exists` takes 1 argument, found 0", 0),
        ("matches(flow.name)", "`matches` takes 2 arguments, found 1", 0),
        ("matches(flow.name, \"(\")", "invalid regular expression", 19),
        ("matches(flow.name, \"(?=x)\")", "invalid regular expression", 19),
        ("flow.name = \"x\"", "`=` is not an operator", 10),
        ("flow.name == \"x", "unterminated string", 13),
        ("flow.name == ", "expected a value", 13),
        ("trail.name == \"x\"", "unknown context `trail.name`", 0),
        ("flow.tags == \"x\"", "`flow.tags` needs a tag key", 0),
        ("flow == null", "`flow` is not a value by itself", 0),
        ("high == flow.tags.risk-level", "unknown name `high`", 0),
        ("1 == 1 == 1", "comparisons cannot be chained", 7),
        ("flow.name in \"abc\"", "`in` needs a list", 13),
        ("(true", "expected `)`", 5),
        ("true true", "unexpected `true` after a complete expression", 5),
        ("", "empty expression", 0),
        ("a && b", "`&&` is not an operator", 2),
        ("true && false", "`&&` is not an operator", 5),
        ("!true", "`!` is not an operator", 0),
        ("flow.name == $x", "unexpected character `$`", 13),
        ("[1, 2", "expected `,` or `]`", 5),
        ("- x", "`-` must be followed by a number", 0),
        ("true and", "expected a value, found the end of the expression", 8),
        ("not", "expected a value", 3),
        ("1 == and", "expected a value, found the keyword `and`", 5),
    ];
    for (text, message, column) in cases {
        let err = parse_error(text);
        assert!(err.message.contains(message), "{text:?}: {:?} should contain {message:?}", err.message);
        assert_eq!(err.span.start, *column, "{text:?}: {err:?}");
    }
}

#[test]
fn errors_suggest_what_to_write() {
    assert_eq!(parse_error("match(x, y)").hint.as_deref(), Some("did you mean `matches`?"));
    assert_eq!(parse_error("exist(x)").hint.as_deref(), Some("did you mean `exists`?"));
    assert!(parse_error("x = 1").hint.unwrap().contains("`==`"));
    assert!(parse_error("high == x").hint.unwrap().contains("\"high\""));
}

#[test]
fn deep_nesting_is_rejected_not_overflowed() {
    let deep = format!("{}true{}", "(".repeat(500), ")".repeat(500));
    assert!(parse_error(&deep).message.contains("nested deeper"));
    let nots = format!("{}true", "not ".repeat(500));
    assert!(parse_error(&nots).message.contains("nested deeper"));
    let shallow = format!("{}true{}", "(".repeat(20), ")".repeat(20));
    assert!(parse(&shallow).is_ok());
}

#[test]
fn printing_is_canonical() {
    let cases = [
        ("not flow.name == 'x'", "not flow.name == \"x\""),
        ("(a.b)", "error"),
        ("true or false and false", "true or false and false"),
        ("(true or false) and false", "(true or false) and false"),
        ("not (true and false)", "not (true and false)"),
        ("(not true) == false", "(not true) == false"),
        ("true and (false and true)", "true and (false and true)"),
        ("flow.tags.a.b in [1,'x',null]", "flow.tags.a.b in [1, \"x\", null]"),
        ("matches(artifact.name, '\\d')", "matches(artifact.name, \"\\\\d\")"),
    ];
    for (input, printed) in cases {
        match parse(input) {
            Ok(tree) => assert_eq!(tree.to_string(), printed, "{input}"),
            Err(_) => assert_eq!(printed, "error", "{input}"),
        }
    }
}

fn arb_string() -> impl Strategy<Value = String> {
    prop::string::string_regex("[a-z0-9 _\\\\\"'.-]{0,8}").expect("valid regex")
}

fn arb_leaf() -> impl Strategy<Value = Expr> {
    let leaf = |kind: ExprKind| Expr { kind, span: Span::default() };
    prop_oneof![
        arb_string().prop_map(move |s| leaf(ExprKind::Literal(Literal::String(s)))),
        (-1.0e6f64..1.0e6).prop_map(move |n| leaf(ExprKind::Literal(Literal::Number(n)))),
        (0u32..1000).prop_map(move |n| leaf(ExprKind::Literal(Literal::Number(f64::from(n))))),
        any::<bool>().prop_map(move |b| leaf(ExprKind::Literal(Literal::Bool(b)))),
        Just(leaf(ExprKind::Literal(Literal::Null))),
        Just(leaf(ExprKind::Context(ContextPath::FlowName))),
        Just(leaf(ExprKind::Context(ContextPath::ArtifactName))),
        Just(leaf(ExprKind::Context(ContextPath::ArtifactFingerprint))),
        prop::string::string_regex("[a-z][a-z0-9_./-]{0,10}")
            .expect("valid regex")
            .prop_map(move |key| leaf(ExprKind::Context(ContextPath::FlowTag(key)))),
    ]
}

fn arb_expr() -> impl Strategy<Value = Expr> {
    let node = |kind: ExprKind| Expr { kind, span: Span::default() };
    arb_leaf().prop_recursive(5, 48, 4, move |inner| {
        let ops = prop_oneof![
            Just(CompareOp::Eq),
            Just(CompareOp::Ne),
            Just(CompareOp::Lt),
            Just(CompareOp::Gt),
            Just(CompareOp::Le),
            Just(CompareOp::Ge),
        ];
        prop_oneof![
            inner.clone().prop_map(move |e| node(ExprKind::Not(Box::new(e)))),
            (inner.clone(), inner.clone(), any::<bool>()).prop_map(move |(l, r, and)| {
                let op = if and { LogicOp::And } else { LogicOp::Or };
                node(ExprKind::Logic { op, left: Box::new(l), right: Box::new(r) })
            }),
            (ops, inner.clone(), inner.clone()).prop_map(move |(op, l, r)| {
                node(ExprKind::Compare { op, left: Box::new(l), right: Box::new(r) })
            }),
            (inner.clone(), prop::collection::vec(inner.clone(), 0..4)).prop_map(move |(l, items)| {
                let list = node(ExprKind::List(items));
                node(ExprKind::Compare { op: CompareOp::In, left: Box::new(l), right: Box::new(list) })
            }),
            prop::collection::vec(inner.clone(), 0..4).prop_map(move |items| node(ExprKind::List(items))),
            inner.clone().prop_map(move |e| node(ExprKind::Exists(Box::new(e)))),
            (inner.clone(), inner).prop_map(move |(s, p)| {
                node(ExprKind::Matches { subject: Box::new(s), pattern: Box::new(p), compiled: None })
            }),
        ]
    })
}

/// Replaces literal patterns' compiled regexes the way the parser fills them in, and drops trees whose
/// literal patterns are invalid regexes (the parser rejects those by design).
fn normalise(expr: &mut Expr) -> bool {
    match &mut expr.kind {
        ExprKind::Matches { subject, pattern, compiled } => {
            if let ExprKind::Literal(Literal::String(source)) = &pattern.kind {
                match regex::Regex::new(source) {
                    Ok(regex) => *compiled = Some(LiteralRegex(std::sync::Arc::new(regex))),
                    Err(_) => return false,
                }
            }
            normalise(subject) && normalise(pattern)
        }
        ExprKind::Not(inner) | ExprKind::Exists(inner) => normalise(inner),
        ExprKind::Logic { left, right, .. } | ExprKind::Compare { left, right, .. } => {
            normalise(left) && normalise(right)
        }
        ExprKind::List(items) => items.iter_mut().all(normalise),
        ExprKind::Literal(_) | ExprKind::Context(_) => true,
    }
}

fn depth(expr: &Expr) -> usize {
    match &expr.kind {
        ExprKind::Not(inner) | ExprKind::Exists(inner) => 1 + depth(inner),
        ExprKind::Logic { left, right, .. }
        | ExprKind::Compare { left, right, .. }
        | ExprKind::Matches { subject: left, pattern: right, .. } => 1 + depth(left).max(depth(right)),
        ExprKind::List(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn printing_then_parsing_gives_the_same_tree(mut expr in arb_expr()) {
        prop_assume!(normalise(&mut expr) && depth(&expr) < 30);
        let printed = expr.to_string();
        let reparsed = parse(&printed).map_err(|e| TestCaseError::fail(format!("{printed}: {e}")))?;
        prop_assert_eq!(&reparsed, &expr, "printed as {}", printed);
        // Printing is a fixed point.
        prop_assert_eq!(reparsed.to_string(), printed);
    }

    #[test]
    fn parser_never_panics(text in "\\PC{0,64}") {
        let _ = parse(&text);
    }

    #[test]
    fn evaluation_never_panics(expr in arb_expr()) {
        let flow = flow();
        let scope = Scope { flow: Some(&flow), artifact_name: "a", artifact_fingerprint: FP };
        let _ = expr.eval(&scope);
    }
}

#[test]
fn whole_contexts_exist_only_inside_exists() {
    for text in ["exists(flow)", "exists(artifact)", "exists(flow.tags)", "not exists(flow)"] {
        assert!(parse(text).is_ok(), "{text}");
    }
    assert_eq!(eval("exists(flow)"), Ok(true));
    assert_eq!(eval("exists(flow.tags)"), Ok(true));
    assert_eq!(eval("exists(artifact)"), Ok(true));
    assert_eq!(eval_with("exists(flow)", None), Ok(false));
    assert_eq!(eval_with("exists(flow.tags)", None), Ok(false));
    assert_eq!(eval_with("not exists(flow)", None), Ok(true));
    // Outside exists they are still not values.
    for text in [r#"flow == "x""#, "artifact", "exists(flow) and flow"] {
        assert!(parse(text).is_err(), "{text}");
    }
    // Printed and parsed again, the tree is the same.
    let tree = parse("exists(flow) or exists(flow.tags)").unwrap();
    assert_eq!(parse(&tree.to_string()).unwrap(), tree);
}

/// Every example of Kosli's environment policy reference (policy-reference/environment_policy, operators,
/// contexts and functions tables), evaluated on the flow above (`backend-ci`, risk-level `high`, …) and
/// the artifact `backend`; the expected values are worked out by hand from that reference.
#[test]
fn kosli_reference_examples() {
    check(&[
        (r#"flow.tags.risk-level == "high" and matches(artifact.name, "^prod:.*")"#, false),
        (r#"flow.name == "runner""#, false),
        (r#"flow.tags.risk-level != "high""#, false),
        ("flow.tags.replicas < 3", false),
        ("flow.tags.replicas > 1", true),
        (r#"flow.name == "a" and artifact.name == "b""#, false),
        (r#"flow.name == "a" or flow.name == "b""#, false),
        (r#"not flow.tags.risk-level == "high""#, false),
        (r#"flow.name in ["runner", "saver"]"#, false),
        (r#"flow.name == 'prod' and (flow.tags.team == "a" or artifact.name == 'svc')"#, false),
        (r#"flow.tags.key.with.dots == "dotted""#, true),
        ("exists(flow)", true),
        (r#"matches(artifact.name, "^datadog:.*")"#, false),
        (r#"flow.tags.risk-level == "high""#, true),
    ]);
    // The ordering examples on a non-numeric tag are evaluation errors (DESIGN.md rule 5), not false.
    assert!(eval("flow.tags.risk-level <= 2").unwrap_err().contains("eval"));
    assert!(eval("flow.tags.risk-level >= 2").unwrap_err().contains("eval"));
    // Without provenance (no flow): exists(flow) is false, the datadog exception still matches by name.
    assert_eq!(eval_with("exists(flow)", None), Ok(false));
    let scope = Scope { flow: None, artifact_name: "datadog:agent-7", artifact_fingerprint: FP };
    let expr = parse(r#"matches(artifact.name, "^datadog:.*")"#).unwrap();
    assert_eq!(expr.eval_condition(&scope), Ok(true));
}
