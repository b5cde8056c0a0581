//! Every validation rule, each with a document it rejects (and the message, position included) and the
//! schema rules likewise. Expectations are written by hand from the GraphQL specification's examples and
//! gqlparser's message texts.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use verdict_graphql::{Schema, parse_query, parse_schema, validate, validate_all};

const PETS: &str = r#"
  interface Pet { name: String! }
  type Dog implements Pet {
    name: String!
    barkVolume: Int
    doesKnowCommand(dogCommand: DogCommand!): Boolean!
    isHousetrained(atOtherHomes: Boolean): Boolean!
    owner: Human
  }
  type Cat implements Pet { name: String! meowVolume: Int }
  type Human { name: String! pets: [Pet!] }
  union CatOrDog = Cat | Dog
  enum DogCommand { SIT, DOWN, HEEL }
  input FindDog { name: String, command: DogCommand = SIT, minAge: Int! }
  directive @cached(ttl: Int!) on FIELD
  type Query {
    dog: Dog
    pet: Pet
    catOrDog: CatOrDog
    findDog(filter: FindDog): Dog
    dogs(names: [String!]!): [Dog]
    human(id: ID): Human
    pair(a: Int, b: Int): Int
  }
  type Mutation { rename(name: String!): Dog }
  type Subscription { newDog: Dog, newCat: Cat }
"#;

fn schema() -> Schema {
    Schema::build(&parse_schema(PETS).unwrap()).unwrap()
}

fn first_error(query: &str) -> String {
    let document = parse_query(query).unwrap_or_else(|e| panic!("{query}: {e}"));
    match validate(&schema(), &document) {
        Ok(()) => String::new(),
        Err(err) => err.to_string(),
    }
}

#[test]
fn valid_documents_pass() {
    for query in [
        "{ dog { name barkVolume } }",
        "query Q($cmd: DogCommand!) { dog { doesKnowCommand(dogCommand: $cmd) } }",
        "{ dog { ...DogName owner { name } } } fragment DogName on Dog { name }",
        "{ pet { name ... on Dog { barkVolume } ... on Cat { meowVolume } } }",
        "{ catOrDog { __typename ... on Dog { name } } }",
        "query ($f: Boolean!) { dog { name @include(if: $f) name @skip(if: false) } }",
        "{ findDog(filter: {minAge: 2, command: HEEL}) { name } }",
        "{ dogs(names: [\"rex\", \"fido\"]) { name } }",
        "{ dogs(names: \"rex\") { name } }",
        "query ($n: String = \"x\") { findDog(filter: {name: $n, minAge: 1}) { name } }",
        "{ human(id: 4) { name } human2: human(id: \"4\") { name } }",
        "{ dog { name @cached(ttl: 60) } }",
        "{ __schema { queryType { name } } __type(name: \"Dog\") { fields { name } } }",
        "mutation { rename(name: \"x\") { name } }",
        "subscription { newDog { name } }",
        "{ dog { isHousetrained(atOtherHomes: null) } }",
        // gqlparser (so OPA) does not range-check Int literals.
        "{ findDog(filter: {minAge: 3000000000}) { name } }",
    ] {
        assert_eq!(first_error(query), "", "{query}");
    }
}

