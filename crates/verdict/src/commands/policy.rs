//! `verdict policy validate` and `verdict policy eval`.

use std::path::Path;

use anyhow::anyhow;
use serde::Serialize;
use verdict_core::{EvidenceDocument, ExitStatus};
use verdict_policy::{Diagnostic, LoadedPolicy, Policy, evaluate_document, load_policy};

use crate::cli::{EvalArgs, EvalOutput, PolicyCommand, ValidateArgs, ValidateOutput};
use crate::error::{CliError, CliResult};
use crate::input::{display_name, read_text};
use crate::render;

/// Runs a `policy` subcommand.
pub fn run(command: PolicyCommand) -> CliResult {
    match command {
        PolicyCommand::Validate(args) => validate(&args),
        PolicyCommand::Eval(args) => eval(&args),
        PolicyCommand::Lint(args) => super::rego_tools::lint(&args),
        PolicyCommand::Test(args) => super::rego_tools::test(&args),
    }
}

/// The outcome of loading one policy file.
struct FileOutcome {
    file: String,
    source: String,
    result: Result<LoadedPolicy, Vec<Diagnostic>>,
}

/// The policy's name: the file stem, as Kosli names policies created from files.
fn policy_name(path: &Path) -> String {
    path.file_stem().map_or_else(|| display_name(path), |stem| stem.to_string_lossy().into_owned())
}

fn load_file(path: &Path) -> FileOutcome {
    let file = display_name(path);
    match read_text(path, "policy file") {
        Ok(source) => {
            let result = load_policy(&file, &policy_name(path), &source);
            FileOutcome { file, source, result }
        }
        Err(err) => {
            let diagnostic = Diagnostic::file_error(&file, err.to_string());
            FileOutcome { file, source: String::new(), result: Err(vec![diagnostic]) }
        }
    }
}

#[derive(Serialize)]
struct ValidateReport<'a> {
    valid: bool,
    files: Vec<ValidateFile<'a>>,
}

#[derive(Serialize)]
struct ValidateFile<'a> {
    file: &'a str,
    valid: bool,
    errors: &'a [Diagnostic],
    warnings: &'a [Diagnostic],
}

fn validate(args: &ValidateArgs) -> CliResult {
    let outcomes: Vec<FileOutcome> = args.files.iter().map(|path| load_file(path)).collect();
    let valid = outcomes.iter().all(|o| o.result.is_ok());
    match args.output {
        ValidateOutput::Json => {
            let files = outcomes
                .iter()
                .map(|o| {
                    let (errors, warnings): (&[Diagnostic], &[Diagnostic]) = match &o.result {
                        Ok(loaded) => (&[], &loaded.warnings),
                        Err(errors) => (errors, &[]),
                    };
                    ValidateFile { file: &o.file, valid: o.result.is_ok(), errors, warnings }
                })
                .collect();
            render::print_json(&ValidateReport { valid, files })?;
        }
        ValidateOutput::Text => {
            for outcome in &outcomes {
                match &outcome.result {
                    Ok(loaded) => {
                        render::print_diagnostics(&loaded.warnings, &outcome.source);
                        anstream::println!(
                            "{}ok{}: {} ({})",
                            render::OK.render(),
                            render::OK.render_reset(),
                            outcome.file,
                            render::summarize_policy(&loaded.policy)
                        );
                    }
                    Err(errors) => render::print_diagnostics(errors, &outcome.source),
                }
            }
        }
    }
    if valid {
        Ok(ExitStatus::Ok)
    } else {
        let invalid = outcomes.iter().filter(|o| o.result.is_err()).count();
        Err(CliError::invalid(anyhow!(
            "{invalid} of {} policy files {} invalid",
            outcomes.len(),
            if invalid == 1 { "is" } else { "are" }
        )))
    }
}

fn eval(args: &EvalArgs) -> CliResult {
    let outcomes: Vec<FileOutcome> = args.policies.iter().map(|path| load_file(path)).collect();
    let mut policies: Vec<Policy> = Vec::with_capacity(outcomes.len());
    let mut invalid = 0;
    for outcome in outcomes {
        match outcome.result {
            Ok(loaded) => {
                render::print_diagnostics(&loaded.warnings, &outcome.source);
                policies.push(loaded.policy);
            }
            Err(errors) => {
                invalid += 1;
                render::print_diagnostics(&errors, &outcome.source);
            }
        }
    }
    if invalid > 0 {
        return Err(CliError::invalid(anyhow!(
            "{invalid} policy file{} invalid: nothing was evaluated",
            if invalid == 1 { " is" } else { "s are" }
        )));
    }
    let evidence_name = display_name(&args.evidence);
    let text = read_text(&args.evidence, "evidence file")?;
    let document = EvidenceDocument::from_json_str(&text)
        .map_err(|err| CliError::invalid(anyhow!("{evidence_name}:{err}")))?;
    tracing::info!(artifacts = document.artifacts.len(), policies = policies.len(), "evaluating");
    let report = evaluate_document(&document, &policies);
    match args.output {
        EvalOutput::Json => render::print_json(&report)?,
        EvalOutput::Table => render::print_report(&report, &policies),
    }
    // Judging nothing is not evidence of compliance (DESIGN.md rule 13).
    if document.artifacts.is_empty() && !args.allow_empty {
        anstream::eprintln!(
            "{evidence_name} has no artifacts: 0 artifacts were judged, which is not compliant (pass --allow-empty to accept it)"
        );
        return Ok(ExitStatus::Denied);
    }
    Ok(if report.compliant { ExitStatus::Ok } else { ExitStatus::Denied })
}
