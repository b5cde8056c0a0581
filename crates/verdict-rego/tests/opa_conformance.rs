//! Runs OPA's v1 compliance cases in `../shared/oracles/opa-conformance/` through verdict's Rego engine
//! set-up (the one the CLI uses) and compares the set of passing cases with the committed list
//! `tests/conformance/expected-passing.txt`, so a regression — or an unrecorded improvement — fails CI.
//!
//! Regenerate the list and the per-folder table of docs/rego-conformance.md after a deliberate change:
//! `VERDICT_UPDATE_CONFORMANCE=1 cargo test -p verdict-rego --test opa_conformance`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU32;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::time::Duration;

use regorus::Value as RegoValue;
use regorus::utils::limits::ExecutionTimerConfig;
use serde_json::Value;
use verdict_testkit::oracles;

/// Numbers compare by value (`1` equals `1.0`); everything else structurally.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fn canonical(value: &Value) -> String {
    // Key order and number spelling must not matter when rows are sorted for comparison.
    match value {
        Value::Number(n) => n.as_f64().map_or_else(|| n.to_string(), |f| format!("{f}")),
        Value::Array(items) => format!("[{}]", items.iter().map(canonical).collect::<Vec<_>>().join(",")),
        Value::Object(map) => {
            let mut entries: Vec<String> =
                map.iter().map(|(k, v)| format!("{k:?}:{}", canonical(v))).collect();
            entries.sort();
            format!("{{{}}}", entries.join(","))
        }
        other => other.to_string(),
    }
}

fn sort_arrays(row: &mut Value) {
    if let Value::Object(map) = row {
        for value in map.values_mut() {
            if let Value::Array(items) = value {
                items.sort_by_key(canonical);
            }
        }
    }
}

/// The message a case expects from a builtin, when its text is one verdict reproduces: OPA's builtin
/// errors name the builtin and the problem, so a case that asks for one must get that text, not just any
/// error. (Compile and type-checker errors are OPA's own wording and are compared by kind only.)
fn builtin_error_text(case: &Value) -> Option<&str> {
    if STRICT_MESSAGE_FOLDERS
        .iter()
        .any(|folder| case["note"].as_str().is_some_and(|note| note.starts_with(folder)))
        && case.get("want_error_code").and_then(Value::as_str) == Some("eval_builtin_error")
    {
        return case.get("want_error").and_then(Value::as_str);
    }
    None
}

/// Note prefixes of the cases whose builtin error text is compared.
const STRICT_MESSAGE_FOLDERS: &[&str] = &["graphql_", "cryptox509", "cryptoparse", "cryptoX509"];

