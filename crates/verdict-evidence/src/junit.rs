//! JUnit XML results → per-suite test counts, with the counting rules of go-junit (which Kosli uses), so a
//! results directory gives the same numbers as `kosli attest junit`:
//! top-level `<testsuite>` elements are found depth-first through any wrapper; a nested `<testsuite>`
//! adds its counts to its parent; every `<testcase>` directly in a suite counts once, `passed` unless it
//! has a `<skipped>`, `<failure>` or `<error>` child (the last such child wins). Header attributes
//! (`tests=`, `failures=`) are ignored. Only UTF-8 is accepted.

use std::path::{Path, PathBuf};

use quick_xml::events::Event;
use serde::Serialize;

/// Why results could not be read.
#[derive(Debug, thiserror::Error)]
pub enum JunitError {
    /// A file or directory could not be read.
    #[error("cannot read {path}: {message}")]
    Unreadable {
        /// The path.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// A file declares (or has) an encoding other than UTF-8.
    #[error(
        "{path}: only UTF-8 encoding is supported (found {encoding}); convert the files under --results-dir to UTF-8"
    )]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// The encoding it declares.
        encoding: String,
    },
    /// A file is not well-formed XML.
    #[error("{path}: not valid XML at byte {position}: {message}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// Where.
        position: u64,
        /// What.
        message: String,
    },
    /// The directory holds no test suite.
    #[error("no tests found in {0} (looked for *.xml files with <testsuite> elements; check --results-dir)")]
    NoTests(PathBuf),
}

/// Counts of one suite (or of all of them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Test cases.
    pub tests: u64,
    /// Passed.
    pub passed: u64,
    /// With a `<failure>`.
    pub failed: u64,
    /// With an `<error>`.
    pub errors: u64,
    /// With a `<skipped>`.
    pub skipped: u64,
}

impl Counts {
    fn add(&mut self, other: Counts) {
        self.tests += other.tests;
        self.passed += other.passed;
        self.failed += other.failed;
        self.errors += other.errors;
        self.skipped += other.skipped;
    }
}

/// One top-level suite.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suite {
    /// The file it came from (relative to the results directory).
    pub file: String,
    /// Its `name` attribute.
    pub name: String,
    /// Its counts (nested suites included).
    #[serde(flatten)]
    pub counts: Counts,
    /// Its `time` attribute, or the sum of its test cases' times, in seconds.
    pub duration: f64,
    /// Its `timestamp` as whole Unix seconds (0 when absent or unparsable).
    pub timestamp: i64,
}

/// The results of a directory.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JunitResults {
    /// Every top-level suite, by file then document order.
    pub suites: Vec<Suite>,
    /// The sums.
    pub totals: Counts,
}

impl JunitResults {
    /// Compliant iff no test failed and none errored.
    pub fn is_compliant(&self) -> bool {
        self.totals.failed == 0 && self.totals.errors == 0
    }
}

/// A minimal element tree.
#[derive(Debug, Default)]
struct Element {
    name: String,
    attributes: Vec<(String, String)>,
    children: Vec<Element>,
}

impl Element {
    fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

fn declared_encoding(text: &str) -> Option<String> {
    let declaration = text.trim_start_matches('\u{feff}').trim_start();
    let declaration = declaration.strip_prefix("<?xml")?;
    let end = declaration.find("?>")?;
    let declaration = &declaration[..end];
    let at = declaration.find("encoding")?;
    let rest = declaration[at + "encoding".len()..].trim_start().strip_prefix('=')?.trim_start();
    let quote = rest.chars().next()?;
    let value = rest[1..].split(quote).next()?;
    Some(value.to_owned())
}

fn parse(path: &Path, bytes: &[u8]) -> Result<Element, JunitError> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Err(JunitError::NotUtf8 {
            path: path.to_owned(),
            encoding: "bytes that are not UTF-8".to_owned(),
        });
    };
    if let Some(encoding) = declared_encoding(text)
        && !encoding.eq_ignore_ascii_case("utf-8")
        && !encoding.eq_ignore_ascii_case("utf8")
    {
        return Err(JunitError::NotUtf8 { path: path.to_owned(), encoding });
    }
    let mut reader = quick_xml::Reader::from_str(text);
    let mut stack: Vec<Element> = vec![Element::default()];
    let malformed = |reader: &quick_xml::Reader<&[u8]>, message: String| JunitError::Malformed {
        path: path.to_owned(),
        position: reader.buffer_position(),
        message,
    };
    loop {
        match reader.read_event() {
            Ok(Event::Start(start)) => {
                stack.push(element(&reader, &start).map_err(|m| malformed(&reader, m))?);
            }
            Ok(Event::Empty(start)) => {
                let child = element(&reader, &start).map_err(|m| malformed(&reader, m))?;
                if let Some(parent) = stack.last_mut() {
                    parent.children.push(child);
                }
            }
            Ok(Event::End(_)) => {
                let Some(done) = stack.pop() else {
                    return Err(malformed(&reader, "unbalanced end tag".into()));
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => return Err(malformed(&reader, "unbalanced end tag".into())),
                }
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(err) => return Err(malformed(&reader, err.to_string())),
        }
    }
    if stack.len() != 1 {
        return Err(malformed(&reader, "the document ends inside an element".into()));
    }
    Ok(stack.pop().unwrap_or_default())
}

fn element(
    reader: &quick_xml::Reader<&[u8]>,
    start: &quick_xml::events::BytesStart<'_>,
) -> Result<Element, String> {
    let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
    let mut attributes = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|err| err.to_string())?;
        let key = String::from_utf8_lossy(attribute.key.local_name().as_ref()).into_owned();
        let value = attribute
            .decode_and_unescape_value(reader.decoder())
            .map_err(|err| err.to_string())?
            .into_owned();
        attributes.push((key, value));
    }
    Ok(Element { name, attributes, children: Vec::new() })
}

