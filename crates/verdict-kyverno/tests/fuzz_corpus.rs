//! Replays the cargo-fuzz corpora of the Kyverno engine (`fuzz/corpus/kyverno_*`) under plain `cargo
//! test`, with the fuzzers' own checks.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use verdict_kyverno::fuzz_checks::{check_pattern, check_policy};

fn replay(target: &str, check: fn(&str) -> Result<(), String>) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus").join(target);
    let entries =
        std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("fuzz corpus {} is missing: {e}", dir.display()));
    let mut count = 0;
    for entry in entries {
        let path = entry.unwrap().path();
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        if let Err(problem) = check(&text) {
            panic!("{}: {problem}", path.display());
        }
        count += 1;
    }
    assert!(count >= 10, "the {target} corpus has only {count} entries");
}

#[test]
fn pattern_corpus() {
    replay("kyverno_pattern", check_pattern);
}

#[test]
fn policy_corpus() {
    replay("kyverno_policy", check_policy);
}
