//! SARIF 2.1.0 scan results → finding counts. Two readings: Snyk's (Kosli's `attest snyk`: per run
//! high/medium/low, severity from the result's `level` or else the rule's `properties.problem.severity`)
//! and any scanner's (`attest sarif`: per run counts by SARIF level, the level defaulting through the
//! rule's `defaultConfiguration.level` to `warning` as the SARIF spec says). Unlike Kosli, any SARIF
//! whose `version` is 2.1.0 is accepted, whatever its `$schema` URL.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

/// Why a SARIF file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SarifError {
    /// The file could not be read.
    #[error("cannot read {path}: {message}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// Not JSON.
    #[error("{path}:{line}:{column}: not JSON: {message}")]
    NotJson {
        /// The file.
        path: PathBuf,
        /// Line.
        line: usize,
        /// Column.
        column: usize,
        /// What.
        message: String,
    },
    /// JSON, but not SARIF 2.1.0.
    #[error("{path}: not a SARIF 2.1.0 file ({reason}){hint}")]
    NotSarif {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
        /// What to do.
        hint: &'static str,
    },
    /// A result's severity cannot be determined.
    #[error("{path}: {at}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// JSON path of the offending value.
        at: String,
        /// What is wrong.
        message: String,
    },
}

/// Snyk severities of one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SnykCounts {
    /// error, high or critical.
    pub high: u64,
    /// warning or medium.
    pub medium: u64,
    /// info, low or note.
    pub low: u64,
}

/// A Snyk scan summary (Kosli's shape).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SnykSummary {
    /// `runs[0].tool.driver.name`.
    pub tool: String,
    /// `runs[0].tool.driver.version`, or "".
    pub version: String,
    /// One entry per run, in order.
    pub runs: Vec<SnykCounts>,
    /// Why the file is not evidence of a complete scan (no runs, a run without results, a run whose
    /// invocation failed); any of these makes the attestation non-compliant.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub incomplete: Vec<String>,
}

impl SnykSummary {
    /// Compliant iff the scan ran to completion and found nothing at all.
    pub fn is_compliant(&self) -> bool {
        self.incomplete.is_empty() && self.runs.iter().all(|r| r.high + r.medium + r.low == 0)
    }
}

/// Why a SARIF document is not evidence of a completed scan: a scan that did not run (or did not
/// finish) is not a clean scan (DESIGN.md rule 13). Empty when every run reported results and no
/// invocation failed.
pub fn incomplete_scan(value: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let runs = value["runs"].as_array().map(Vec::as_slice).unwrap_or_default();
    if runs.is_empty() {
        problems.push("the SARIF file has no runs: no scan was recorded".to_owned());
    }
    for (r, run) in runs.iter().enumerate() {
        if !run.get("results").is_some_and(Value::is_array) {
            problems.push(format!("runs[{r}] has no results list: the scan reported nothing"));
        }
        for (i, invocation) in run["invocations"].as_array().into_iter().flatten().enumerate() {
            if invocation.get("executionSuccessful").and_then(Value::as_bool) == Some(false) {
                problems.push(format!(
                    "runs[{r}].invocations[{i}].executionSuccessful is false: the scan did not complete"
                ));
            }
        }
    }
    problems
}

/// SARIF levels of one run.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct LevelCounts {
    /// The tool's name.
    pub tool: String,
    /// `error` results.
    pub error: u64,
    /// `warning` results.
    pub warning: u64,
    /// `note` results.
    pub note: u64,
    /// `none` results.
    pub none: u64,
}

fn load(path: &Path) -> Result<Value, SarifError> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| SarifError::Unreadable { path: path.to_owned(), message: err.to_string() })?;
    load_str(path, &text)
}

