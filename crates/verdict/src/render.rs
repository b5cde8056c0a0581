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

/// A list of names for one line of output: all of them when few, else the first few and how many more
/// (a 3,000-file snapshot must not print a 100 KB line; `-o json` has the full list).
pub fn name_list(names: &[String]) -> String {
    const SHOWN: usize = 5;
    match names.len() {
        0 => "none".to_owned(),
        n if n <= SHOWN + 1 => names.join(", "),
        n => {
            format!("{} and {n_more} more (-o json lists all)", names[..SHOWN].join(", "), n_more = n - SHOWN)
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

/// The line every recording command prints: what, which, and the ledger entry.
pub fn recorded_line<T>(what: &str, name: &str, record: &verdict_ledger::Recorded<T>) {
    let short = record.hash.get(..12).unwrap_or(&record.hash);
    anstream::println!("recorded {what} {name} (ledger entry {}, hash {short}…)", record.seq);
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
