//! Fuzzes Kyverno pattern matching (anchors, operators, wildcards, quantities) with a pattern and a
//! resource as two YAML documents.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = verdict_kyverno::fuzz_checks::check_pattern(text);
    }
});
