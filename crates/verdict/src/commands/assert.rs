//! `verdict assert artifact|snapshot`: may this artifact run (by an environment's policies, by policy
//! files, or by its flows' templates)? Is everything running in an environment compliant? Exit 0 yes,
//! 1 no (with every reason), and never 0 on an error.

use std::collections::BTreeMap;

use anyhow::anyhow;
use serde::Serialize;
use verdict_core::ExitStatus;
use verdict_enforce::{AppliedPolicy, Evaluation, PolicySet};
use verdict_ledger::{Ledger, LedgerError, RecordKind};

use super::environments::{assert_snapshot, print_evaluation};
use super::ledger::with_ledger;
use crate::cli::{EvalOutput, LedgerOptions};
use crate::cli_env::{AssertArtifactArgs, AssertCommand};
use crate::error::{CliError, CliResult};

/// Without an environment or policy files, an artifact is judged by its flows' templates: it needs
/// provenance, and a COMPLIANT status in some trail and NON-COMPLIANT in none (DESIGN.md rules 4 and 6).
const TEMPLATE_POLICY: &str = "_schema: https://kosli.com/schemas/policy/environment/v1\nartifacts:\n  provenance:\n    required: true\n  trail-compliance:\n    required: true\n";

/// Runs `assert artifact` or `assert snapshot`.
pub fn run(command: AssertCommand, options: &LedgerOptions) -> CliResult {
    match command {
        AssertCommand::Artifact(args) => artifact(&args, options),
        AssertCommand::Snapshot(args) => assert_snapshot(&args.snapshot, args.output, options),
    }
}

fn policy_files(args: &AssertArtifactArgs) -> Result<PolicySet, CliError> {
    let mut set = Vec::new();
    for path in &args.policies {
        let source = std::fs::read_to_string(path)
            .map_err(|err| CliError::invalid(anyhow!("cannot read policy {}: {err}", path.display())))?;
        let file = path.display().to_string();
        let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| file.clone());
        let loaded = verdict_policy::load_policy(&file, &name, &source).map_err(|diagnostics| {
            let rendered: Vec<String> = diagnostics.iter().map(|d| d.render(&source)).collect();
            CliError::invalid(anyhow!("{}", rendered.join("\n")))
        })?;
        set.push((AppliedPolicy { name, version: None, file: Some(file) }, loaded.policy));
    }
    Ok(set)
}

#[derive(Serialize)]
struct RecordedDecision<'a> {
    fingerprint: &'a str,
    name: &'a str,
    scope: &'a str,
    status: &'a str,
    compliant: bool,
    policies: &'a [AppliedPolicy],
    evidence_digest: &'a str,
    reasons: &'a [String],
}

fn artifact(args: &AssertArtifactArgs, options: &LedgerOptions) -> CliResult {
    let fingerprint = super::fingerprint::given_fingerprint(
        args.fingerprint.as_ref(),
        args.path.as_deref(),
        args.artifact_type,
        &args.excludes,
        &args.registry,
    )?;
    let files = policy_files(args)?;
    let templates = if args.environment.is_none() && files.is_empty() {
        let loaded = verdict_policy::load_policy("flow templates", "flow-templates", TEMPLATE_POLICY)
            .map_err(|_| CliError::invalid(anyhow!("the built-in template policy does not load")))?;
        vec![(AppliedPolicy { name: "flow-templates".to_owned(), version: None, file: None }, loaded.policy)]
    } else {
        Vec::new()
    };
    let evaluation: Evaluation = with_ledger(options, async |ledger| {
        let org = &options.org;
        let name = match &args.name {
            Some(name) => name.clone(),
            None => ledger
                .artifact_reports(org, &fingerprint)
                .await?
                .pop()
                .map(|r| r.record.name)
                .or_else(|| args.path.as_ref().map(|p| p.display().to_string()))
                .unwrap_or_else(|| fingerprint.get(..12).unwrap_or(&fingerprint).to_owned()),
        };
        let (policies, allowed, scope) = match &args.environment {
            Some(environment) => {
                verdict_enforce::environments::require_environment(ledger, org, environment).await?;
                let attached = verdict_enforce::attached_policies(ledger, org, environment).await?;
                (
                    verdict_enforce::policy_set(&attached)?,
                    verdict_enforce::allow_list(ledger, org, environment).await?,
                    environment.clone(),
                )
            }
            None if !files.is_empty() => (files.clone(), BTreeMap::new(), "the given policies".to_owned()),
            None => (templates.clone(), BTreeMap::new(), "its flows' templates".to_owned()),
        };
        let evaluation = verdict_enforce::evaluate_artifacts(
            ledger,
            org,
            &[(name, fingerprint.clone())],
            &policies,
            &allowed,
            &scope,
            args.flow.as_deref(),
        )
        .await?;
        if args.record && !options.dry_run {
            let Some(verdict) = evaluation.artifacts.first() else {
                return Err(LedgerError::Invalid("nothing was evaluated".to_owned()));
            };
            let decision = RecordedDecision {
                fingerprint: &fingerprint,
                name: &verdict.decision.name,
                scope: &scope,
                status: &evaluation.status,
                compliant: evaluation.compliant,
                policies: &evaluation.policies,
                evidence_digest: &verdict.evidence_digest,
                reasons: &verdict.decision.reasons,
            };
            let body =
                serde_json::to_value(&decision).map_err(|err| LedgerError::Invalid(err.to_string()))?;
            ledger.append_record(org, RecordKind::Decision, &fingerprint, body).await?;
        }
        Ok(evaluation)
    })?;
    match args.output {
        EvalOutput::Json => crate::render::print_json(&evaluation)?,
        EvalOutput::Table => {
            let verdict = if evaluation.compliant { "ALLOWED" } else { "DENIED" };
            anstream::println!("{verdict}: {fingerprint}");
            print_evaluation(&evaluation);
            if args.record {
                anstream::println!("decision recorded in the ledger");
            }
        }
    }
    Ok(if evaluation.compliant { ExitStatus::Ok } else { ExitStatus::Denied })
}