#[test]
fn each_rule_rejects_its_violation() {
    let cases = [
        (
            "{ dog { meowVolume } }",
            "Cannot query field \"meowVolume\" on type \"Dog\". in GraphQL string at location 1:9",
        ),
        ("{ dog { name(x: 1) } }", "Unknown argument \"x\" on field \"Dog.name\"."),
        (
            "{ dog { doesKnowCommand } }",
            "Field \"doesKnowCommand\" argument \"dogCommand\" of type \"DogCommand!\" is required, but it was not provided.",
        ),
        (
            "{ dog { isHousetrained(atOtherHomes: true, atOtherHomes: false) } }",
            "There can be only one argument named \"atOtherHomes\".",
        ),
        ("{ dog { name @unknown } }", "Unknown directive \"@unknown\"."),
        ("query @cached(ttl: 1) { dog { name } }", "Directive \"@cached\" may not be used on QUERY."),
        (
            "{ dog { name @cached(ttl: 1) @cached(ttl: 2) } }",
            "The directive \"@cached\" can only be used once at this location.",
        ),
        (
            "{ dog { name @cached } }",
            "Directive \"@cached\" argument \"ttl\" of type \"Int!\" is required, but it was not provided.",
        ),
        ("{ dog { ...Missing } }", "Unknown fragment \"Missing\"."),
        ("{ dog { ... on Robot { name } } }", "Unknown type \"Robot\"."),
        (
            "{ dog { name } } fragment F on DogCommand { name } query Q { dog { ...F } }",
            "This anonymous operation must be the only defined operation.",
        ),
        ("query Q { dog { name } } query Q { pet { name } }", "There can be only one operation named \"Q\"."),
        (
            "{ dog { ...A } } fragment A on Dog { name } fragment A on Dog { name }",
            "There can be only one fragment named \"A\".",
        ),
        ("{ dog { name } } fragment Unused on Dog { name }", "Fragment \"Unused\" is never used."),
        (
            "{ dog { ...A } } fragment A on Dog { ...B } fragment B on Dog { ...A }",
            "Cannot spread fragment \"A\" within itself via \"B\".",
        ),
        (
            "{ dog { ... on DogCommand { name } } }",
            "Fragment cannot condition on non composite type \"DogCommand\".",
        ),
        (
            "{ dog { ...F } } fragment F on DogCommand { name }",
            "Fragment \"F\" cannot condition on non composite type \"DogCommand\".",
        ),
        (
            "{ dog { ... on Cat { meowVolume } } }",
            "Fragment cannot be spread here as objects of type \"Dog\" can never be of type \"Cat\".",
        ),
        (
            "{ dog { ...C } } fragment C on Cat { meowVolume }",
            "Fragment \"C\" cannot be spread here as objects of type \"Dog\" can never be of type \"Cat\".",
        ),
        (
            "{ dog { name { first } } }",
            "Field \"name\" must not have a selection since type \"String!\" has no subfields.",
        ),
        (
            "{ dog }",
            "Field \"dog\" of type \"Dog\" must have a selection of subfields. Did you mean \"dog { ... }\"?",
        ),
        (
            "subscription S { newDog { name } newCat { name } }",
            "Subscription \"S\" must select only one top level field.",
        ),
        ("query ($a: Int, $a: Int) { dog { barkVolume } }", "There can be only one variable named \"$a\"."),
        ("query ($d: Dog) { dog { name } }", "Variable \"$d\" cannot be non-input type \"Dog\"."),
        ("query ($d: Robot) { dog { name } }", "Unknown type \"Robot\"."),
        (
            "query Q { dog { doesKnowCommand(dogCommand: $cmd) } }",
            "Variable \"$cmd\" is not defined by operation \"Q\".",
        ),
        ("query ($unused: Int) { dog { name } }", "Variable \"$unused\" is never used."),
        (
            "query ($c: DogCommand) { dog { doesKnowCommand(dogCommand: $c) } }",
            "Variable \"$c\" of type \"DogCommand\" used in position expecting type \"DogCommand!\".",
        ),
        (
            "query ($n: [String]) { dogs(names: $n) { name } }",
            "Variable \"$n\" of type \"[String]\" used in position expecting type \"[String!]!\".",
        ),
        (
            "{ dog { doesKnowCommand(dogCommand: JUMP) } }",
            "Value \"JUMP\" does not exist in \"DogCommand\" enum.",
        ),
        (
            "{ dog { doesKnowCommand(dogCommand: \"SIT\") } }",
            "Enum \"DogCommand\" cannot represent non-enum value: \"SIT\".",
        ),
        (
            "{ dog { doesKnowCommand(dogCommand: null) } }",
            "Expected value of type \"DogCommand!\", found null.",
        ),
        (
            "{ findDog(filter: {minAge: 1, color: \"red\"}) { name } }",
            "Field \"color\" is not defined by type \"FindDog\".",
        ),
        (
            "{ findDog(filter: {name: \"x\"}) { name } }",
            "Field \"FindDog.minAge\" of required type \"Int!\" was not provided.",
        ),
        (
            "{ findDog(filter: {minAge: 1, minAge: 2}) { name } }",
            "There can be only one input field named \"minAge\".",
        ),
        ("{ findDog(filter: 3) { name } }", "Expected value of type \"FindDog\", found 3."),
        ("{ findDog(filter: {minAge: 1.5}) { name } }", "Int cannot represent non-integer value: 1.5"),
        ("{ human(id: true) { name } }", "ID cannot represent a non-string and non-integer value: true"),
        ("{ dogs(names: [1]) { name } }", "String cannot represent a non string value: 1"),
        (
            "{ dog { isHousetrained(atOtherHomes: \"yes\") } }",
            "Boolean cannot represent a non boolean value: \"yes\"",
        ),
        (
            "{ dog { name: barkVolume name } }",
            "Fields \"name\" conflict because \"barkVolume\" and \"name\" are different fields.",
        ),
        (
            "{ dog { isHousetrained(atOtherHomes: true) isHousetrained(atOtherHomes: false) } }",
            "Fields \"isHousetrained\" conflict because they have differing arguments.",
        ),
        (
            "{ pet { ... on Dog { x: barkVolume } ... on Cat { x: name } } }",
            "Fields \"x\" conflict because they return conflicting types \"Int\" and \"String!\".",
        ),
    ];
    for (query, want) in cases {
        let got = first_error(query);
        assert!(got.contains(want), "{query}\n  got:  {got}\n  want: {want}");
    }
}

