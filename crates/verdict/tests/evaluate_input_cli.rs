//! `verdict evaluate input` against the 25 cases of `../shared/oracles/kosli-evaluate/cases.json`
//! (transcribed from Kosli's CLI tests), through the real binary, plus verdict's own contract tests.
//!
//! Three expectations are adapted, and documented in docs/rego.md: flag-parsing messages come from clap,
//! not Kosli's cobra (`required flag(s) "policy" not set`, the `--assert`/`--no-assert` exclusion), and
//! compile errors name the real file with line *and column* (`unsafe-var.rego:9:7:`) instead of Kosli's
//! fixed `policy.rego:9:`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use regex::Regex;
use serde_json::Value;
use verdict_testkit::oracles;

fn verdict(dir: &Path) -> Command {
    let mut command = Command::cargo_bin("verdict").unwrap();
    command.current_dir(dir).env("NO_COLOR", "1").env_remove("VERDICT_LOG");
    command
}

/// Our wording where Kosli's comes from its CLI framework or fixes the file name.
fn adapted_error_regex(case: &str, regex: &str) -> String {
    match case {
        "missing --policy flag fails" => {
            "the following required arguments were not provided:[\\s\\S]*--policy".to_owned()
        }
        "--assert and --no-assert together are mutually exclusive" => {
            "the argument '--assert' cannot be used with '--no-assert'".to_owned()
        }
        "policy with an unsafe variable reports the rego error with line number" => {
            "policies/unsafe-var\\.rego:9:\\d+: rego_unsafe_var_error".to_owned()
        }
        _ => regex.to_owned(),
    }
}

struct Run {
    code: i32,
    combined: String,
    stdout: String,
}

fn run(dir: &Path, argv: &[String], stdin: Option<&str>) -> Run {
    let mut command = verdict(dir);
    command.args(["evaluate", "input"]).args(argv);
    // Kosli's tests either feed stdin or do not use it; with no stdin given, give an empty one so the
    // binary never waits on a terminal.
    command.write_stdin(stdin.unwrap_or_default());
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    Run { code: output.status.code().unwrap(), combined: format!("{stdout}{stderr}"), stdout }
}

fn lookup<'a>(json: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(json, |value, key| &value[key])
}

#[test]
fn kosli_evaluate_cases() {
    let dir = oracles().join("kosli-evaluate");
    let text = std::fs::read_to_string(dir.join("cases.json"))
        .unwrap_or_else(|e| panic!("{e}: ../shared/oracles missing?"));
    let cases: Value = serde_json::from_str(&text).unwrap();
    let cases = cases["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 25);
    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let argv: Vec<String> = serde_json::from_value(case["argv"].clone()).unwrap();
        let expected = &case["expected"];
        let stdin = case["args"]["stdin"].as_str();
        let result = run(&dir, &argv, stdin);
        let outcome = expected["outcome"].as_str().unwrap();
        let want_code = match (outcome, expected["exit_nonzero"].as_bool().unwrap()) {
            ("error", _) => 2,
            (_, true) => 1,
            (_, false) => 0,
        };
        if result.code != want_code {
            failures.push(format!("{name}: exit {} (want {want_code})\n{}", result.code, result.combined));
            continue;
        }
        for key in ["output_regex", "error_regex"] {
            if let Some(regex) = expected[key].as_str() {
                let regex = adapted_error_regex(name, regex);
                if !Regex::new(&regex).unwrap().is_match(&result.combined) {
                    failures.push(format!("{name}: output does not match {regex:?}:\n{}", result.combined));
                }
            }
        }
        if let Some(checks) = expected["json_checks"].as_array() {
            let json: Value = serde_json::from_str(&result.stdout).unwrap_or(Value::Null);
            for check in checks {
                let path = check["path"].as_str().unwrap();
                if lookup(&json, path) != &check["value"] {
                    failures.push(format!(
                        "{name}: {path} = {}, want {}",
                        lookup(&json, path),
                        check["value"]
                    ));
                }
            }
        }
        if let Some(want) = expected["violations"].as_array() {
            // Compare the violations with real OPA's through the JSON output of the same invocation.
            let mut json_argv: Vec<String> =
                argv.iter().filter(|a| *a != "--output" && *a != "json").cloned().collect();
            json_argv.extend(["--output".to_owned(), "json".to_owned()]);
            let json_run = run(&dir, &json_argv, stdin);
            let json: Value = serde_json::from_str(&json_run.stdout).unwrap_or(Value::Null);
            let got = match &json["violations"] {
                Value::Null => Vec::new(),
                other => other.as_array().cloned().unwrap_or_default(),
            };
            if &got != want {
                failures.push(format!("{name}: violations {got:?}, want {want:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{} of 25 cases fail:\n\n{}", failures.len(), failures.join("\n\n"));
}

#[test]
fn readme_example_denies_the_self_approved_trail() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let run = run(
        &root,
        &[
            "--input-file".into(),
            "examples/rego/pull-request/trails-input.json".into(),
            "--policy".into(),
            "examples/rego/pull-request/pull-request.rego".into(),
            "-o".into(),
            "json".into(),
        ],
        None,
    );
    assert_eq!(run.code, 1, "{}", run.combined);
    let json: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json["allow"], false);
    assert_eq!(
        json["violations"],
        serde_json::json!(["trail \"9f8e7d\" has no pull request approved by someone other than its author"])
    );
}

#[test]
fn runaway_policies_stop_within_their_time_and_memory_budgets() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("hungry.rego");
    std::fs::write(
        &policy,
        "package policy\nallow if { count([x | some x in numbers.range(1, 100000000)]) > 0 }\n",
    )
    .unwrap();
    let policy = policy.display().to_string();
    let memory = run(
        dir.path(),
        &["--policy".into(), policy.clone(), "--max-memory".into(), "128MiB".into()],
        Some("{}"),
    );
    assert_eq!(memory.code, 2, "{}", memory.combined);
    assert!(memory.combined.contains("exceeded the memory limit of 128 MiB"), "{}", memory.combined);
    let slow = dir.path().join("slow.rego");
    std::fs::write(
        &slow,
        "package policy\nallow if { count([x | some x in numbers.range(1, 3000000); x > 0]) < 0 }\n",
    )
    .unwrap();
    let started = std::time::Instant::now();
    let time = run(
        dir.path(),
        &["--policy".into(), slow.display().to_string(), "--timeout".into(), "50ms".into()],
        Some("{}"),
    );
    assert_eq!(time.code, 2, "{}", time.combined);
    assert!(time.combined.contains("exceeded its time budget of 50ms"), "{}", time.combined);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // One long builtin call does not check the engine's timer; the watchdog ends the command with the
    // timeout error shortly after the budget instead of letting it run on (never an allow).
    let started = std::time::Instant::now();
    let stuck = run(
        dir.path(),
        &[
            "--policy".into(),
            policy.clone(),
            "--timeout".into(),
            "300ms".into(),
            "--max-memory".into(),
            "16GiB".into(),
        ],
        Some("{}"),
    );
    assert_eq!(stuck.code, 2, "{}", stuck.combined);
    assert!(stuck.combined.contains("exceeded its time budget of 300ms"), "{}", stuck.combined);
    assert!(started.elapsed() < std::time::Duration::from_secs(3), "took {:?}", started.elapsed());
    let bad = run(dir.path(), &["--policy".into(), policy, "--max-memory".into(), "lots".into()], Some("{}"));
    assert_eq!(bad.code, 2);
}
