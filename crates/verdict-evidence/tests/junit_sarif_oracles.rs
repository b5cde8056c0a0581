//! JUnit and Snyk SARIF parsing against `../shared/oracles/junit` and `../shared/oracles/snyk-sarif`:
//! every count matches exactly, and every must-reject file is rejected with the expected words.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use verdict_evidence::junit::{Counts, parse_file};
use verdict_evidence::sarif::snyk_summary;

fn counts(value: &Value) -> Counts {
    let n = |k: &str| value[k].as_u64().unwrap();
    Counts {
        tests: n("tests"),
        passed: n("passed"),
        failed: n("failed"),
        errors: n("errors"),
        skipped: n("skipped"),
    }
}

#[test]
fn junit_counts_match_the_oracle() {
    let root = verdict_testkit::oracles().join("junit");
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("expected.json")).unwrap()).unwrap();
    let mut checked = 0;
    for case in expected["files"].as_array().unwrap() {
        let file = case["file"].as_str().unwrap();
        let result = parse_file(&root.join(file), file);
        match case["expect"].as_str().unwrap() {
            "ok" => {
                let suites = result.unwrap_or_else(|e| panic!("{file}: {e}"));
                let want = case["suites"].as_array().unwrap();
                assert_eq!(suites.len(), want.len(), "{file}: suite count");
                let mut totals = Counts::default();
                for (got, want) in suites.iter().zip(want) {
                    assert_eq!(got.name, want["name"].as_str().unwrap(), "{file}");
                    assert_eq!(got.counts, counts(want), "{file}: suite {}", got.name);
                    totals.tests += got.counts.tests;
                    totals.passed += got.counts.passed;
                    totals.failed += got.counts.failed;
                    totals.errors += got.counts.errors;
                    totals.skipped += got.counts.skipped;
                }
                assert_eq!(totals, counts(&case["totals"]), "{file}: totals");
            }
            _ => {
                let error = result.expect_err(file).to_string();
                for words in case["error_contains"].as_array().unwrap() {
                    assert!(error.contains(words.as_str().unwrap()), "{file}: {error:?} lacks {words}");
                }
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 16);
}

#[test]
fn junit_timestamps_match_the_oracle() {
    let root = verdict_testkit::oracles().join("junit");
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("expected.json")).unwrap()).unwrap();
    for (text, seconds) in expected["kosli_rules"]["derived_timestamps"].as_object().unwrap() {
        assert_eq!(verdict_evidence::junit::timestamp_seconds(text), seconds.as_i64().unwrap(), "{text}");
    }
}

#[test]
fn an_empty_results_dir_has_no_tests() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.xml"), "<notes/>").unwrap();
    let error = verdict_evidence::junit::parse_results_dir(dir.path()).unwrap_err().to_string();
    assert!(error.contains("no tests found"), "{error}");
}

#[test]
fn snyk_sarif_matches_the_oracle() {
    let root = verdict_testkit::oracles().join("snyk-sarif");
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("expected.json")).unwrap()).unwrap();
    let mut checked = 0;
    for case in expected["cases"].as_array().unwrap() {
        let file = case["file"].as_str().unwrap();
        let result = snyk_summary(&root.join(file));
        match case["expect"].as_str().unwrap() {
            "ok" => {
                let summary = result.unwrap_or_else(|e| panic!("{file}: {e}"));
                assert_eq!(summary.tool, case["tool"].as_str().unwrap(), "{file}");
                assert_eq!(summary.version, case["version"].as_str().unwrap(), "{file}");
                let runs: Vec<(u64, u64, u64)> =
                    summary.runs.iter().map(|r| (r.high, r.medium, r.low)).collect();
                let want: Vec<(u64, u64, u64)> = case["runs"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| {
                        (
                            r["high"].as_u64().unwrap(),
                            r["medium"].as_u64().unwrap(),
                            r["low"].as_u64().unwrap(),
                        )
                    })
                    .collect();
                assert_eq!(runs, want, "{file}");
            }
            _ => {
                result.expect_err(file);
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 9);
    // Snyk's own JSON gets a hint.
    let error = snyk_summary(&root.join("snyk.json")).unwrap_err().to_string();
    assert!(error.contains("sarif-file-output"), "{error}");
}
