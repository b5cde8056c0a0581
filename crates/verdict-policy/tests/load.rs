//! Policy loader tests: valid policies load with the documented defaults, and every invalid policy is
//! rejected with a diagnostic naming file, line and column (snapshots of the rendered messages).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use verdict_policy::{Severity, load_policy};

const HEADER: &str = "_schema: https://kosli.com/schemas/policy/environment/v1\n";

fn errors(source: &str) -> String {
    match load_policy("policy.yml", "policy", source) {
        Ok(_) => panic!("policy should be rejected:\n{source}"),
        Err(diagnostics) => diagnostics.iter().map(|d| d.render(source)).collect::<Vec<_>>().join("\n"),
    }
}

fn first_error(source: &str) -> (usize, usize, String) {
    let diagnostics = load_policy("policy.yml", "policy", source).expect_err("policy should be rejected");
    let d = &diagnostics[0];
    (d.line, d.column, d.message.clone())
}

#[test]
fn empty_policy_is_valid_and_has_no_rules() {
    let loaded = load_policy("p.yml", "p", HEADER).unwrap();
    assert!(loaded.policy.provenance.is_none());
    assert!(loaded.policy.trail_compliance.is_none());
    assert!(loaded.policy.attestations.is_empty());
    assert!(loaded.warnings.is_empty());
}

#[test]
fn schema_url_only_needs_v1_as_last_segment() {
    for url in ["v1", "https://example.com/policy/v1", "https://kosli.com/schemas/policy/environment/v1"] {
        assert!(load_policy("p.yml", "p", &format!("_schema: {url}\n")).is_ok(), "{url}");
    }
}

#[test]
fn defaults_are_applied() {
    let source = format!(
        "{HEADER}artifacts:\n  provenance:\n    exceptions:\n      - if: ${{{{ true }}}}\n  attestations:\n    - type: junit\n"
    );
    let loaded = load_policy("p.yml", "p", &source).unwrap();
    let provenance = loaded.policy.provenance.unwrap();
    assert!(!provenance.required, "required defaults to false");
    assert_eq!(provenance.exceptions.len(), 1);
    let rule = &loaded.policy.attestations[0];
    assert_eq!(rule.name, "*", "name defaults to *");
    assert!(rule.must_be_compliant, "must_be_compliant defaults to true");
    assert!(rule.condition.is_none());
    assert_eq!(loaded.policy.name, "p");
}

#[test]
fn null_sections_are_accepted() {
    let source = format!("{HEADER}artifacts:\n  provenance:\n  attestations:\n");
    let loaded = load_policy("p.yml", "p", &source).unwrap();
    assert!(loaded.policy.provenance.is_some_and(|p| !p.required));
}

#[test]
fn every_attestation_type_is_accepted() {
    for kind in
        ["generic", "junit", "snyk", "pull_request", "jira", "sonar", "decision", "custom:coverage-metrics"]
    {
        let source = format!("{HEADER}artifacts:\n  attestations:\n    - name: x\n      type: {kind}\n");
        assert!(load_policy("p.yml", "p", &source).is_ok(), "{kind}");
    }
    let star = format!("{HEADER}artifacts:\n  attestations:\n    - name: x\n      type: '*'\n");
    assert!(load_policy("p.yml", "p", &star).is_ok());
}

#[test]
fn warns_when_rules_exist_without_provenance() {
    let source = format!("{HEADER}artifacts:\n  trail-compliance:\n    required: true\n");
    let loaded = load_policy("p.yml", "p", &source).unwrap();
    assert_eq!(loaded.warnings.len(), 1);
    assert_eq!(loaded.warnings[0].severity, Severity::Warning);
    assert_eq!((loaded.warnings[0].line, loaded.warnings[0].column), (2, 1));
    let with = format!(
        "{HEADER}artifacts:\n  provenance:\n    required: true\n  attestations:\n    - type: junit\n"
    );
    assert!(load_policy("p.yml", "p", &with).unwrap().warnings.is_empty());
    let not_required = format!(
        "{HEADER}artifacts:\n  provenance:\n    required: false\n  attestations:\n    - type: junit\n"
    );
    assert_eq!(load_policy("p.yml", "p", &not_required).unwrap().warnings.len(), 1);
}

