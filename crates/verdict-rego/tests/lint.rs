//! `policy lint`: every check has a policy that triggers it and one that does not.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use verdict_rego::lint::{Severity, lint};

fn checks(source: &str) -> Vec<(&'static str, Severity, u32)> {
    lint("p.rego", source).into_iter().map(|f| (f.check, f.severity, f.line)).collect()
}

fn has(source: &str, check: &str) -> bool {
    lint("p.rego", source).iter().any(|f| f.check == check)
}

const GOOD: &str = "package policy\n\ndefault allow := false\n\nallow if {\n\tinput.trail.compliance_status.attestations_statuses[\"pull-request\"].compliant\n}\n\nviolations contains \"no approved pull request\" if { not allow }\n";

#[test]
fn a_good_policy_has_no_findings() {
    assert_eq!(checks(GOOD), []);
}

#[test]
fn allow_from_count_of_violations() {
    let bad = "package policy\ndefault allow := false\nallow if {\n\tcount(violations) == 0\n}\nviolations contains \"x\" if { input.bad }\n";
    assert_eq!(checks(bad), [("allow-from-absence", Severity::Error, 4)]);
    for variant in [
        "0 == count(violations)",
        "count(violations) < 1",
        "count(violations) <= 0",
        "count(data.policy.violations) == 0",
    ] {
        let source = format!(
            "package policy\ndefault allow := false\nallow if {{ {variant} }}\nviolations contains \"x\" if {{ input.bad }}\n"
        );
        assert!(has(&source, "allow-from-absence"), "{variant}");
    }
    // Counting something that is not a rule of the policy is fine, and so is requiring a non-empty set.
    let fine = "package policy\ndefault allow := false\nallow if { count(input.approvers) >= 2 }\n";
    assert!(!has(fine, "allow-from-absence"));
    let fine = "package policy\ndefault allow := false\nallow if { count(approved) > 0 }\napproved contains a if { some a in input.approvers }\n";
    assert!(!has(fine, "allow-from-absence"));
}

#[test]
fn allow_from_negation_of_a_rule() {
    let bad = "package policy\ndefault allow := false\nallow if { not any_violation }\nany_violation if { input.bad }\n";
    assert_eq!(checks(bad), [("allow-from-absence", Severity::Error, 3)]);
    let fine = "package policy\ndefault allow := false\nallow if { not input.blocked }\n";
    assert!(!has(fine, "allow-from-absence"));
}

#[test]
fn allow_assigned_from_an_empty_count() {
    let bad = "package policy\ndefault allow := false\nallow := count(violations) == 0\nviolations contains \"x\" if { input.bad }\n";
    assert!(has(bad, "allow-from-absence"));
}

#[test]
fn the_kosli_realistic_policy_is_flagged() {
    // The oracle's realistic policy derives allow from `count(violations) == 0`: exactly the trap.
    let path = verdict_testkit::oracles().join("kosli-evaluate/policies/realistic-compliance.rego");
    let source = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(has(&source, "allow-from-absence"));
}

#[test]
fn default_allow() {
    let missing = "package policy\nallow if { input.ok }\n";
    assert_eq!(checks(missing), [("no-default-allow", Severity::Warning, 2)]);
    let permissive = "package policy\ndefault allow := true\nallow if { input.ok }\n";
    assert_eq!(checks(permissive), [("default-allow-true", Severity::Error, 2)]);
    let strict = "package policy\ndefault allow := false\nallow if { input.ok }\n";
    assert_eq!(checks(strict), []);
}

#[test]
fn allow_not_declared() {
    assert_eq!(
        checks("package policy\nviolations contains \"x\" if { true }\n"),
        [("missing-allow", Severity::Error, 1)]
    );
}

#[test]
fn package_not_policy() {
    assert_eq!(
        checks("package compliance\ndefault allow := false\nallow if { input.ok }\n"),
        [("wrong-package", Severity::Error, 1)]
    );
}

#[test]
fn unsupported_builtins() {
    let bad = "package policy\ndefault allow := false\nallow if { http.send({\"url\": input.u}).status_code == 200 }\n";
    assert_eq!(checks(bad), [("unsupported-builtin", Severity::Error, 3)]);
    let fine =
        "package policy\ndefault allow := false\nallow if { crypto.sha256(input.x) == input.digest }\n";
    assert_eq!(checks(fine), []);
}

#[test]
fn threshold_literals_next_to_params() {
    let bad = "package policy\ndefault allow := false\nallow if { input.high <= 3 }\nallow if { data.params.exempt }\n";
    assert_eq!(checks(bad), [("threshold-literal", Severity::Warning, 3)]);
    let fine = "package policy\ndefault allow := false\ndefault max := 3\nmax := data.params.max if { data.params.max }\nallow if { input.high <= max }\n";
    assert_eq!(checks(fine), []);
    // Without data.params a literal threshold is the author's choice.
    assert_eq!(checks("package policy\ndefault allow := false\nallow if { input.high <= 3 }\n"), []);
}

#[test]
fn parse_errors_are_findings() {
    let findings = lint("p.rego", "package policy\nallow := {{{\n");
    assert_eq!(findings.len(), 1);
    assert_eq!((findings[0].check, findings[0].severity), ("parse-error", Severity::Error));
}
