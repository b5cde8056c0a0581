//! Replays the cargo-fuzz corpora (`fuzz/corpus/*`) under plain `cargo test`, with the fuzzers' own checks.

use std::path::PathBuf;

use verdict_policy::fuzz_checks::{check_expression, check_policy};

fn corpus(target: &str) -> Vec<(PathBuf, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus").join(target);
    let entries =
        std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("fuzz corpus {} is missing: {e}", dir.display()));
    let mut files: Vec<(PathBuf, String)> = entries
        .map(|entry| entry.unwrap_or_else(|e| panic!("{e}")).path())
        .filter(|path| path.is_file())
        .map(|path| {
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (path, String::from_utf8_lossy(&bytes).into_owned())
        })
        .collect();
    files.sort();
    assert!(files.len() >= 10, "the {target} corpus has only {} inputs", files.len());
    files
}

#[test]
fn expression_corpus() {
    for (path, text) in corpus("expr_parse") {
        let result = std::panic::catch_unwind(|| check_expression(&text));
        assert!(result.is_ok(), "{} failed the fuzz checks", path.display());
    }
}

#[test]
fn policy_corpus() {
    for (path, text) in corpus("policy_load") {
        let result = std::panic::catch_unwind(|| check_policy(&text));
        assert!(result.is_ok(), "{} failed the fuzz checks", path.display());
    }
}
