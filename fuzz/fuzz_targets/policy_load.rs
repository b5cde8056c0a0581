//! Fuzzes the policy loader (YAML, schema, expressions, diagnostics).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        verdict_policy::fuzz_checks::check_policy(text);
    }
});
