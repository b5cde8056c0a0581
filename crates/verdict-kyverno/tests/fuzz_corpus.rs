//! Replays the cargo-fuzz corpora of the Kyverno engine (`fuzz/corpus/kyverno_*`) under plain `cargo
//! test`, with the fuzzers' own checks.

use verdict_kyverno::fuzz_checks::{check_pattern, check_policy};
use verdict_testkit::replay_fuzz_corpus;

#[test]
fn pattern_corpus() {
    replay_fuzz_corpus("kyverno_pattern", 10, check_pattern);
}

#[test]
fn policy_corpus() {
    replay_fuzz_corpus("kyverno_policy", 10, check_policy);
}