fn load_str(path: &Path, text: &str) -> Result<Value, SarifError> {
    let value: Value = serde_json::from_str(text).map_err(|err| SarifError::NotJson {
        path: path.to_owned(),
        line: err.line(),
        column: err.column(),
        message: err.to_string(),
    })?;
    let not_sarif = |reason: &str| SarifError::NotSarif {
        path: path.to_owned(),
        reason: reason.to_owned(),
        hint: if value.get("vulnerabilities").is_some() || value.get("ok").is_some() {
            "; this looks like Snyk's own JSON: run `snyk test --sarif-file-output=FILE` and attest that file"
        } else {
            ""
        },
    };
    match value.get("version").and_then(Value::as_str) {
        Some("2.1.0") => {}
        Some(other) => return Err(not_sarif(&format!("version is {other:?}"))),
        None => return Err(not_sarif("it has no \"version\": \"2.1.0\"")),
    }
    if !value.get("runs").is_some_and(Value::is_array) {
        return Err(not_sarif("it has no runs list"));
    }
    Ok(value)
}

fn runs(value: &Value) -> impl Iterator<Item = (usize, &Value)> {
    value["runs"].as_array().into_iter().flatten().enumerate()
}

fn rule<'v>(run: &'v Value, result: &Value) -> Option<&'v Value> {
    let id = result.get("ruleId").and_then(Value::as_str)?;
    run["tool"]["driver"]["rules"]
        .as_array()?
        .iter()
        .find(|r| r.get("id").and_then(Value::as_str) == Some(id))
}

/// Reads a Snyk SARIF file with Kosli's rules.
pub fn snyk_summary(path: &Path) -> Result<SnykSummary, SarifError> {
    snyk_summary_of(&load(path)?, path)
}

/// [`snyk_summary`] of SARIF text (`path` names it in errors).
pub fn snyk_summary_str(path: &Path, text: &str) -> Result<SnykSummary, SarifError> {
    snyk_summary_of(&load_str(path, text)?, path)
}

fn snyk_summary_of(value: &Value, path: &Path) -> Result<SnykSummary, SarifError> {
    let value = value.clone();
    let driver = &value["runs"][0]["tool"]["driver"];
    let mut summary = SnykSummary {
        tool: driver["name"].as_str().unwrap_or_default().to_owned(),
        version: driver["version"].as_str().unwrap_or_default().to_owned(),
        runs: Vec::new(),
        incomplete: incomplete_scan(&value),
    };
    for (r, run) in runs(&value) {
        let mut counts = SnykCounts::default();
        for (i, result) in run["results"].as_array().into_iter().flatten().enumerate() {
            let at = format!("runs[{r}].results[{i}]");
            let severity = match result.get("level").and_then(Value::as_str) {
                Some(level) => level.to_owned(),
                None => rule(run, result)
                    .and_then(|rule| rule["properties"]["problem"]["severity"].as_str())
                    .map(str::to_owned)
                    .ok_or_else(|| SarifError::Invalid {
                        path: path.to_owned(),
                        at: at.clone(),
                        message: "no level, and its rule has no properties.problem.severity".to_owned(),
                    })?,
            };
            match severity.to_ascii_lowercase().as_str() {
                "error" | "high" | "critical" => counts.high += 1,
                "warning" | "medium" => counts.medium += 1,
                "info" | "low" | "note" => counts.low += 1,
                other => {
                    return Err(SarifError::Invalid {
                        path: path.to_owned(),
                        at,
                        message: format!("unknown severity {other:?}"),
                    });
                }
            }
        }
        summary.runs.push(counts);
    }
    Ok(summary)
}

/// The threshold of `attest sarif --fail-on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FailOn {
    /// Only `error` results fail.
    Error,
    /// `warning` or `error`.
    Warning,
    /// Any `note`, `warning` or `error`.
    Note,
}

/// Reads any scanner's SARIF: counts per run by level.
pub fn level_counts(path: &Path) -> Result<Vec<LevelCounts>, SarifError> {
    level_counts_of(&load(path)?, path)
}

/// [`level_counts`] and [`incomplete_scan`] of one file, read once.
pub fn level_counts_and_completeness(path: &Path) -> Result<(Vec<LevelCounts>, Vec<String>), SarifError> {
    let value = load(path)?;
    Ok((level_counts_of(&value, path)?, incomplete_scan(&value)))
}