#[test]
fn operations_the_schema_has_no_root_for_are_rejected() {
    let schema = Schema::build(&parse_schema("type Query { a: Int }").unwrap()).unwrap();
    let err = validate(&schema, &parse_query("mutation { a }").unwrap()).unwrap_err();
    assert_eq!(err.message, "Schema does not support operation type \"mutation\"");
}

#[test]
fn every_violation_is_reported_in_document_order() {
    let document = parse_query("{ dog { meowVolume } pet { bark } }").unwrap();
    let errors: Vec<String> = validate_all(&schema(), &document).into_iter().map(|e| e.message).collect();
    assert_eq!(
        errors,
        [
            "Cannot query field \"meowVolume\" on type \"Dog\".",
            "Cannot query field \"bark\" on type \"Pet\"."
        ]
    );
}

#[test]
fn schemas_are_checked_as_gqlparser_checks_them() {
    let cases = [
        ("type A { a: Int } type A { b: Int }", "Cannot redeclare type A."),
        ("directive @d on FIELD directive @d on FIELD", "Cannot redeclare directive d."),
        (
            "scalar S extend type S @deprecated",
            "Cannot extend type S because the base type is a SCALAR, not OBJECT.",
        ),
        (
            "type Query { a: Int } schema { query: Query } schema { query: Query }",
            "Cannot have multiple schema entry points",
        ),
        ("schema { query: Missing }", "Schema root query refers to a type Missing that does not exist."),
        ("type A { a: Missing }", "Undefined type Missing."),
        ("type A { a(x: A): Int }", "cannot use A as argument x because OBJECT is not a valid input type"),
        ("union U = I interface I { a: Int }", "UNION type \"I\" must be OBJECT."),
        ("type A implements B { a: Int } type B { a: Int }", "\"B\" is a non interface type OBJECT."),
        (
            "interface I { a: Int } type A implements I { b: Int }",
            "For A to implement I it must have a field called a.",
        ),
        (
            "interface I { a: Int! } type A implements I { a: Int }",
            "For A to implement I the field a must have type Int!.",
        ),
        (
            "interface I { a(x: Int): Int } type A implements I { a: Int }",
            "the field a must have the same arguments but it is missing x.",
        ),
        (
            "interface I { a: Int } type A implements I { a(y: Int!): Int }",
            "any additional arguments on a must be optional or have a default value but y is required.",
        ),
        (
            "interface I implements J { a: Int } interface J { a: Int } type A implements I { a: Int }",
            "Type A must implement J because it is implemented by I.",
        ),
        (
            "type Query { a: Int } input J { a: Query }",
            "OBJECT a: field must be one of SCALAR, ENUM, INPUT_OBJECT.",
        ),
        ("enum E { true }", "ENUM E: non-enum value true."),
        ("type A { a: Int a: String }", "Field A.a can only be defined once."),
        (
            "type __A { a: Int }",
            "Name \"__A\" must not begin with \"__\", which is reserved by GraphQL introspection.",
        ),
        ("type A @unknown { a: Int }", "Undefined directive unknown."),
        ("type A { a: Int @skip(if: true) }", "Directive skip is not applicable on FIELD_DEFINITION."),
        ("directive @d(x: Int @d) on ARGUMENT_DEFINITION", "Directive d cannot refer to itself."),
        ("extend type A implements I", "Undefined type \"I\"."),
        ("type Query { a: Int } extend schema @nowhere", "Undefined directive nowhere."),
        (
            "type Query { q: Int } enum E { A @skip(if: true) }",
            "Directive skip is not applicable on ENUM_VALUE.",
        ),
        ("type Query { q: Int @deprecated(foo: 1) }", "Undefined argument foo for directive deprecated."),
        (
            "directive @tag(name: String!) on OBJECT\ntype Query @tag { q: Int }",
            "Argument name for directive tag cannot be null.",
        ),
        (
            "type Query { a: Int } schema @deprecated { query: Query }",
            "Directive deprecated is not applicable on SCHEMA.",
        ),
    ];
    for (sdl, want) in cases {
        let document = parse_schema(sdl).unwrap_or_else(|e| panic!("{sdl}: {e}"));
        let err = Schema::build(&document).map(|_| ()).unwrap_err();
        assert!(err.to_string().contains(want), "{sdl}\n  got:  {err}\n  want: {want}");
    }
}