#[test]
fn positions_of_common_mistakes() {
    let cases: Vec<(String, (usize, usize), &str)> = vec![
        ("".to_owned(), (1, 1), "the policy file is empty"),
        ("artifacts: {}\n".to_owned(), (1, 1), "missing required key `_schema`"),
        (
            "_schema: https://kosli.com/schemas/policy/environment/v2\n".to_owned(),
            (1, 10),
            "unsupported policy schema",
        ),
        (format!("{HEADER}artifact:\n  provenance: {{}}\n"), (2, 1), "unknown key `artifact`"),
        (format!("{HEADER}artifacts:\n  provenance:\n    required: yes\n"), (4, 15), "must be a boolean"),
        (format!("{HEADER}artifacts:\n  provenance:\n    requird: true\n"), (4, 5), "unknown key `requird`"),
        (
            format!("{HEADER}artifacts:\n  attestations:\n    - name: x\n      type: snik\n"),
            (5, 13),
            "unknown attestation type `snik`",
        ),
        (
            format!("{HEADER}artifacts:\n  attestations:\n    - name: x\n"),
            (4, 7),
            "missing required key `type`",
        ),
        (
            format!("{HEADER}artifacts:\n  attestations:\n    - type: '*'\n"),
            (4, 13),
            "both `name` and `type` are `*`",
        ),
        (
            format!("{HEADER}artifacts:\n  attestations:\n    - name: '*'\n      type: '*'\n"),
            (5, 13),
            "both `name` and `type` are `*`",
        ),
        (
            format!("{HEADER}artifacts:\n  attestations:\n    - type: junit\n      for_control: C-1\n"),
            (5, 7),
            "`for_control`",
        ),
        (
            format!("{HEADER}artifacts:\n  attestations:\n    - type: junit\n      if: flow.name == 'x'\n"),
            (5, 11),
            "must be wrapped in ${{ … }}",
        ),
        (
            format!(
                "{HEADER}artifacts:\n  provenance:\n    exceptions:\n      - if: ${{{{ flow.name = 'x' }}}}\n"
            ),
            (5, 27),
            "`=` is not an operator",
        ),
        (
            format!(
                "{HEADER}artifacts:\n  provenance:\n    exceptions:\n      - if: \"${{{{ match(flow.name, 'x') }}}}\"\n"
            ),
            (5, 18),
            "unknown function `match`",
        ),
        (
            format!("{HEADER}artifacts:\n  attestations:\n    - type: junit\n      exceptions: []\n"),
            (5, 7),
            "unknown key `exceptions`",
        ),
        (
            format!(
                "{HEADER}artifacts:\n  provenance:\n    required: true\n  provenance:\n    required: false\n"
            ),
            (5, 3),
            "duplicate key",
        ),
        (
            format!("{HEADER}artifacts:\n  provenance:\n    required: true\n---\n_schema: v1\n"),
            (6, 1),
            "one YAML document",
        ),
        ("- a\n- b\n".to_owned(), (1, 1), "the top level must be a mapping"),
        (
            format!("{HEADER}artifacts:\n  attestations:\n    - name: ''\n      type: junit\n"),
            (4, 13),
            "must not be empty",
        ),
        (
            format!("{HEADER}artifacts:\n  provenance:\n    exceptions:\n      - {{}}\n"),
            (5, 9),
            "missing required key `if`",
        ),
    ];
    for (source, (line, column), message) in cases {
        let (l, c, m) = first_error(&source);
        assert!(m.contains(message), "{source}\n{m:?} should contain {message:?}");
        assert_eq!((l, c), (line, column), "{source}\n{m}");
    }
}

#[test]
fn all_errors_are_reported_in_one_pass() {
    let source = format!(
        "{HEADER}artifacts:\n  provenance:\n    required: maybe\n  attestations:\n    - type: snik\n    - name: y\n      type: junit\n      colour: red\n"
    );
    let diagnostics = load_policy("p.yml", "p", &source).unwrap_err();
    let messages: Vec<&str> = diagnostics.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(diagnostics.len(), 3, "{messages:#?}");
    assert!(diagnostics.windows(2).all(|w| (w[0].line, w[0].column) <= (w[1].line, w[1].column)));
}

#[test]
fn two_bad_expressions_are_both_reported() {
    let source = format!(
        "{HEADER}artifacts:\n  provenance:\n    exceptions:\n      - if: ${{{{ a }}}}\n  attestations:\n    - type: junit\n      if: ${{{{ flow.name == }}}}\n"
    );
    assert_eq!(load_policy("p.yml", "p", &source).unwrap_err().len(), 2);
}

#[test]
fn oversized_files_are_refused() {
    let source = format!("{HEADER}# {}\n", "x".repeat(verdict_policy::load::MAX_POLICY_BYTES));
    assert!(first_error(&source).2.contains("the limit is"));
}

#[test]
fn snapshot_unknown_function() {
    insta::assert_snapshot!(errors(&format!(
        "{HEADER}artifacts:\n  provenance:\n    required: true\n    exceptions:\n      - if: ${{{{ match(flow.name, \"^datadog:\") }}}}\n"
    )));
}

#[test]
fn snapshot_invalid_regex() {
    insta::assert_snapshot!(errors(&format!(
        "{HEADER}artifacts:\n  attestations:\n    - name: scan\n      type: snyk\n      if: ${{{{ matches(flow.name, \"(prod\") }}}}\n"
    )));
}

#[test]
fn snapshot_unknown_key_with_suggestion() {
    insta::assert_snapshot!(errors(&format!(
        "{HEADER}artifacts:\n  trail-compliance:\n    required: true\n  attestations:\n    - name: scan\n      type: snyk\n      must-be-compliant: false\n"
    )));
}

#[test]
fn snapshot_wrong_version() {
    insta::assert_snapshot!(errors(
        "_schema: https://kosli.com/schemas/policy/environment/v2\nartifacts: {}\n"
    ));
}

#[test]
fn snapshot_unwrapped_expression_and_bad_type() {
    insta::assert_snapshot!(errors(&format!(
        "{HEADER}artifacts:\n  attestations:\n    - name: pr\n      type: pull-request\n      if: flow.tags.risk-level == \"high\"\n"
    )));
}

#[test]
fn snapshot_chained_comparison() {
    insta::assert_snapshot!(errors(&format!(
        "{HEADER}artifacts:\n  attestations:\n    - name: pr\n      type: pull_request\n      if: ${{{{ 1 < flow.tags.tier < 3 }}}}\n"
    )));
}

#[test]
fn snapshot_yaml_syntax_error_suggests_quoting() {
    insta::assert_snapshot!(errors(&format!(
        "{HEADER}artifacts:\n  attestations:\n    - name: pr\n      type: pull_request\n      if: ${{{{ flow.tags.note == \"a: b\" }}}}\n"
    )));
}
