//! The parser: the AST it returns (hand-written expectations in OPA's shape), the first error with its
//! position, bounded nesting, and properties over generated documents (no panics; the AST survives
//! being returned to a policy and passed back).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use serde_json::json;
use verdict_graphql::{QueryDocument, SchemaDocument, parse_query, parse_schema, to_opa_value};

#[test]
fn a_query_parses_into_opas_ast_shape() {
    let document =
        parse_query("query Q($a: [Int!] = [1]) @live { f: g(x: {y: $a}) { ...F ... on T { z } } }").unwrap();
    let want = json!({"Operations": [{
        "Name": "Q", "Operation": "query",
        "VariableDefinitions": [{
            "Variable": "a", "Used": false,
            "Type": {"Elem": {"NamedType": "Int", "NonNull": true}, "NamedType": "", "NonNull": false},
            "DefaultValue": {"Children": [{"Name": "", "Value": {"Raw": "1", "Kind": 1, "ExpectedTypeHasDefault": false}}],
                             "Raw": "", "Kind": 8, "ExpectedTypeHasDefault": false}
        }],
        "Directives": [{"Name": "live", "Location": ""}],
        "SelectionSet": [{
            "Alias": "f", "Name": "g",
            "Arguments": [{"Name": "x", "Value": {"Raw": "", "Kind": 9, "ExpectedTypeHasDefault": false,
                "Children": [{"Name": "y", "Value": {"Raw": "a", "Kind": 0, "ExpectedTypeHasDefault": false}}]}}],
            "SelectionSet": [{"Name": "F"}, {"TypeCondition": "T", "SelectionSet": [{"Alias": "z", "Name": "z"}]}]
        }]
    }]});
    assert_eq!(to_opa_value(&document), want);
}

#[test]
fn a_schema_parses_into_opas_ast_shape() {
    let document = parse_schema(
        "\"\"\"\n  Root\n\"\"\"\ntype Query implements & A & B @key { a(n: Int = 2): [S!]! }\nunion S = | X | Y\ndirective @key repeatable on OBJECT | INTERFACE\nextend schema { query: Query }",
    )
    .unwrap();
    let want = json!({
        "Definitions": [
            {"Kind": "OBJECT", "Name": "Query", "Description": "Root", "BuiltIn": false, "Interfaces": ["A", "B"],
             "Directives": [{"Name": "key", "Location": ""}],
             "Fields": [{"Name": "a", "Description": "",
                "Arguments": [{"Name": "n", "Description": "", "Type": {"NamedType": "Int", "NonNull": false},
                               "DefaultValue": {"Raw": "2", "Kind": 1, "ExpectedTypeHasDefault": false}}],
                "Type": {"NamedType": "", "NonNull": true, "Elem": {"NamedType": "S", "NonNull": true}}}]},
            {"Kind": "UNION", "Name": "S", "Description": "", "BuiltIn": false, "Types": ["X", "Y"]}
        ],
        "Directives": [{"Name": "key", "Description": "", "IsRepeatable": true, "Locations": ["OBJECT", "INTERFACE"]}],
        "SchemaExtension": [{"Description": "", "OperationTypes": [{"Operation": "query", "Type": "Query"}]}]
    });
    assert_eq!(to_opa_value(&document), want);
}

#[test]
fn the_first_error_is_reported_with_its_position() {
    for (query, want) in [
        ("{", "Expected Name, found <EOF> in GraphQL string at location 1:2"),
        ("{ a(x: ) }", "Unexpected ) in GraphQL string at location 1:8"),
        ("query Q($v: Int = $w) { a }", "Unexpected $ in GraphQL string at location 1:19"),
        ("{ a }\n  }", "Unexpected } in GraphQL string at location 2:3"),
        // As in gqlparser, a malformed token is reported where the parser meets it, at the lexer's position.
        ("{ a(s: \"open) }", "Unexpected <Invalid> in GraphQL string at location 1:16"),
        ("{ a(n: 01) }", "Unexpected <Invalid> in GraphQL string at location 1:9"),
        ("fragment F { a }", "Expected \"on\", found { in GraphQL string at location 1:12"),
        ("{ ... }", "Expected {, found } in GraphQL string at location 1:7"),
    ] {
        let err = parse_query(query).unwrap_err();
        assert_eq!(err.to_string(), want, "{query}");
    }
    for (sdl, want) in [
        ("type A", ""),
        ("scalar", "Expected Name, found <EOF> in GraphQL string at location 1:7"),
        ("extend enum E", "Unexpected <EOF> in GraphQL string at location 1:14"),
        ("directive @d on NOWHERE", "Unexpected Name \"NOWHERE\" in GraphQL string at location 1:17"),
        ("type A { a(x: Int = $v): Int }", "Unexpected $ in GraphQL string at location 1:21"),
        ("query { a }", "Unexpected Name \"query\" in GraphQL string at location 1:1"),
    ] {
        match parse_schema(sdl) {
            Ok(_) => assert_eq!(want, "", "{sdl} parsed"),
            Err(err) => assert_eq!(err.to_string(), want, "{sdl}"),
        }
    }
}

#[test]
fn nesting_is_bounded_without_exhausting_the_stack() {
    let deep_selections = format!("{}{}", "{a".repeat(100_000), "}".repeat(100_000));
    let err = parse_query(&deep_selections).unwrap_err();
    assert!(err.message.contains("nests deeper than"), "{err}");
    let deep_list = format!("{{ a(x: {}1{}) }}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(parse_query(&deep_list).unwrap_err().message.contains("nests deeper than"));
    let deep_type = format!("type A {{ a: {}Int{} }}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(parse_schema(&deep_type).unwrap_err().message.contains("nests deeper than"));
    let fine = format!("{}{}", "{a".repeat(100), "}".repeat(100));
    assert!(parse_query(&fine).is_ok());
}

/// GraphQL-ish text: the tokens and keywords of the language in random order, so generated documents
/// reach deep into the parser rather than failing at the first character.
fn graphql_text() -> impl Strategy<Value = String> {
    let token = prop::sample::select(vec![
        "{",
        "}",
        "(",
        ")",
        "[",
        "]",
        ":",
        "=",
        "@",
        "$",
        "!",
        "|",
        "&",
        "...",
        "query",
        "mutation",
        "fragment",
        "on",
        "type",
        "input",
        "enum",
        "union",
        "interface",
        "scalar",
        "directive",
        "extend",
        "schema",
        "implements",
        "repeatable",
        "FIELD",
        "a",
        "b",
        "1",
        "-2.5e3",
        "\"s\"",
        "\"\"\"b\"\"\"",
        "true",
        "null",
        ",",
        "\n",
        "#c\n",
    ]);
    prop::collection::vec(token, 0..60).prop_map(|tokens| tokens.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parsing_never_panics_and_asts_round_trip(text in graphql_text()) {
        if let Ok(document) = parse_query(&text) {
            let value = to_opa_value(&document);
            let back: QueryDocument = serde_json::from_value(value.clone()).unwrap();
            prop_assert_eq!(to_opa_value(&back), value);
        }
        if let Ok(document) = parse_schema(&text) {
            let value = to_opa_value(&document);
            let back: SchemaDocument = serde_json::from_value(value.clone()).unwrap();
            prop_assert_eq!(to_opa_value(&back), value);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,200}") {
        let _ = parse_query(&text);
        let _ = parse_schema(&text);
    }
}
