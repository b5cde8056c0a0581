//! Replays the cargo-fuzz corpus of the GraphQL parser and validator (`fuzz/corpus/graphql_document`,
//! seeded with every GraphQL document of the OPA conformance cases) under plain `cargo test`.

#[test]
fn graphql_corpus() {
    verdict_testkit::replay_fuzz_corpus("graphql_document", 50, verdict_graphql::fuzz_checks::check_document);
}