/// [`level_counts`] of SARIF text (`path` names it in errors).
pub fn level_counts_str(path: &Path, text: &str) -> Result<Vec<LevelCounts>, SarifError> {
    level_counts_of(&load_str(path, text)?, path)
}

fn level_counts_of(value: &Value, path: &Path) -> Result<Vec<LevelCounts>, SarifError> {
    let value = value.clone();
    let mut all = Vec::new();
    for (r, run) in runs(&value) {
        let mut counts = LevelCounts {
            tool: run["tool"]["driver"]["name"].as_str().unwrap_or_default().to_owned(),
            ..LevelCounts::default()
        };
        for (i, result) in run["results"].as_array().into_iter().flatten().enumerate() {
            let level = result
                .get("level")
                .and_then(Value::as_str)
                .or_else(|| rule(run, result).and_then(|rule| rule["defaultConfiguration"]["level"].as_str()))
                .unwrap_or("warning");
            match level {
                "error" => counts.error += 1,
                "warning" => counts.warning += 1,
                "note" => counts.note += 1,
                "none" => counts.none += 1,
                other => {
                    return Err(SarifError::Invalid {
                        path: path.to_owned(),
                        at: format!("runs[{r}].results[{i}].level"),
                        message: format!("{other:?} is not a SARIF level (error, warning, note, none)"),
                    });
                }
            }
        }
        all.push(counts);
    }
    Ok(all)
}

/// Whether `runs` pass the threshold. Judge completeness separately with [`incomplete_scan`]: no runs
/// never pass.
pub fn passes(runs: &[LevelCounts], fail_on: FailOn) -> bool {
    !runs.is_empty()
        && runs.iter().all(|r| {
            r.error == 0
                && (fail_on < FailOn::Warning || r.warning == 0)
                && (fail_on < FailOn::Note || r.note == 0)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds() {
        let run = |error, warning, note| LevelCounts { tool: String::new(), error, warning, note, none: 3 };
        assert!(passes(&[run(0, 2, 5)], FailOn::Error));
        assert!(!passes(&[run(0, 2, 5)], FailOn::Warning));
        assert!(!passes(&[run(0, 0, 5)], FailOn::Note));
        assert!(passes(&[run(0, 0, 0)], FailOn::Note));
        assert!(!passes(&[run(1, 0, 0)], FailOn::Error));
        assert!(!passes(&[], FailOn::Error), "no runs is no scan");
    }

    #[test]
    fn scans_that_did_not_run_are_not_clean() {
        let path = Path::new("scan.sarif");
        let sarif = |runs: Value| serde_json::json!({"version": "2.1.0", "runs": runs}).to_string();
        let driver = serde_json::json!({"driver": {"name": "Snyk"}});
        let cases = [
            (serde_json::json!([]), "no runs"),
            (serde_json::json!([{"tool": driver}]), "runs[0] has no results list"),
            (
                serde_json::json!([{"tool": driver, "results": [], "invocations": [{"executionSuccessful": false}]}]),
                "runs[0].invocations[0].executionSuccessful is false",
            ),
            (
                serde_json::json!([{"tool": driver, "invocations": [{"executionSuccessful": false}]}]),
                "executionSuccessful is false",
            ),
        ];
        for (runs, reason) in cases {
            let summary = snyk_summary_str(path, &sarif(runs.clone())).unwrap();
            assert!(!summary.is_compliant(), "{runs}");
            assert!(summary.incomplete.iter().any(|p| p.contains(reason)), "{:?}", summary.incomplete);
            let value: Value = serde_json::from_str(&sarif(runs.clone())).unwrap();
            assert!(incomplete_scan(&value).iter().any(|p| p.contains(reason)));
        }
        let clean = serde_json::json!([{"tool": driver, "results": [], "invocations": [{"executionSuccessful": true}]}]);
        let summary = snyk_summary_str(path, &sarif(clean)).unwrap();
        assert!(summary.is_compliant() && summary.incomplete.is_empty());
    }
}
