//! Human and machine output: diagnostics on stderr, tables and JSON on stdout.

use std::io::Write;

use anstyle::{AnsiColor, Style};
use comfy_table::{Cell, ContentArrangement, Table, presets};
use serde::Serialize;
use verdict_core::EvaluationReport;
use verdict_policy::{Diagnostic, Policy};

use crate::error::CliError;

/// Style of success markers.
pub const OK: Style = AnsiColor::Green.on_default().bold();
/// Style of failure markers.
pub const ERROR: Style = AnsiColor::Red.on_default().bold();
/// Style of warnings.
pub const WARNING: Style = AnsiColor::Yellow.on_default().bold();

/// Prints diagnostics to stderr with their source lines.
pub fn print_diagnostics(diagnostics: &[Diagnostic], source: &str) {
    for diagnostic in diagnostics {
        let rendered = diagnostic.render(source);
        let style = match diagnostic.severity {
            verdict_policy::Severity::Error => ERROR,
            verdict_policy::Severity::Warning => WARNING,
        };
        // Colour only the leading "error"/"warning" word.
        let (word, rest) = rendered.split_once(':').unwrap_or(("", &rendered));
        anstream::eprint!("{}{word}{}:{rest}", style.render(), style.render_reset());
        anstream::eprintln!();
    }
}

/// `policy` or `policies`: the noun for `count` things.
pub fn plural<'a>(count: usize, one: &'a str, many: &'a str) -> &'a str {
    if count == 1 { one } else { many }
}

/// `1 file`, `3 files`: a count with its noun in the right number.
pub fn counted(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", plural(count, one, many))
}

/// A list of names for one line of output: all of them when few or with `-v`, else the first few and how
/// many more (a 3,000-file snapshot must not print a 100 KB line; `-o json` has the full list).
pub fn name_list(names: &[String]) -> String {
    const SHOWN: usize = 5;
    match names.len() {
        0 => "none".to_owned(),
        n if n <= SHOWN + 1 || VERBOSE.load(std::sync::atomic::Ordering::Relaxed) => names.join(", "),
        n => {
            format!(
                "{} and {n_more} more (-v or -o json lists all)",
                names[..SHOWN].join(", "),
                n_more = n - SHOWN
            )
        }
    }
}

/// Prints a value as pretty JSON on stdout.
pub fn print_json<T: Serialize>(value: &T) -> Result<(), CliError> {
    let mut stdout = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut stdout, value).map_err(CliError::invalid)?;
    writeln!(stdout).map_err(CliError::invalid)?;
    Ok(())
}

/// "provenance, trail-compliance, 3 attestation rules".
pub fn summarize_policy(policy: &Policy) -> String {
    let mut parts = Vec::new();
    if policy.provenance.as_ref().is_some_and(|r| r.required) {
        parts.push("provenance required".to_owned());
    }
    if policy.trail_compliance.as_ref().is_some_and(|r| r.required) {
        parts.push("trail-compliance required".to_owned());
    }
    match policy.attestations.len() {
        0 => {}
        1 => parts.push("1 attestation rule".to_owned()),
        n => parts.push(format!("{n} attestation rules")),
    }
    if parts.is_empty() { "no rules".to_owned() } else { parts.join(", ") }
}

/// One row per artifact; each failed rule on its own line in the last column.
pub fn print_report(report: &EvaluationReport, policies: &[Policy]) {
    let mut table = Table::new();
    table.load_preset(presets::NOTHING).set_content_arrangement(ContentArrangement::Dynamic).set_header([
        "ARTIFACT",
        "FINGERPRINT",
        "COMPLIANT",
        "REASONS",
    ]);
    for artifact in &report.artifacts {
        let short = artifact.fingerprint.as_str().get(..12).unwrap_or(artifact.fingerprint.as_str());
        let compliant = if artifact.compliant { "yes" } else { "NO" };
        let reasons = artifact.reasons.iter().map(|r| format!("• {r}")).collect::<Vec<_>>().join("\n");
        table.add_row([
            Cell::new(&artifact.name),
            Cell::new(short),
            Cell::new(compliant),
            Cell::new(reasons),
        ]);
    }
    if report.artifacts.is_empty() {
        anstream::println!("the evidence document lists no artifacts");
    } else {
        for line in table.to_string().lines() {
            anstream::println!("{}", line.trim_end());
        }
    }
    let compliant = report.artifacts.iter().filter(|a| a.compliant).count();
    let names: Vec<&str> = policies.iter().map(|p| p.name.as_str()).collect();
    let (style, word) = if report.compliant { (OK, "COMPLIANT") } else { (ERROR, "NON-COMPLIANT") };
    anstream::println!(
        "{}{word}{}: {compliant} of {} artifacts compliant with {} ({})",
        style.render(),
        style.render_reset(),
        report.artifacts.len(),
        if names.len() == 1 { "1 policy".to_owned() } else { format!("{} policies", names.len()) },
        names.join(", ")
    );
}

