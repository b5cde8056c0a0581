//! `verdict evaluate input`: a Rego policy over a JSON document, with Kosli's flags, output and contract.

use std::io::{IsTerminal, Read};
use std::path::Path;

use anyhow::anyhow;
use serde::Serialize;
use verdict_core::ExitStatus;
use verdict_rego::{Decision, Limits, RegoError, RegoPolicy};

use verdict_ledger::Ledger;

use super::ledger::with_ledger;
use crate::cli::{EvalOutput, EvaluateCommand, EvaluateInputArgs, LedgerOptions, RegoArgs};
use crate::error::{CliError, CliResult};

/// Runs an `evaluate` subcommand.
pub fn run(command: EvaluateCommand, options: &LedgerOptions) -> CliResult {
    match command {
        EvaluateCommand::Input(args) => input(&args),
        EvaluateCommand::Trail(args) => {
            let document = with_ledger(options, async |ledger| {
                ledger.trail_document(&options.org, &args.flow, &args.name).await
            })?;
            evaluate(&args.rego, serde_json::json!({ "trail": document }))
        }
        EvaluateCommand::Trails(args) => {
            let documents = with_ledger(options, async |ledger| {
                let mut documents = Vec::with_capacity(args.names.len());
                for name in &args.names {
                    documents.push(ledger.trail_document(&options.org, &args.flow, name).await?);
                }
                Ok(documents)
            })?;
            evaluate(&args.rego, serde_json::json!({ "trails": documents }))
        }
    }
}

fn input(args: &EvaluateInputArgs) -> CliResult {
    let text = match &args.input_file {
        Some(path) => std::fs::read_to_string(path).map_err(|err| {
            CliError::invalid(anyhow!("failed to read input file: {}: {err}", path.display()))
        })?,
        None => read_stdin()?,
    };
    let input: serde_json::Value = serde_json::from_str(&text)
        .map_err(|err| CliError::invalid(anyhow!("failed to parse input: {err}")))?;
    if !input.is_object() {
        return Err(CliError::invalid(anyhow!(
            "failed to parse input: the input must be a JSON object, got {}",
            json_kind(&input)
        )));
    }
    evaluate(&args.rego, input)
}

fn read_stdin() -> Result<String, CliError> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Err(CliError::invalid(anyhow!(
            "no --input-file given and stdin is a terminal: pass --input-file FILE, or pipe the JSON input in"
        )));
    }
    let mut text = String::new();
    stdin
        .lock()
        .read_to_string(&mut text)
        .map_err(|err| CliError::invalid(anyhow!("failed to read input from stdin: {err}")))?;
    Ok(text)
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Reads `--params`: inline JSON, or `@file`.
pub fn params(spec: &str) -> Result<serde_json::Value, CliError> {
    let text = match spec.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|err| CliError::invalid(anyhow!("failed to read --params file {path}: {err}")))?,
        None => spec.to_owned(),
    };
    serde_json::from_str(&text).map_err(|err| CliError::invalid(anyhow!("failed to parse --params: {err}")))
}

pub fn load_policy(path: &Path) -> Result<RegoPolicy, CliError> {
    let source = std::fs::read_to_string(path)
        .map_err(|err| CliError::invalid(anyhow!("failed to read policy file {}: {err}", path.display())))?;
    RegoPolicy::load(&path.display().to_string(), &source).map_err(rego_error)
}

/// A Rego error as a CLI error: the message, then the offending line with a caret when there is one.
fn rego_error(err: RegoError) -> CliError {
    match err.snippet() {
        Some(snippet) => CliError::invalid(anyhow!("{err}\n{snippet}")),
        None => CliError::invalid(anyhow!("{err}")),
    }
}

#[derive(Serialize)]
struct JsonOutput<'a> {
    allow: bool,
    violations: &'a Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    input: Option<&'a serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<&'a serde_json::Value>,
    /// The policy bundle the policy came from, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    bundle: Option<verdict_bundle::resolve::PolicyProvenance>,
}

/// Loads the policy, evaluates it on `input`, prints the result and maps it to an exit status. Shared by
/// every `evaluate` subcommand.
pub fn evaluate(args: &RegoArgs, input: serde_json::Value) -> CliResult {
    let params = args.params.as_deref().map(params).transpose()?;
    let limits = Limits { timeout: args.timeout };
    verdict_rego::set_memory_limit(Some(args.max_memory));
    let decision = {
        // regorus writes some diagnostics straight to stderr; they would only duplicate the error we
        // report, so silence stderr while the engine runs.
        let _quiet = gag::Gag::stderr().ok();
        let mut policy = load_policy(&args.policy)?;
        if let Some(params) = &params {
            policy = policy.with_params(regorus::Value::from(params.clone())).map_err(rego_error)?;
        }
        policy.evaluate(regorus::Value::from(input.clone()), &limits)
    }
    .map_err(rego_error)?;
    print(args, &decision, &input, params.as_ref())?;
    Ok(if decision.allow || args.no_assert { ExitStatus::Ok } else { ExitStatus::Denied })
}

fn print(
    args: &RegoArgs,
    decision: &Decision,
    input: &serde_json::Value,
    params: Option<&serde_json::Value>,
) -> Result<(), CliError> {
    match args.output {
        EvalOutput::Json => {
            let output = JsonOutput {
                allow: decision.allow,
                violations: &decision.violations,
                input: args.show_input.then_some(input),
                params: if args.show_input { params } else { None },
                bundle: crate::policy_sources::provenance_of(&args.policy),
            };
            crate::render::print_json(&output)
        }
        EvalOutput::Table => {
            if decision.allow {
                anstream::println!("RESULT:\tALLOWED");
            } else {
                anstream::println!("RESULT:\tDENIED");
                for (index, violation) in decision.violations.iter().flatten().enumerate() {
                    let label = if index == 0 { "VIOLATIONS:" } else { "" };
                    anstream::println!("{label}\t{violation}");
                }
            }
            if let Some(bundle) = crate::policy_sources::provenance_of(&args.policy) {
                anstream::println!("POLICY:\t{}", crate::policy_sources::describe(&bundle));
            }
            Ok(())
        }
    }
}
