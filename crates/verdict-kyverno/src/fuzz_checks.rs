//! The checks the fuzz targets run (and `cargo test` replays over their corpora): whatever the input,
//! the engine answers — a result or an error — and never panics, and its answers are deterministic.

use serde_json::Value;

use crate::engine::{Request, Values, evaluate_policy};
use crate::matching::RequestInfo;
use crate::pattern::match_pattern;
use crate::policy::load_policy_file;

/// `text` is a pattern and a resource, two YAML documents separated by `---`: matching never panics
/// and gives the same answer twice; a pattern also matches against itself without panicking.
pub fn check_pattern(text: &str) -> Result<(), String> {
    let Ok(documents) = verdict_policy::yaml::parse_documents(text) else { return Ok(()) };
    let mut documents = documents.iter().map(|d| d.to_json());
    let pattern = documents.next().unwrap_or(Value::Null);
    let resource = documents.next().unwrap_or(Value::Null);
    let first = match_pattern(&resource, &pattern);
    let second = match_pattern(&resource, &pattern);
    if first != second {
        return Err(format!("matching is not deterministic: {first:?} then {second:?}"));
    }
    let _ = match_pattern(&pattern, &pattern);
    Ok(())
}

/// `text` is a policy file followed by a resource (the last document): loading and evaluating never
/// panic, and every rule that applies answers with a result.
pub fn check_policy(text: &str) -> Result<(), String> {
    let Ok(documents) = verdict_policy::yaml::parse_documents(text) else { return Ok(()) };
    let Some(resource) = documents.last().map(|d| d.to_json()) else { return Ok(()) };
    let Ok(file) = load_policy_file("fuzz.yaml", text) else { return Ok(()) };
    for operation in ["CREATE", "UPDATE", "DELETE"] {
        let info = RequestInfo { operation: operation.to_owned(), ..RequestInfo::default() };
        let request = Request::for_operation(resource.clone(), info);
        for policy in &file.policies {
            let responses = evaluate_policy(policy, &request, &Values::new());
            if responses.iter().any(|r| r.rule.is_empty()) {
                return Err("a response names no rule".to_owned());
            }
        }
    }
    Ok(())
}
