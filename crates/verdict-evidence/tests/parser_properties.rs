//! Property tests of the JUnit and SARIF readers: any input is an answer or an error, never a panic;
//! generated JUnit documents count exactly what they contain; generated SARIF counts every result once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use proptest::prelude::*;
use verdict_evidence::junit::parse_bytes;
use verdict_evidence::sarif::{level_counts_str, snyk_summary_str};

/// 0 passed, 1 skipped, 2 failure, 3 error; a case may carry several children (the last one counts).
fn case_xml(children: &[u8]) -> String {
    let inner: String = children
        .iter()
        .map(|c| match c {
            1 => "<skipped/>",
            2 => "<failure message=\"x\">boom &amp; more</failure>",
            3 => "<error/>",
            _ => "<system-out>ok</system-out>",
        })
        .collect();
    format!("<testcase name=\"t\" time=\"0.5\">{inner}</testcase>")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn junit_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = parse_bytes(Path::new("x.xml"), "x.xml", &bytes);
    }

    #[test]
    fn junit_never_panics_on_almost_xml(text in "(<testsuites>|<testsuite name=\"a\">|<testcase>|</testcase>|<failure/>|<skipped>|</skipped>|</testsuite>|&amp;|&bogus;|<!--|-->|<?xml version=\"1.0\" encoding=\"latin1\"?>| ){0,30}") {
        let _ = parse_bytes(Path::new("x.xml"), "x.xml", text.as_bytes());
    }

    #[test]
    fn junit_counts_what_was_generated(suites in proptest::collection::vec(proptest::collection::vec(proptest::collection::vec(0u8..4, 0..3), 0..8), 1..5)) {
        let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?><testsuites>");
        let mut expected = Vec::new();
        for cases in &suites {
            xml.push_str("<testsuite name=\"s\" tests=\"999\">");
            let mut counts = [0u64; 4];
            for children in cases {
                xml.push_str(&case_xml(children));
                let status = children.iter().rev().find(|c| **c != 0).copied().unwrap_or(0);
                counts[usize::from(status)] += 1;
            }
            xml.push_str("</testsuite>");
            expected.push(counts);
        }
        xml.push_str("</testsuites>");
        let parsed = parse_bytes(Path::new("x.xml"), "x.xml", xml.as_bytes()).unwrap();
        prop_assert_eq!(parsed.len(), suites.len());
        for (suite, [passed, skipped, failed, errors]) in parsed.iter().zip(expected) {
            prop_assert_eq!((suite.counts.passed, suite.counts.skipped, suite.counts.failed, suite.counts.errors), (passed, skipped, failed, errors));
            prop_assert_eq!(suite.counts.tests, passed + skipped + failed + errors);
        }
    }

    #[test]
    fn sarif_never_panics(text in ".{0,300}") {
        let _ = snyk_summary_str(Path::new("x.sarif"), &text);
        let _ = level_counts_str(Path::new("x.sarif"), &text);
    }

    #[test]
    fn sarif_counts_every_result_once(levels in proptest::collection::vec(proptest::collection::vec(0usize..4, 0..20), 1..4)) {
        let names = ["error", "warning", "note", "none"];
        let runs: Vec<serde_json::Value> = levels
            .iter()
            .map(|run| serde_json::json!({"tool": {"driver": {"name": "t"}},
                "results": run.iter().map(|l| serde_json::json!({"ruleId": "r", "level": names[*l]})).collect::<Vec<_>>()}))
            .collect();
        let text = serde_json::json!({"version": "2.1.0", "runs": runs}).to_string();
        let counts = level_counts_str(Path::new("x.sarif"), &text).unwrap();
        for (run, got) in levels.iter().zip(&counts) {
            let n = |level: usize| run.iter().filter(|l| **l == level).count() as u64;
            prop_assert_eq!((got.error, got.warning, got.note, got.none), (n(0), n(1), n(2), n(3)));
        }
    }
}
