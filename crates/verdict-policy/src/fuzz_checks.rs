//! The properties the fuzz targets check, shared with the test that replays the fuzz corpus, so the
//! corpus runs under plain `cargo test` with exactly the fuzzers' assertions.

use verdict_core::FlowEvidence;

use crate::diagnostic::source_lines;
use crate::expr::{Scope, parse};
use crate::load::load_policy;

/// For any text: parsing never panics; what parses prints to text that re-parses to the same tree; and
/// evaluating it never panics.
pub fn check_expression(text: &str) {
    let Ok(expr) = parse(text) else { return };
    let printed = expr.to_string();
    match parse(&printed) {
        Ok(reparsed) => assert_eq!(reparsed, expr, "round trip changed the tree: {printed}"),
        Err(err) => panic!("printed form {printed:?} does not parse: {err}"),
    }
    let flow = FlowEvidence { name: "f".into(), tags: [("k".to_owned(), "1".to_owned())].into() };
    let scope = Scope { flow: Some(&flow), artifact_name: "a", artifact_fingerprint: "0" };
    let _ = expr.eval(&scope);
}

/// For any text: loading never panics, and a rejected policy has at least one diagnostic, each pointing at
/// a line of the file (or the line just past its end) and rendering without panicking.
pub fn check_policy(text: &str) {
    if let Err(diagnostics) = load_policy("fuzz.yml", "fuzz", text) {
        assert!(!diagnostics.is_empty(), "rejected without a diagnostic");
        let lines = source_lines(text).count().max(1) + 1;
        for diagnostic in &diagnostics {
            assert!((1..=lines).contains(&diagnostic.line), "line outside the file: {diagnostic:?}");
            let _ = diagnostic.render(text);
        }
    }
}
