//! `verdict assert artifact|snapshot`: may this artifact run (by an environment's policies, by policy
//! files, or by its flows' templates)? Is everything running in an environment compliant? Exit 0 yes,
//! 1 no (with every reason), and never 0 on an error.

use std::path::Path;

use anyhow::anyhow;
use verdict_core::ExitStatus;
use verdict_enforce::{AppliedPolicy, AssertRequest, PolicyChoice};

use super::environments::{assert_snapshot, print_evaluation};
use super::ledger::with_ledger;
use crate::cli::{EvalOutput, LedgerOptions};
use crate::cli_env::{AssertArtifactArgs, AssertCommand};
use crate::error::{CliError, CliResult};

/// Runs `assert artifact` or `assert snapshot`.
pub fn run(command: AssertCommand, options: &LedgerOptions) -> CliResult {
    match command {
        AssertCommand::Artifact(args) => artifact(&args, options),
        AssertCommand::Snapshot(args) => assert_snapshot(&args.snapshot, args.output, options),
    }
}

/// The `--policy` values: an existing file is loaded (with line:column errors); anything else is the
/// name of a stored policy, checked by the library.
fn policy_choice(args: &AssertArtifactArgs) -> Result<PolicyChoice, CliError> {
    if let Some(environment) = &args.environment {
        return Ok(PolicyChoice::Environment(environment.clone()));
    }
    if args.policies.is_empty() {
        return Ok(PolicyChoice::FlowTemplates);
    }
    let mut loaded = Vec::new();
    let mut stored = Vec::new();
    for value in &args.policies {
        let path = Path::new(value);
        if !path.is_file() {
            if value.contains(['/', '\\']) || value.ends_with(".yml") || value.ends_with(".yaml") {
                return Err(CliError::invalid(anyhow!(
                    "policy {value:?} is neither an existing file nor a policy name"
                )));
            }
            stored.push(value.clone());
            continue;
        }
        let source = std::fs::read_to_string(path)
            .map_err(|err| CliError::invalid(anyhow!("cannot read policy {}: {err}", path.display())))?;
        let file = path.display().to_string();
        let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| file.clone());
        let policy = verdict_policy::load_policy(&file, &name, &source).map_err(|diagnostics| {
            let rendered: Vec<String> = diagnostics.iter().map(|d| d.render(&source)).collect();
            CliError::invalid(anyhow!("{}", rendered.join("\n")))
        })?;
        let bundle =
            crate::policy_sources::provenance_of(path).map(|p| verdict_enforce::evaluation::BundleSource {
                bundle_digest: p.bundle_digest,
                reference: p.reference,
                source: p.source,
                commit: p.commit,
            });
        loaded.push((AppliedPolicy { name, version: None, file: Some(file), bundle }, policy.policy));
    }
    Ok(PolicyChoice::Policies { loaded, stored })
}

fn artifact(args: &AssertArtifactArgs, options: &LedgerOptions) -> CliResult {
    let fingerprint = super::fingerprint::given_fingerprint(
        args.fingerprint.as_ref(),
        args.path.as_deref(),
        args.artifact_type,
        &args.excludes,
        &args.registry,
        options,
    )?;
    let request = AssertRequest {
        fingerprint: fingerprint.clone(),
        name: args.name.clone(),
        fallback_name: args.path.as_ref().map(|p| p.display().to_string()),
        policies: policy_choice(args)?,
        flow: args.flow.clone(),
        record: args.record && !options.dry_run,
    };
    let decision = with_ledger(options, async |ledger| {
        verdict_enforce::assert_artifact(ledger, &options.org, &request).await
    })?;
    let evaluation = &decision.evaluation;
    match args.output {
        EvalOutput::Json => crate::render::print_json(evaluation)?,
        EvalOutput::Table => {
            let verdict = if evaluation.compliant { "ALLOWED" } else { "DENIED" };
            anstream::println!("{verdict}: {fingerprint}");
            print_evaluation(evaluation);
            if decision.recorded {
                anstream::println!("decision recorded in the ledger");
            }
        }
    }
    Ok(if evaluation.compliant { ExitStatus::Ok } else { ExitStatus::Denied })
}