/// `timestamp` as whole Unix seconds, with go-junit's three layouts (all UTC); 0 when unparsable.
pub fn timestamp_seconds(text: &str) -> i64 {
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let Some(base) = text.get(..19) else { return 0 };
    let Ok(datetime) = time::PrimitiveDateTime::parse(base, &format) else { return 0 };
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return 0;
        }
        rest = &fraction[digits..];
    }
    if matches!(rest, "" | "Z" | "+00:00") { datetime.assume_utc().unix_timestamp() } else { 0 }
}

fn suite(file: &str, node: &Element) -> Suite {
    let mut counts = Counts::default();
    let mut case_time = 0.0;
    for child in &node.children {
        match child.name.as_str() {
            "testcase" => {
                counts.tests += 1;
                case_time +=
                    child.attribute("time").and_then(|t| t.trim().parse::<f64>().ok()).unwrap_or(0.0);
                let status = child
                    .children
                    .iter()
                    .rfind(|c| matches!(c.name.as_str(), "skipped" | "failure" | "error"))
                    .map(|c| c.name.as_str());
                match status {
                    Some("skipped") => counts.skipped += 1,
                    Some("failure") => counts.failed += 1,
                    Some("error") => counts.errors += 1,
                    _ => counts.passed += 1,
                }
            }
            "testsuite" => counts.add(suite(file, child).counts),
            _ => {}
        }
    }
    Suite {
        file: file.to_owned(),
        name: node.attribute("name").unwrap_or_default().to_owned(),
        counts,
        duration: node.attribute("time").and_then(|t| t.trim().parse::<f64>().ok()).unwrap_or(case_time),
        timestamp: node.attribute("timestamp").map_or(0, timestamp_seconds),
    }
}

fn top_level_suites(file: &str, node: &Element, out: &mut Vec<Suite>) {
    for child in &node.children {
        if child.name == "testsuite" {
            out.push(suite(file, child));
        } else {
            top_level_suites(file, child, out);
        }
    }
}

/// The suites of one file.
pub fn parse_file(path: &Path, display: &str) -> Result<Vec<Suite>, JunitError> {
    let bytes = std::fs::read(path)
        .map_err(|err| JunitError::Unreadable { path: path.to_owned(), message: err.to_string() })?;
    parse_bytes(path, display, &bytes)
}

/// The suites of a file's content (`path` names it in errors).
pub fn parse_bytes(path: &Path, display: &str, bytes: &[u8]) -> Result<Vec<Suite>, JunitError> {
    let root = parse(path, bytes)?;
    let mut suites = Vec::new();
    top_level_suites(display, &root, &mut suites);
    Ok(suites)
}

fn xml_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), JunitError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|err| JunitError::Unreadable { path: dir.to_owned(), message: err.to_string() })?;
    for entry in entries {
        let path = entry
            .map_err(|err| JunitError::Unreadable { path: dir.to_owned(), message: err.to_string() })?
            .path();
        if path.is_dir() {
            xml_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("xml")) {
            out.push(path);
        }
    }
    Ok(())
}

/// Every `*.xml` file below `dir` (recursively, in path order), counted.
pub fn parse_results_dir(dir: &Path) -> Result<JunitResults, JunitError> {
    let mut files = Vec::new();
    xml_files(dir, &mut files)?;
    files.sort();
    let mut suites = Vec::new();
    for file in &files {
        let display = file.strip_prefix(dir).unwrap_or(file).display().to_string();
        suites.extend(parse_file(file, &display)?);
    }
    if suites.is_empty() {
        return Err(JunitError::NoTests(dir.to_owned()));
    }
    let mut totals = Counts::default();
    for suite in &suites {
        totals.add(suite.counts);
    }
    Ok(JunitResults { suites, totals })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_follow_go_junit_layouts() {
        // Values from the oracle's kosli_rules.derived_timestamps.
        assert_eq!(timestamp_seconds("2022-12-20T14:27:36.125393"), 1671546456);
        assert_eq!(timestamp_seconds("2023-01-08T03:37:44+00:00"), 1673149064);
        assert_eq!(timestamp_seconds("2025-06-18T10:24:39.090Z"), 1750242279);
        assert_eq!(timestamp_seconds("2025-06-18 10:24:39"), 0);
        assert_eq!(timestamp_seconds("2025-06-18T10:24:39+02:00"), 0);
        assert_eq!(timestamp_seconds(""), 0);
    }

    #[test]
    fn encodings() {
        assert_eq!(
            declared_encoding("<?xml version=\"1.0\" encoding=\"ISO-8859-15\"?><a/>").as_deref(),
            Some("ISO-8859-15")
        );
        assert_eq!(declared_encoding("<?xml version='1.0' encoding='utf-8'?>").as_deref(), Some("utf-8"));
        assert_eq!(declared_encoding("<testsuite/>"), None);
    }

    #[test]
    fn last_status_child_wins_and_nested_suites_add_up() {
        let xml = br#"<testsuites><testsuite name="outer"><testcase name="a"><failure/><skipped/></testcase>
            <testsuite name="inner"><testcase name="b"><error/></testcase><testcase name="c"/></testsuite></testsuite></testsuites>"#;
        let root = parse(Path::new("x.xml"), xml).unwrap();
        let mut suites = Vec::new();
        top_level_suites("x.xml", &root, &mut suites);
        assert_eq!(suites.len(), 1);
        assert_eq!(suites[0].counts, Counts { tests: 3, passed: 1, failed: 0, errors: 1, skipped: 1 });
        assert!(matches!(parse(Path::new("x.xml"), b"<a><b></a>"), Err(JunitError::Malformed { .. })));
    }
}
