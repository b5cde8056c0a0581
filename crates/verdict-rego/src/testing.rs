//! `verdict policy test`: runs the `test_*` rules of `*_test.rego` files, as `opa test` does.

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use regorus::Value;
use regorus::utils::limits::ExecutionTimerConfig;
use serde::Serialize;

use crate::ast::{call_name, rule_name};
use crate::engine::{add_policies, new_engine};
use crate::error::{EngineMessage, RegoError};
use crate::policy::{compile_error, with_budget};

/// How one test ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Outcome {
    /// The rule is true.
    Pass,
    /// The rule is false or undefined.
    Fail,
    /// The rule could not be evaluated.
    Error,
}

/// One test's result.
#[derive(Debug, Clone, Serialize)]
pub struct TestResult {
    /// The file that defines the test.
    pub file: String,
    /// The test's full rule path, e.g. `data.policy_test.test_denies_without_pr`.
    pub name: String,
    /// Pass, fail or error.
    pub outcome: Outcome,
    /// The error, for `ERROR`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// How long the evaluation took.
    pub duration_ms: f64,
}

/// A Rego file to load: its name and source.
pub struct SourceFile {
    /// The path, as given.
    pub path: String,
    /// The contents.
    pub source: String,
}

/// Loads every file into one engine (policies and tests together, as `opa test` does) and runs every
/// `test_*` rule of the files whose name ends in `_test.rego`. A file that does not load is an error for
/// the whole run.
pub fn run_tests(files: &[SourceFile], timeout: Duration) -> Result<Vec<TestResult>, RegoError> {
    let mut engine = new_engine();
    let sources: Vec<(&str, &str)> =
        files.iter().map(|file| (file.path.as_str(), file.source.as_str())).collect();
    add_policies(&mut engine, &sources).map_err(|err| {
        let parsed = EngineMessage::parse(&format!("{err:#}"));
        match parsed.location {
            Some(location) => RegoError::Parse { location, message: parsed.message, snippet: parsed.snippet },
            None => compile_error(&err),
        }
    })?;
    let mut tests = Vec::new();
    for module in engine.get_modules().iter() {
        let file = module.package.span.source.get_path().to_string();
        if !file.ends_with("_test.rego") {
            continue;
        }
        let package = call_name(&module.package.refr);
        for rule in &module.policy {
            let name = rule_name(rule);
            if name.starts_with("test_")
                && !tests.iter().any(|(_, n): &(String, String)| *n == format!("data.{package}.{name}"))
            {
                tests.push((file.clone(), format!("data.{package}.{name}")));
            }
        }
    }
    let mut results = Vec::with_capacity(tests.len());
    for (file, name) in tests {
        let mut engine = engine.clone();
        let rule = name.clone();
        let started = Instant::now();
        let outcome = with_budget(timeout, move || {
            engine.set_execution_timer_config(ExecutionTimerConfig {
                limit: timeout,
                check_interval: NonZeroU32::MIN,
            });
            engine.eval_rule(rule).map_err(|err| compile_error(&err))
        });
        let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        let (outcome, message) = match outcome {
            Ok(Value::Bool(true)) => (Outcome::Pass, None),
            Ok(Value::Bool(false) | Value::Undefined) => (Outcome::Fail, None),
            Ok(other) => (Outcome::Fail, Some(format!("the test rule is {other}, not true"))),
            Err(err) => (Outcome::Error, Some(err.to_string())),
        };
        results.push(TestResult { file, name, outcome, message, duration_ms });
    }
    Ok(results)
}
