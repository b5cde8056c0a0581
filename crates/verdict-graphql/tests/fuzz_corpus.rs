//! Replays the cargo-fuzz corpus of the GraphQL parser and validator (`fuzz/corpus/graphql_document`,
//! seeded with every GraphQL document of the OPA conformance cases) under plain `cargo test`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

#[test]
fn graphql_corpus() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/graphql_document");
    let entries =
        std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("fuzz corpus {} is missing: {e}", dir.display()));
    let mut count = 0;
    for entry in entries {
        let path = entry.unwrap().path();
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        if let Err(problem) = verdict_graphql::fuzz_checks::check_document(&text) {
            panic!("{}: {problem}", path.display());
        }
        count += 1;
    }
    assert!(count >= 50, "the corpus has only {count} entries");
}
