//! Typed attestations: each reads its evidence (JUnit XML, SARIF, a decision, an override), computes
//! compliance by its own rule, and records the processed results as the payload that `get trail` and
//! Rego policies see (docs/trail-document.md).

use anyhow::anyhow;
use serde_json::json;
use verdict_evidence::custom::{check_definition, evaluate};
use verdict_evidence::junit::parse_results_dir;
use verdict_evidence::sarif::{FailOn, level_counts_and_completeness, passes, snyk_summary};
use verdict_ledger::records::AttestationType;
use verdict_ledger::{Ledger, LedgerError, RecordKind};

use super::ledger::with_ledger;
use super::record::record_attestation;
use crate::cli::{AttestCommand, LedgerOptions};
use crate::cli_env::FailOnLevel;
use crate::error::{CliError, CliResult};
use crate::input::read_json;

/// Runs `attest junit|snyk|sarif|decision|override`.
pub fn run(command: AttestCommand, options: &LedgerOptions) -> CliResult {
    match command {
        AttestCommand::Junit(args) => {
            let results = parse_results_dir(&args.results_dir).map_err(CliError::invalid)?;
            let compliant = results.is_compliant();
            record_attestation(
                options,
                args.common,
                "junit",
                compliant,
                Some(json!({"junit_results": results})),
            )
        }
        AttestCommand::Snyk(args) => {
            let summary = snyk_summary(&args.scan_results).map_err(CliError::invalid)?;
            let compliant = summary.is_compliant();
            record_attestation(
                options,
                args.common,
                "snyk",
                compliant,
                Some(json!({"snyk_results": summary})),
            )
        }
        AttestCommand::Sarif(args) => {
            let (runs, incomplete) =
                level_counts_and_completeness(&args.scan_results).map_err(CliError::invalid)?;
            let fail_on = match args.fail_on {
                FailOnLevel::Error => FailOn::Error,
                FailOnLevel::Warning => FailOn::Warning,
                FailOnLevel::Note => FailOn::Note,
            };
            // A scan that did not run or did not finish is not a clean scan: non-compliant, with why.
            let compliant = incomplete.is_empty() && passes(&runs, fail_on);
            let level = format!("{:?}", args.fail_on).to_ascii_lowercase();
            let mut results = json!({"runs": runs, "fail_on": level});
            if !incomplete.is_empty() {
                results["incomplete"] = json!(incomplete);
            }
            record_attestation(
                options,
                args.common,
                "sarif",
                compliant,
                Some(json!({"sarif_results": results})),
            )
        }
        AttestCommand::Decision(args) => {
            if args.control.trim().is_empty() {
                return Err(CliError::invalid(anyhow!("--control must name a control")));
            }
            record_attestation(
                options,
                args.common,
                "decision",
                args.compliant,
                Some(json!({"control": args.control})),
            )
        }
        AttestCommand::Override(args) => override_attestation(args, options),
        AttestCommand::Custom(args) => custom(args, options),
        AttestCommand::Pullrequest(command) => super::service_attestations::pullrequest(command, options),
        AttestCommand::Jira(args) => super::service_attestations::jira(args, options),
        AttestCommand::Sonar(args) => super::service_attestations::sonar(args, options),
        AttestCommand::Artifact(_) | AttestCommand::Generic(_) => {
            Err(CliError::invalid(anyhow!("internal: not a typed attestation")))
        }
    }
}

fn override_attestation(args: crate::cli_env::AttestOverrideArgs, options: &LedgerOptions) -> CliResult {
    if args.reason.trim().is_empty() {
        return Err(CliError::invalid(anyhow!("--reason must say why the compliance is overridden")));
    }
    let mut args = args;
    args.common.fingerprint = super::fingerprint::resolve_optional(args.common.fingerprint.take(), options)?;
    let common = &args.common;
    let original = with_ledger(options, async |ledger| {
        let all = ledger.attestations(&options.org, &common.target.flow, &common.target.trail).await?;
        all.into_iter()
            .rev()
            .find(|a| a.record.name == common.name && a.record.fingerprint == common.fingerprint)
            .ok_or_else(|| {
                LedgerError::NotFound(format!(
                    "trail {:?} of flow {:?} has no attestation {:?} to override",
                    common.target.trail, common.target.flow, common.name
                ))
            })
    })?;
    let mut payload = match original.record.payload.clone() {
        Some(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    payload.insert(
        "override".into(),
        json!({
            "reason": args.reason,
            "original_is_compliant": original.record.is_compliant,
            "original_ledger_entry": original.seq,
        }),
    );
    let kind = original.record.kind.clone();
    record_attestation(
        options,
        args.common,
        &kind,
        args.new_compliance_status,
        Some(serde_json::Value::Object(payload)),
    )
}

/// Every version of a custom attestation type, oldest first.
async fn type_versions(
    ledger: &impl Ledger,
    org: &str,
    name: &str,
) -> Result<Vec<(AttestationType, i64)>, LedgerError> {
    ledger
        .records(org, RecordKind::AttestationType, name)
        .await?
        .into_iter()
        .map(|record| {
            let kind: AttestationType = serde_json::from_value(record.record)
                .map_err(|err| LedgerError::Corrupt { seq: record.seq, message: err.to_string() })?;
            Ok((kind, record.seq))
        })
        .collect()
}

/// Runs `create attestation-type`.
pub fn create_type(args: crate::cli_env::CreateAttestationTypeArgs, options: &LedgerOptions) -> CliResult {
    let schema = read_json(&args.schema, "schema")?;
    check_definition(&schema, &args.rules).map_err(CliError::invalid)?;
    let kind =
        AttestationType { name: args.name.clone(), schema, jq: args.rules, description: args.description };
    if crate::render::dry_run(options, "attestation type", &kind)? {
        return Ok(verdict_core::ExitStatus::Ok);
    }
    let body = serde_json::to_value(&kind).map_err(|err| CliError::invalid(anyhow!("{err}")))?;
    let version = with_ledger(options, async |ledger| {
        ledger.append_record(&options.org, RecordKind::AttestationType, &args.name, body).await?;
        Ok(type_versions(ledger, &options.org, &args.name).await?.len())
    })?;
    anstream::println!(
        "recorded attestation type {} version {version} (attest with --type {})",
        args.name,
        args.name
    );
    Ok(verdict_core::ExitStatus::Ok)
}

fn custom(args: crate::cli_env::AttestCustomArgs, options: &LedgerOptions) -> CliResult {
    let data = read_json(&args.attestation_data, "attestation data")?;
    let (kind, version) = with_ledger(options, async |ledger| {
        let versions = type_versions(ledger, &options.org, &args.type_name).await?;
        let count = versions.len();
        versions.into_iter().last().map(|(kind, _)| (kind, count)).ok_or_else(|| {
            LedgerError::NotFound(format!(
                "attestation type {:?} does not exist in org {:?}: create it with `verdict create attestation-type {} --schema FILE`",
                args.type_name, options.org, args.type_name
            ))
        })
    })?;
    let outcomes = evaluate(&kind.name, &kind.schema, &kind.jq, &data).map_err(CliError::invalid)?;
    let compliant = outcomes.iter().all(|o| o.passed);
    for failed in outcomes.iter().filter(|o| !o.passed) {
        anstream::println!("rule `{}` {}", failed.rule, failed.reason.as_deref().unwrap_or("failed"));
    }
    let payload = json!({
        "custom_type": {"name": kind.name, "version": version},
        "attestation_data": data,
        "rules": outcomes,
    });
    let type_name = format!("custom:{}", kind.name);
    record_attestation(options, args.common, &type_name, compliant, Some(payload))
}
