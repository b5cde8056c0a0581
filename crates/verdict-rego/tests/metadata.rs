//! `rego.metadata.rule()` and `rego.metadata.chain()`: METADATA annotations reach the policy that reads
//! them, per rule definition, with document, package and subpackages scopes, across modules; bad YAML
//! fails the load with its line. Expectations follow OPA's annotation documentation.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;

fn eval(modules: &[(&str, &str)], rule: &str) -> anyhow::Result<serde_json::Value> {
    let mut engine = verdict_rego::engine::new_engine();
    verdict_rego::engine::add_policies(&mut engine, modules)?;
    let value = engine.eval_rule(rule.to_owned())?;
    Ok(serde_json::from_str(&value.to_json_str()?)?)
}

#[test]
fn a_violation_message_reads_its_rules_annotations() {
    let policy = r#"package policy

default allow := false

allow if count(violations) == 0

# METADATA
# title: No mutable tags
# custom:
#   severity: high
violations contains msg if {
  endswith(input.image, ":latest")
  meta := rego.metadata.rule()
  msg := sprintf("%s [%s]: %s", [meta.title, meta.custom.severity, input.image])
}

violations contains msg if {
  input.user == ""
  msg := sprintf("unannotated rule sees %v", [rego.metadata.rule()])
}
"#;
    let loaded = verdict_rego::RegoPolicy::load("policy.rego", policy).unwrap();
    let decision = loaded
        .evaluate(
            regorus::Value::from(json!({"image": "web:latest", "user": ""})),
            &verdict_rego::Limits::default(),
        )
        .unwrap();
    assert!(!decision.allow);
    let mut violations = decision.violations.unwrap();
    violations.sort();
    assert_eq!(violations, ["No mutable tags [high]: web:latest", "unannotated rule sees {}"]);
}

#[test]
fn the_chain_runs_from_the_rule_to_the_outermost_package() {
    let parent = "# METADATA\n# scope: subpackages\n# organizations:\n# - Acme\npackage acme\n";
    let child = r#"# METADATA
# title: Deploy rules
package acme.deploy

# METADATA
# scope: document
# description: Whether a deployment may go ahead
allowed if false

# METADATA
# title: Approved images
# authors:
# - Ann <ann@acme.example>
allowed := rego.metadata.chain() if true

plain := rego.metadata.chain()
"#;
    let chain = eval(&[("parent.rego", parent), ("child.rego", child)], "data.acme.deploy.allowed").unwrap();
    assert_eq!(
        chain,
        json!([
            {"path": ["acme", "deploy", "allowed"],
             "annotations": {"scope": "rule", "title": "Approved images", "authors": [{"name": "Ann", "email": "ann@acme.example"}]}},
            {"path": ["acme", "deploy", "allowed"],
             "annotations": {"scope": "document", "description": "Whether a deployment may go ahead"}},
            {"path": ["acme", "deploy"], "annotations": {"scope": "package", "title": "Deploy rules"}},
            {"path": ["acme"], "annotations": {"scope": "subpackages", "organizations": ["Acme"]}}
        ])
    );
    let plain = eval(&[("child.rego", child), ("parent.rego", parent)], "data.acme.deploy.plain").unwrap();
    assert_eq!(plain[0], json!({"path": ["acme", "deploy", "plain"]}));
    assert_eq!(plain.as_array().unwrap().len(), 3, "{plain}");
}

#[test]
fn malformed_annotations_fail_the_load_at_their_line() {
    let policy = "package policy\n\n# METADATA\n# title: [unclosed\nallow := true\n";
    for source in [policy.to_owned(), format!("{policy}x := rego.metadata.rule()\n")] {
        let err = verdict_rego::RegoPolicy::load("policy.rego", &source).unwrap_err();
        assert_eq!(err.location().map(|l| l.line), Some(3), "{err}");
        assert!(err.to_string().contains("invalid METADATA YAML"), "{err}");
    }
}
