//! Every policy × input (× params) pair of `../shared/oracles/kosli-evaluate/opa-matrix.json`, evaluated
//! through verdict's Rego layer and compared with real OPA v1.20.2's outcome, violations and error.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use serde_json::Value;
use verdict_rego::{Limits, RegoPolicy};
use verdict_testkit::oracles;

fn read_json(path: &PathBuf) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e} (is ../shared/oracles present?)", path.display()));
    serde_json::from_str(&text).unwrap()
}

#[test]
fn every_pair_matches_real_opa() {
    let dir = oracles().join("kosli-evaluate");
    let matrix = read_json(&dir.join("opa-matrix.json"));
    let rows = matrix["matrix"].as_array().unwrap();
    assert_eq!(rows.len(), 72);
    let mut failures = Vec::new();
    for row in rows {
        let policy_path = row["policy"].as_str().unwrap();
        let input_path = row["input_file"].as_str().unwrap();
        let params = row["params"].as_str().map(|p| read_json(&dir.join(p.trim_start_matches('@'))));
        let source = std::fs::read_to_string(dir.join(policy_path)).unwrap();
        let input = read_json(&dir.join(input_path));
        let outcome = RegoPolicy::load(policy_path, &source)
            .and_then(|policy| match params {
                Some(params) => policy.with_params(regorus::Value::from(params)),
                None => Ok(policy),
            })
            .and_then(|policy| policy.evaluate(regorus::Value::from(input), &Limits::default()));
        let label = format!("{policy_path} × {input_path} × {:?}", row["params"]);
        match (row["outcome"].as_str().unwrap(), outcome) {
            ("allowed", Ok(decision)) if decision.allow => {}
            ("denied", Ok(decision)) if !decision.allow => {
                let want: Vec<String> = serde_json::from_value(row["violations"].clone()).unwrap();
                if decision.violations.as_ref() != Some(&want) {
                    failures.push(format!("{label}: violations {:?}, OPA {want:?}", decision.violations));
                }
            }
            ("error", Err(err)) => {
                let want = row["error_contains"].as_str().unwrap();
                if !err.to_string().contains(want) {
                    failures.push(format!("{label}: error {err:?} does not contain {want:?}"));
                }
            }
            (want, got) => failures.push(format!("{label}: OPA {want}, verdict {got:?}")),
        }
    }
    assert!(failures.is_empty(), "{} of 72 disagree:\n{}", failures.len(), failures.join("\n"));
}
