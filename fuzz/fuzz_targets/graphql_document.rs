//! Fuzzes the GraphQL parser and validator behind Rego's `graphql.*` builtins: text as a query, as a
//! schema, and (split at a `---` line) a query against a schema.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(problem) = verdict_graphql::fuzz_checks::check_document(text) {
            panic!("{problem}");
        }
    }
});
