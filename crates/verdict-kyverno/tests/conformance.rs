//! The kyverno/policies oracle (`../shared/oracles/kyverno-policies/`, README section 8): every suite's
//! `kyverno test` file run through verdict's engine. `kyverno-passing.txt` lists the suites that pass;
//! the test checks the list in both directions (a listed suite that fails is a regression, an unlisted
//! one that passes must be added), so the conformance figures in docs/kyverno-conformance.md stay true.
//! `VERDICT_BLESS=1` rewrites the list.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use serde_json::Value;
use verdict_kyverno::testsuite::{Selector, run_test_file};

const PASSING: &str = "tests/kyverno-passing.txt";

#[test]
fn the_oracle_suites_pass_as_listed() {
    let root = verdict_testkit::oracles().join("kyverno-policies");
    let index: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("index.json")).unwrap()).unwrap();
    let mut passing = BTreeSet::new();
    let mut failures = Vec::new();
    let mut totals = std::collections::BTreeMap::<String, (usize, usize)>::new();
    // Rows decided by a rule response, not by "the rule does not apply": an engine that matched
    // nothing would pass every row the Kyverno way, so the share of real decisions is checked too.
    let (mut decided, mut excluded) = (0, 0);
    for case in index["cases"].as_array().unwrap() {
        let test = case["test"].as_str().unwrap();
        let kind = case["kinds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap())
            .collect::<Vec<_>>()
            .join("+");
        let entry = totals.entry(kind).or_default();
        entry.1 += 1;
        match run_test_file(&root.join(test), &Selector::default()) {
            Ok(report) => {
                for row in &report.rows {
                    if row.actual == "excluded" {
                        excluded += 1;
                    } else {
                        decided += 1;
                    }
                }
                let (_, failed) = report.counts();
                if failed == 0 && !report.rows.is_empty() {
                    passing.insert(case["policy_dir"].as_str().unwrap().to_owned());
                    entry.0 += 1;
                } else {
                    let first = report
                        .rows
                        .iter()
                        .find(|r| !r.passed)
                        .map(|r| {
                            format!(
                                "{} {} {}: want {} got {} ({})",
                                r.policy, r.rule, r.resource, r.expected, r.actual, r.message
                            )
                        })
                        .unwrap_or_default();
                    failures.push(format!("{test}: {failed} rows failed; first: {first}"));
                }
            }
            Err(err) => failures.push(format!("{test}: cannot run: {err}")),
        }
    }
    for (kind, (pass, total)) in &totals {
        eprintln!("{kind}: {pass}/{total}");
    }
    eprintln!("rows decided by a rule: {decided}, by exclusion: {excluded}");
    assert!(
        decided >= 9 * (decided + excluded) / 10,
        "too many rows pass only because no rule applied: {excluded} of {}",
        decided + excluded
    );
    if std::env::var("VERDICT_SHOW_FAILURES").is_ok() {
        for failure in &failures {
            eprintln!("{failure}");
        }
    }
    let listed_path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(PASSING);
    if std::env::var("VERDICT_BLESS").is_ok() {
        let text: String = passing.iter().map(|p| format!("{p}\n")).collect();
        std::fs::write(&listed_path, text).unwrap();
    }
    let listed: BTreeSet<String> = std::fs::read_to_string(&listed_path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect();
    let regressed: Vec<&String> = listed.difference(&passing).collect();
    let unlisted: Vec<&String> = passing.difference(&listed).collect();
    assert!(
        regressed.is_empty(),
        "listed as passing but failing now: {regressed:#?}\n{}",
        failures.join("\n")
    );
    assert!(
        unlisted.is_empty(),
        "passing but not listed in {PASSING} (run with VERDICT_BLESS=1): {unlisted:#?}"
    );
}