/// With `--dry-run`, prints what would be recorded (as JSON) and returns true: the caller sends nothing.
pub fn dry_run<T: Serialize>(
    options: &crate::cli::LedgerOptions,
    what: &str,
    record: &T,
) -> Result<bool, CliError> {
    if !options.dry_run {
        return Ok(false);
    }
    anstream::println!("dry run: would record {what} (nothing sent):");
    print_json(record)?;
    Ok(true)
}

/// The line every recording command prints: what, which, and the ledger entry (nothing with `--quiet`).
pub fn recorded_line<T>(what: &str, name: &str, record: &verdict_ledger::Recorded<T>) {
    let short = record.hash.get(..12).unwrap_or(&record.hash);
    say(format_args!("recorded {what} {name} (ledger entry {}, hash {short}…)", record.seq));
}

/// Set once from `-v` at start-up: long lists are printed whole.
static VERBOSE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// `-v`: long lists in one-line summaries are printed whole.
pub fn set_verbose(verbose: bool) {
    VERBOSE.store(verbose, std::sync::atomic::Ordering::Relaxed);
}

/// Set once from `--quiet` at start-up.
static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// `--quiet`: success messages are left out; requested output (`-o json`) and errors are not.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, std::sync::atomic::Ordering::Relaxed);
}

/// Whether `--quiet` was given.
pub fn quiet() -> bool {
    QUIET.load(std::sync::atomic::Ordering::Relaxed)
}

/// Prints a line on stdout that tells what happened, unless `--quiet`.
pub fn say(line: std::fmt::Arguments<'_>) {
    if !quiet() {
        anstream::println!("{line}");
    }
}

/// Prints a borderless table (the style of every list), without trailing spaces.
pub fn print_table(header: &[&str], rows: Vec<Vec<String>>) {
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::NOTHING).set_header(header.to_vec());
    for row in rows {
        table.add_row(row);
    }
    for line in table.to_string().lines() {
        anstream::println!("{}", line.trim_end());
    }
}

/// A fingerprint's first 12 hex digits, as tables show it (every command accepts such a prefix back).
pub fn short(fingerprint: &str) -> String {
    fingerprint.get(..12).unwrap_or(fingerprint).to_owned()
}

/// A progress bar on stderr for work that may take more than a second (fingerprinting thousands of
/// paths). Drawn only when stderr is a terminal, the work has more than a handful of steps, and
/// `--quiet` is off: logs and pipes stay clean.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    /// A bar of `len` steps, each described as `verb` and the step's name.
    pub fn new(len: usize, verb: &'static str) -> Self {
        let shown = show_progress(std::io::IsTerminal::is_terminal(&std::io::stderr()), quiet(), len);
        let bar = shown.then(|| {
            let bar = indicatif::ProgressBar::new(len as u64);
            let style = indicatif::ProgressStyle::with_template("{prefix} {bar:30} {pos}/{len} {wide_msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_prefix(verb);
            bar
        });
        Progress { bar }
    }

    /// Sets how many steps are done (work that reports its own position).
    pub fn set(&self, done: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(done);
        }
    }

    /// Moves to the next step, named `name`.
    pub fn step(&self, name: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(name.to_owned());
            bar.inc(1);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Whether a progress bar is worth drawing.
fn show_progress(stderr_is_terminal: bool, quiet: bool, len: usize) -> bool {
    stderr_is_terminal && !quiet && len > 20
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_is_for_people_watching_long_work() {
        assert!(show_progress(true, false, 3000));
        assert!(!show_progress(false, false, 3000), "a pipe or CI log gets no bar");
        assert!(!show_progress(true, true, 3000), "--quiet means quiet");
        assert!(!show_progress(true, false, 3), "a few quick steps need none");
    }

    #[test]
    fn counts_agree_with_their_nouns() {
        assert_eq!(counted(1, "file", "files"), "1 file");
        assert_eq!(counted(0, "file", "files"), "0 files");
        assert_eq!(counted(2, "instance", "instances"), "2 instances");
    }
}
