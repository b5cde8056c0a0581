//! `verdict policy lint` and `verdict policy test`: tools for authors of Rego policies.

use std::path::{Path, PathBuf};

use anyhow::anyhow;
use serde::Serialize;
use verdict_core::ExitStatus;
use verdict_rego::lint::{Finding, Severity, lint as lint_source};
use verdict_rego::testing::{Outcome, SourceFile, TestResult, run_tests};

use crate::cli::{LintArgs, TestArgs, ValidateOutput};
use crate::error::{CliError, CliResult};
use crate::render;

fn read(path: &Path) -> Result<String, CliError> {
    std::fs::read_to_string(path)
        .map_err(|err| CliError::invalid(anyhow!("cannot read {}: {err}", path.display())))
}

#[derive(Serialize)]
struct LintReport<'a> {
    errors: usize,
    warnings: usize,
    findings: &'a [Finding],
}

/// Runs `policy lint`.
pub fn lint(args: &LintArgs) -> CliResult {
    let mut findings = Vec::new();
    for path in &args.files {
        findings.extend(lint_source(&path.display().to_string(), &read(path)?));
    }
    let errors = findings.iter().filter(|f| f.severity == Severity::Error).count();
    let warnings = findings.len() - errors;
    match args.output {
        ValidateOutput::Json => render::print_json(&LintReport { errors, warnings, findings: &findings })?,
        ValidateOutput::Text => {
            for finding in &findings {
                let (style, word) = match finding.severity {
                    Severity::Error => (render::ERROR, "error"),
                    Severity::Warning => (render::WARNING, "warning"),
                };
                anstream::println!(
                    "{}:{}:{}: {}{word}[{}]{}: {}\n  = hint: {}",
                    finding.file,
                    finding.line,
                    finding.column,
                    style.render(),
                    finding.check,
                    style.render_reset(),
                    finding.message,
                    finding.hint
                );
            }
            anstream::println!(
                "{}, {} in {}",
                crate::render::counted(errors, "error", "errors"),
                crate::render::counted(warnings, "warning", "warnings"),
                crate::render::counted(args.files.len(), "file", "files")
            );
        }
    }
    Ok(if errors > 0 { ExitStatus::Denied } else { ExitStatus::Ok })
}

/// `*.rego` files under `path` (or `path` itself), sorted, without following symbolic links.
fn rego_files(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), CliError> {
    let metadata = std::fs::symlink_metadata(path)
        .map_err(|err| CliError::invalid(anyhow!("cannot read {}: {err}", path.display())))?;
    if !metadata.is_dir() {
        out.push(path.to_owned());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|err| CliError::invalid(anyhow!("cannot list {}: {err}", path.display())))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for entry in entries {
        let is_dir = std::fs::symlink_metadata(&entry).is_ok_and(|m| m.is_dir());
        if is_dir {
            rego_files(&entry, out)?;
        } else if entry.extension().is_some_and(|ext| ext == "rego") {
            out.push(entry);
        }
    }
    Ok(())
}

#[derive(Serialize)]
struct TestReport<'a> {
    passed: usize,
    failed: usize,
    tests: &'a [TestResult],
}

/// Runs `policy test`.
pub fn test(args: &TestArgs) -> CliResult {
    let filter = args
        .run
        .as_deref()
        .map(regex::Regex::new)
        .transpose()
        .map_err(|err| CliError::invalid(anyhow!("invalid --run pattern: {err}")))?;
    let mut paths = Vec::new();
    for path in &args.paths {
        rego_files(path, &mut paths)?;
    }
    let files = paths
        .iter()
        .map(|path| Ok(SourceFile { path: path.display().to_string(), source: read(path)? }))
        .collect::<Result<Vec<_>, CliError>>()?;
    verdict_rego::set_memory_limit(Some(args.max_memory));
    let results = run_tests(&files, args.timeout).map_err(|err| match err.snippet() {
        Some(snippet) => CliError::invalid(anyhow!("{err}\n{snippet}")),
        None => CliError::invalid(anyhow!("{err}")),
    })?;
    let results: Vec<TestResult> =
        results.into_iter().filter(|r| filter.as_ref().is_none_or(|f| f.is_match(&r.name))).collect();
    if results.is_empty() {
        return Err(CliError::invalid(anyhow!(
            "no tests found: tests are rules named test_* in files named *_test.rego"
        )));
    }
    let passed = results.iter().filter(|r| r.outcome == Outcome::Pass).count();
    let failed = results.len() - passed;
    match args.output {
        ValidateOutput::Json => render::print_json(&TestReport { passed, failed, tests: &results })?,
        ValidateOutput::Text => {
            for result in &results {
                let (style, word) = match result.outcome {
                    Outcome::Pass => (render::OK, "PASS"),
                    Outcome::Fail => (render::ERROR, "FAIL"),
                    Outcome::Error => (render::ERROR, "ERROR"),
                };
                anstream::print!(
                    "{}{word}{} {} ({:.1}ms)",
                    style.render(),
                    style.render_reset(),
                    result.name,
                    result.duration_ms
                );
                match &result.message {
                    Some(message) => anstream::println!(": {message}"),
                    None => anstream::println!(),
                }
            }
            anstream::println!("{passed} passed, {failed} failed");
        }
    }
    Ok(if failed > 0 { ExitStatus::Denied } else { ExitStatus::Ok })
}