#[test]
fn lenient_where_gqlparser_is_lenient() {
    // An extension of an undeclared type declares it; `schema` may be left out; built-in directives
    // may be redeclared.
    for sdl in [
        "extend type Query { a: Int }",
        "type Query { a: Int } directive @skip(if: Boolean!) on FIELD",
        "type Query { a: Int @deprecated(reason: \"old\") } enum E { A @deprecated }",
    ] {
        let document = parse_schema(sdl).unwrap();
        assert!(Schema::build(&document).is_ok(), "{sdl}");
    }
    let schema = Schema::build(&parse_schema("extend type Query { a: Int }").unwrap()).unwrap();
    assert!(validate(&schema, &parse_query("{ a __typename }").unwrap()).is_ok());

    // Field merging follows OPA's rule: a leaf against a composite type under different object types is
    // no conflict, and object arguments compare by kind only.
    for query in [
        "{ catOrDog { ... on Cat { x: meowVolume } ... on Dog { x: owner { name } } } }",
        "{ findDog(filter: {minAge: 1}) { name } findDog(filter: {minAge: 2}) { name } }",
    ] {
        assert_eq!(first_error(query), "", "{query}");
    }
    // Repeated calls compare arguments by name, whatever their order (checked against OPA).
    let two_arguments =
        Schema::build(&parse_schema("type Query { f(a: Int, b: Int): Int }").unwrap()).unwrap();
    for (query, same) in [
        ("{ f(a: 1, b: 2) f(b: 2, a: 1) }", true),
        ("{ f(a: 1, b: 2) f(a: 1, b: 3) }", false),
        ("{ f(a: 1) f(b: 1) }", false),
    ] {
        let result = validate(&two_arguments, &parse_query(query).unwrap());
        assert_eq!(result.is_ok(), same, "{query}: {result:?}");
    }
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    /// Well-formed queries over the pets schema's names (and some it lacks), with arguments, aliases,
    /// directives, inline fragments and spreads, so the generated documents parse and exercise the rules.
    fn selection_set(depth: u32) -> BoxedStrategy<String> {
        let name = prop::sample::select(vec![
            "dog",
            "name",
            "barkVolume",
            "owner",
            "pets",
            "pet",
            "catOrDog",
            "meowVolume",
            "human",
            "nope",
            "__typename",
            "doesKnowCommand",
            "isHousetrained",
            "findDog",
        ]);
        let argument = prop::sample::select(vec![
            "",
            "(dogCommand: SIT)",
            "(dogCommand: $cmd)",
            "(atOtherHomes: true)",
            "(id: 4)",
            "(x: 1)",
            "(filter: {minAge: 1})",
            "(names: [\"a\"])",
        ]);
        let directive =
            prop::sample::select(vec!["", " @skip(if: true)", " @include(if: $flag)", " @cached(ttl: 1)"]);
        let leaf = (name.clone(), argument.clone(), directive.clone())
            .prop_map(|(name, argument, directive)| format!("{name}{argument}{directive}"));
        if depth == 0 {
            return prop::collection::vec(leaf, 1..4)
                .prop_map(|items| format!("{{ {} }}", items.join(" ")))
                .boxed();
        }
        let inner = selection_set(depth - 1);
        let item = prop_oneof![
            3 => leaf,
            2 => (name, argument, inner.clone()).prop_map(|(n, a, s)| format!("{n}{a} {s}")),
            1 => (prop::sample::select(vec!["Dog", "Cat", "Pet", "Human"]), inner).prop_map(|(t, s)| format!("... on {t} {s}")),
            1 => Just("...DogName".to_owned()),
        ];
        prop::collection::vec(item, 1..4).prop_map(|items| format!("{{ {} }}", items.join(" "))).boxed()
    }

    fn document() -> impl Strategy<Value = String> {
        let head = prop::sample::select(vec![
            "",
            "query Q($cmd: DogCommand!, $flag: Boolean!) ",
            "mutation ",
            "subscription S ",
        ]);
        let fragment = prop::sample::select(vec!["", " fragment DogName on Dog { name }"]);
        (head, selection_set(3), fragment).prop_map(|(head, set, fragment)| format!("{head}{set}{fragment}"))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        /// Validation of any parsed document terminates without panicking, and `validate` fails exactly
        /// when `validate_all` finds something, with its first finding.
        #[test]
        fn validation_is_total_and_consistent(text in document()) {
            let schema = schema();
            let Ok(document) = parse_query(&text) else { return Ok(()) };
            let all = validate_all(&schema, &document);
            match validate(&schema, &document) {
                Ok(()) => prop_assert!(all.is_empty(), "{text}: {all:?}"),
                Err(first) => prop_assert_eq!(Some(&first), all.first()),
            }
        }
    }
}
