//! Fuzzes Kyverno policy loading and evaluation: a policy file whose last document is the resource.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = verdict_kyverno::fuzz_checks::check_policy(text);
    }
});
