//! verdict's Rego contract beyond Kosli's cases: load-time builtin checks, the time budget, panic
//! isolation, and the shapes `allow` and `violations` must have. Every error path is an error, never an
//! allow.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use regorus::Value;
use verdict_rego::{Limits, RegoError, RegoPolicy};

fn load(source: &str) -> Result<RegoPolicy, RegoError> {
    RegoPolicy::load("policy.rego", source)
}

fn eval(source: &str, input: &str) -> Result<verdict_rego::Decision, RegoError> {
    load(source)?.evaluate(Value::from_json_str(input).unwrap(), &Limits::default())
}

#[test]
fn network_and_unknown_builtins_fail_at_load() {
    for (source, message) in [
        (
            "package policy\nallow if { http.send({\"url\": \"http://x\"}) }\n",
            "builtin http.send is not supported",
        ),
        (
            "package policy\nallow if { net.lookup_ip_addr(\"example.com\") }\n",
            "builtin net.lookup_ip_addr is not supported",
        ),
        ("package policy\nallow if { frobnicate(1) }\n", "unknown function frobnicate"),
    ] {
        let err = load(source).unwrap_err();
        assert!(err.to_string().contains(message), "{err}");
        assert_eq!(err.location().map(|l| l.line), Some(2), "{err}");
    }
}

#[test]
fn user_functions_imports_and_verdict_builtins_are_known() {
    let source = "package policy\nimport data.lib\nf(x) := x\ndefault allow := false\nallow if { f(1) == 1; crypto.sha256(\"a\") != \"\"; lib.g(1) }\n";
    assert!(load(source).is_ok());
}

#[test]
fn allow_must_be_a_boolean() {
    let err = eval("package policy\nallow := \"yes\"\n", "{}").unwrap_err();
    assert_eq!(err.to_string(), "'data.policy.allow' must be a boolean, got a string (\"yes\")");
    let err = eval("package policy\nallow if { input.x > 1 }\n", "{}").unwrap_err();
    assert_eq!(err, RegoError::AllowUndefined);
}

#[test]
fn violations_must_be_strings_and_are_sorted() {
    let ok =
        eval("package policy\nallow := false\nviolations contains v if { some v in [\"b\", \"a\"] }\n", "{}")
            .unwrap();
    assert_eq!(ok.violations, Some(vec!["a".to_owned(), "b".to_owned()]));
    let err = eval("package policy\nallow := false\nviolations contains 1 if { true }\n", "{}").unwrap_err();
    assert!(matches!(err, RegoError::ViolationsInvalid { .. }), "{err}");
    // Violations are not read when allowed.
    let allowed = eval("package policy\nallow := true\nviolations contains 1 if { true }\n", "{}").unwrap();
    assert_eq!(allowed.violations, None);
}

#[test]
fn params_become_data_params() {
    let policy =
        load("package policy\ndefault allow := false\nallow if { input.score >= data.params.min }\n")
            .unwrap();
    let input = || Value::from_json_str(r#"{"score": 5}"#).unwrap();
    let bound = |min: u64| {
        policy.with_params(Value::from_json_str(&format!(r#"{{"min": {min}}}"#)).unwrap()).unwrap()
    };
    assert!(bound(3).evaluate(input(), &Limits::default()).unwrap().allow);
    assert!(!bound(9).evaluate(input(), &Limits::default()).unwrap().allow);
    // Binding params leaves the original policy unchanged: without them the rule never holds.
    assert!(!policy.evaluate(input(), &Limits::default()).unwrap().allow);
}

/// One builtin call (`numbers.range` building 10^8 numbers) runs without checking regorus's timer.
const RUNAWAY: &str = "package policy\nallow if { count([x | some x in numbers.range(1, 100000000)]) > 0 }\n";

#[test]
fn a_runaway_policy_stops_inside_its_budget_when_isolated() {
    let policy = load(RUNAWAY).unwrap();
    let started = Instant::now();
    let err = policy
        .evaluate_isolated(Value::new_object(), &Limits { timeout: Duration::from_millis(200) })
        .unwrap_err();
    assert_eq!(err, RegoError::Timeout { limit: Duration::from_millis(200) });
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
}

static OVERRUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// On the calling thread the same policy cannot be preempted: its late result is still a timeout (never
/// an allow), and the watchdog reports the overrun while it runs (the CLI's handler exits; see
/// `evaluate_input_cli.rs`). A policy that keeps interpreting is stopped by regorus's timer in time.
#[test]
fn a_runaway_policy_on_the_calling_thread_is_a_timeout_and_reported() {
    verdict_rego::watchdog::set_overrun_handler(|_| {
        OVERRUNS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    });
    let limits = Limits { timeout: Duration::from_millis(200) };
    let err = load(RUNAWAY).unwrap().evaluate(Value::new_object(), &limits).unwrap_err();
    assert_eq!(err, RegoError::Timeout { limit: Duration::from_millis(200) });
    assert!(OVERRUNS.load(std::sync::atomic::Ordering::SeqCst) >= 1, "the watchdog did not report it");
    let looping = load("package policy\nallow if { count([x | some x in numbers.range(1, 200000); y := x * 2; y > 0]) > 0 }\n").unwrap();
    let started = Instant::now();
    let err =
        looping.evaluate(Value::new_object(), &Limits { timeout: Duration::from_millis(100) }).unwrap_err();
    assert_eq!(err, RegoError::Timeout { limit: Duration::from_millis(100) });
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
}

#[test]
fn contract_errors() {
    assert_eq!(load("package foo\nallow := true\n").unwrap_err(), RegoError::Package { found: "foo".into() });
    assert_eq!(
        load("package policy\nviolations contains \"x\" if { true }\n").unwrap_err(),
        RegoError::NoAllow
    );
    let parse = load("package policy\nallow := {{{\n").unwrap_err();
    assert!(matches!(parse, RegoError::Parse { .. }), "{parse}");
    assert!(parse.to_string().contains("policy.rego:"), "{parse}");
}

#[test]
fn kosli_snyk_example_with_an_unused_every_key_is_accepted() {
    // OPA 1.20 rejects `every name, artifact in …` with `name` unused; verdict accepts it (docs/rego.md).
    let source = "package policy\ndefault allow := false\nallow if {\n  every name, artifact in input.trail.artifacts {\n    artifact.ok\n  }\n}\n";
    assert!(eval(source, r#"{"trail": {"artifacts": {"a": {"ok": true}}}}"#).unwrap().allow);
    assert!(!eval(source, r#"{"trail": {"artifacts": {"a": {"ok": false}}}}"#).unwrap().allow);
}