fn run_case(case: &Value) -> Result<(), String> {
    let mut engine = verdict_rego::engine::new_engine();
    engine.set_execution_timer_config(ExecutionTimerConfig {
        limit: Duration::from_secs(5),
        check_interval: NonZeroU32::MIN,
    });
    let wants_error = case.get("want_error_code").is_some() || case.get("want_error").is_some();
    let outcome = (|| -> anyhow::Result<Vec<Value>> {
        let names: Vec<String> = case["modules"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
            .map(|(index, _)| format!("mod{index}.rego"))
            .collect();
        let modules: Vec<(&str, &str)> = case["modules"]
            .as_array()
            .into_iter()
            .flatten()
            .zip(&names)
            .map(|(module, name)| (name.as_str(), module.as_str().unwrap_or_default()))
            .collect();
        verdict_rego::engine::add_policies(&mut engine, &modules)?;
        if let Some(data) = case.get("data") {
            engine.add_data(RegoValue::from(data.clone()))?;
        }
        if let Some(input) = case.get("input") {
            engine.set_input(RegoValue::from(input.clone()));
        }
        if let Some(term) = case.get("input_term").and_then(Value::as_str) {
            let results = engine.eval_query(term.to_owned(), false)?;
            let value = results.result.first().and_then(|r| r.expressions.first()).map(|e| e.value.clone());
            engine.set_input(value.ok_or_else(|| anyhow::anyhow!("input_term is undefined"))?);
        }
        engine.set_strict_builtin_errors(case.get("strict_error").and_then(Value::as_bool).unwrap_or(false));
        let results = engine.eval_query(case["query"].as_str().unwrap_or_default().to_owned(), false)?;
        Ok(results
            .result
            .iter()
            .map(|row| {
                let mut bindings: Value =
                    serde_json::from_str(&row.bindings.to_json_str().unwrap_or_default())
                        .unwrap_or(Value::Object(Default::default()));
                if let Value::Object(map) = &mut bindings {
                    map.retain(|key, _| !key.starts_with('_'));
                }
                bindings
            })
            .collect())
    })();
    match (outcome, wants_error) {
        (Err(err), true) => match (builtin_error_text(case), format!("{err:#}")) {
            (Some(want), got) if !got.contains(want) => Err(format!("error {got:?} does not say {want:?}")),
            _ => Ok(()),
        },
        (Err(err), false) => Err(format!("unexpected error: {err:#}")),
        (Ok(rows), true) => Err(format!("expected an error, got {rows:?}")),
        (Ok(mut rows), false) => {
            let mut want: Vec<Value> =
                case.get("want_result").and_then(Value::as_array).cloned().unwrap_or_default();
            if case.get("sort_bindings").and_then(Value::as_bool).unwrap_or(false) {
                rows.iter_mut().for_each(sort_arrays);
                want.iter_mut().for_each(sort_arrays);
            }
            rows.sort_by_key(canonical);
            want.sort_by_key(canonical);
            let equal = rows.len() == want.len() && rows.iter().zip(&want).all(|(a, b)| same(a, b));
            if equal { Ok(()) } else { Err(format!("got {rows:?}, want {want:?}")) }
        }
    }
}

#[test]
fn conformance_matches_the_committed_list() {
    let root = oracles().join("opa-conformance/v1");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e} (is ../shared/oracles present?)", root.display()))
        .flat_map(|folder| std::fs::read_dir(folder.unwrap().path()).unwrap())
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    let mut passing = BTreeSet::new();
    let mut failing = BTreeMap::new();
    let mut per_folder: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for file in &files {
        let folder = file.parent().unwrap().file_name().unwrap().to_string_lossy().into_owned();
        let document: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let file_name = file.file_name().unwrap().to_string_lossy().into_owned();
        for (index, case) in document["cases"].as_array().unwrap().iter().enumerate() {
            // Notes repeat across files, so the file and the position name the case.
            let id = format!("{folder}/{file_name}#{index} {}", case["note"].as_str().unwrap());
            let result = catch_unwind(AssertUnwindSafe(|| run_case(case)))
                .unwrap_or_else(|_| Err("panic inside the engine".to_owned()));
            let counts = per_folder.entry(folder.clone()).or_default();
            counts.1 += 1;
            match result {
                Ok(()) => {
                    counts.0 += 1;
                    passing.insert(id);
                }
                Err(why) => {
                    failing.insert(id, why);
                }
            }
        }
    }
    let total: usize = per_folder.values().map(|c| c.1).sum();
    assert_eq!(total, 1448, "the oracle set changed size");
    let list_path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/expected-passing.txt");
    if std::env::var_os("VERDICT_UPDATE_CONFORMANCE").is_some() {
        let mut text = String::new();
        for id in &passing {
            text.push_str(id);
            text.push('\n');
        }
        std::fs::write(&list_path, text).unwrap();
        let mut table = String::from("| folder | passing | cases |\n|---|---|---|\n");
        for (folder, (pass, cases)) in &per_folder {
            table.push_str(&format!("| {folder} | {pass} | {cases} |\n"));
        }
        table.push_str(&format!("| **total** | **{}** | **{total}** |\n", passing.len()));
        std::fs::write(list_path.with_file_name("per-folder.md"), table).unwrap();
        let mut reasons = String::new();
        for (id, why) in &failing {
            reasons.push_str(&format!("{id}\t{}\n", why.replace('\n', " ")));
        }
        std::fs::write(list_path.with_file_name("failing.tsv"), reasons).unwrap();
    }
    let expected: BTreeSet<String> =
        std::fs::read_to_string(&list_path).unwrap_or_default().lines().map(str::to_owned).collect();
    let regressions: Vec<String> = expected
        .difference(&passing)
        .map(|id| format!("{id}: {}", failing.get(id).cloned().unwrap_or_default()))
        .collect();
    let improvements: Vec<&String> = passing.difference(&expected).collect();
    println!("{} of {total} OPA conformance cases pass", passing.len());
    assert!(
        regressions.is_empty(),
        "{} cases no longer pass:\n{}",
        regressions.len(),
        regressions.join("\n")
    );
    assert!(
        improvements.is_empty(),
        "{} cases now pass that the committed list does not name; regenerate it (see the module docs):\n{:?}",
        improvements.len(),
        improvements
    );
}
