//! `search`, `get artifact`, `get attestation`, `list attestations`: finding evidence by what a pipeline
//! log or a running pod shows (a fingerprint, a commit, an attestation name), as Kosli's CLI does.

use anyhow::anyhow;
use serde::Serialize;
use verdict_core::ExitStatus;
use verdict_enforce::{ArtifactSelector, SearchResult};
use verdict_ledger::{Attestation, Ledger, LedgerError, Recorded};

use super::ledger::with_ledger;
use crate::cli::{
    EvalOutput, GetArtifactArgs, GetAttestationArgs, LedgerOptions, ListAttestationsArgs, SearchArgs,
};
use crate::error::{CliError, CliResult};
use crate::render::{counted, print_json, print_table, short};

/// Runs `search`: exit 0 when something mentions the prefix, 2 when nothing does (as `kosli search`
/// fails on no match, so a script can tell).
pub fn search(args: &SearchArgs, options: &LedgerOptions) -> CliResult {
    let result = with_ledger(options, async |ledger| {
        verdict_enforce::search(ledger, &options.org, &args.search).await
    })?;
    if result.is_empty() {
        return Err(CliError::invalid(anyhow!(
            "nothing in org {:?} mentions {:?} (no artifact fingerprint, artifact commit or trail commit starts with it)",
            options.org,
            result.prefix
        )));
    }
    match args.output {
        EvalOutput::Json => print_json(&result)?,
        EvalOutput::Table => print_search(&result),
    }
    Ok(ExitStatus::Ok)
}

fn print_search(result: &SearchResult) {
    let mut flows: Vec<&str> = result
        .artifacts
        .iter()
        .map(|a| a.record.flow.as_str())
        .chain(result.trails.iter().map(|t| t.record.flow.as_str()))
        .collect();
    flows.sort_unstable();
    flows.dedup();
    anstream::println!(
        "{:?} is mentioned in {}: {}",
        result.prefix,
        counted(flows.len(), "flow", "flows"),
        flows.join(", ")
    );
    if !result.artifacts.is_empty() {
        anstream::println!("\nArtifacts (fingerprint or commit):");
        print_table(
            &["FLOW", "TRAIL", "ARTIFACT", "FINGERPRINT", "COMMIT", "RECORDED"],
            result
                .artifacts
                .iter()
                .map(|a| {
                    let r = &a.record;
                    vec![
                        r.flow.clone(),
                        r.trail.clone(),
                        r.name.clone(),
                        short(&r.fingerprint),
                        r.commit.as_deref().map(short).unwrap_or_default(),
                        a.recorded_at.clone(),
                    ]
                })
                .collect(),
        );
    }
    if !result.trails.is_empty() {
        anstream::println!("\nTrails (commit):");
        print_table(
            &["FLOW", "TRAIL", "COMMIT", "RECORDED"],
            result
                .trails
                .iter()
                .map(|t| {
                    let r = &t.record;
                    vec![
                        r.flow.clone(),
                        r.name.clone(),
                        r.commit.clone().unwrap_or_default(),
                        t.recorded_at.clone(),
                    ]
                })
                .collect(),
        );
    }
    if !result.environments.is_empty() {
        anstream::println!("\nRunning now (latest snapshots):");
        print_table(
            &["ENVIRONMENT", "SNAPSHOT", "NAME", "FINGERPRINT", "INSTANCES"],
            result
                .environments
                .iter()
                .map(|e| {
                    vec![
                        e.environment.clone(),
                        format!("#{}", e.snapshot),
                        e.name.clone(),
                        short(&e.fingerprint),
                        e.instances.to_string(),
                    ]
                })
                .collect(),
        );
    }
}

/// Runs `get artifact`.
pub fn get_artifact(args: &GetArtifactArgs, options: &LedgerOptions) -> CliResult {
    let selector = ArtifactSelector::parse(&args.expression).map_err(super::ledger::ledger_error)?;
    let view = with_ledger(options, async |ledger| {
        verdict_enforce::artifact_view(ledger, &options.org, &selector).await
    })?;
    if args.output == EvalOutput::Json {
        print_json(&view)?;
        return Ok(ExitStatus::Ok);
    }
    anstream::println!("artifact {}", view.fingerprint);
    anstream::println!("\nReported in {}:", counted(view.reports.len(), "trail", "trails"));
    print_table(
        &["FLOW", "TRAIL", "NAME", "STATUS", "COMMIT", "RECORDED"],
        view.reports
            .iter()
            .map(|r| {
                vec![
                    r.flow.clone(),
                    r.trail.clone(),
                    r.name.clone(),
                    r.status.clone(),
                    r.commit.as_deref().map(short).unwrap_or_default(),
                    r.recorded_at.clone(),
                ]
            })
            .collect(),
    );
    for report in &view.reports {
        let rows: Vec<Vec<String>> = report
            .attestations
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, entry)| {
                let text = |key: &str| entry[key].as_str().unwrap_or_default().to_owned();
                vec![format!("  {name}"), text("type"), text("status")]
            })
            .collect();
        if !rows.is_empty() {
            anstream::println!("\nEvidence in {}/{}:", report.flow, report.trail);
            print_table(&["ATTESTATION", "TYPE", "STATUS"], rows);
        }
    }
    if view.running.is_empty() {
        anstream::println!("\nRunning in no environment (latest snapshots).");
    } else {
        anstream::println!("\nRunning now:");
        print_table(
            &["ENVIRONMENT", "SNAPSHOT", "NAME", "INSTANCES"],
            view.running
                .iter()
                .map(|e| {
                    vec![
                        e.environment.clone(),
                        format!("#{}", e.snapshot),
                        e.name.clone(),
                        e.instances.to_string(),
                    ]
                })
                .collect(),
        );
    }
    Ok(ExitStatus::Ok)
}

/// The attestations of a trail, checked to exist, optionally only those about one artifact.
async fn trail_attestations(
    ledger: &impl Ledger,
    org: &str,
    target: &crate::cli::TrailTarget,
    fingerprint: Option<&str>,
) -> Result<Vec<Recorded<Attestation>>, LedgerError> {
    if ledger.trail(org, &target.flow, &target.trail).await?.is_none() {
        return Err(LedgerError::NotFound(format!(
            "trail {:?} does not exist in flow {:?} of org {org:?}",
            target.trail, target.flow
        )));
    }
    let all = ledger.attestations(org, &target.flow, &target.trail).await?;
    Ok(match fingerprint {
        Some(fingerprint) => {
            all.into_iter().filter(|a| a.record.fingerprint.as_deref() == Some(fingerprint)).collect()
        }
        None => all,
    })
}

/// One row of an attestation list.
fn attestation_row(attestation: &Recorded<Attestation>) -> Vec<String> {
    let record = &attestation.record;
    vec![
        record.name.clone(),
        record.kind.clone(),
        record.fingerprint.as_deref().map_or_else(|| "trail".to_owned(), short),
        if record.is_compliant { "yes".to_owned() } else { "NO".to_owned() },
        attestation.seq.to_string(),
        attestation.recorded_at.clone(),
    ]
}

/// Runs `list attestations`.
pub fn list_attestations(args: &ListAttestationsArgs, options: &LedgerOptions) -> CliResult {
    let fingerprint = super::fingerprint::resolve_optional(args.fingerprint.clone(), options)?;
    let attestations = with_ledger(options, async |ledger| {
        trail_attestations(ledger, &options.org, &args.target, fingerprint.as_deref()).await
    })?;
    match args.output {
        EvalOutput::Json => print_json(&attestations)?,
        EvalOutput::Table => print_table(
            &["NAME", "TYPE", "ABOUT", "COMPLIANT", "ENTRY", "RECORDED"],
            attestations.iter().map(attestation_row).collect(),
        ),
    }
    Ok(ExitStatus::Ok)
}

/// `get attestation`'s answer: the version that counts, and how many earlier ones it supersedes.
#[derive(Serialize)]
struct AttestationView {
    #[serde(flatten)]
    latest: Recorded<Attestation>,
    /// Earlier versions of the same attestation (same name and target), kept in the ledger.
    superseded: usize,
}

/// Runs `get attestation`.
pub fn get_attestation(args: &GetAttestationArgs, options: &LedgerOptions) -> CliResult {
    let fingerprint = super::fingerprint::resolve_optional(args.fingerprint.clone(), options)?;
    let matching: Vec<Recorded<Attestation>> = with_ledger(options, async |ledger| {
        trail_attestations(ledger, &options.org, &args.target, fingerprint.as_deref()).await
    })?
    .into_iter()
    .filter(|a| a.record.name == args.name)
    .collect();
    let Some(latest) = matching.last().cloned() else {
        return Err(CliError::invalid(anyhow!(
            "trail {:?} of flow {:?} has no attestation {:?}{}",
            args.target.trail,
            args.target.flow,
            args.name,
            fingerprint.map(|f| format!(" about {f}")).unwrap_or_default()
        )));
    };
    let superseded =
        matching.iter().filter(|a| a.record.fingerprint == latest.record.fingerprint).count() - 1;
    let view = AttestationView { latest, superseded };
    if args.output == EvalOutput::Json {
        print_json(&view)?;
        return Ok(ExitStatus::Ok);
    }
    let record = &view.latest.record;
    let about = record.fingerprint.clone().unwrap_or_else(|| format!("trail {}", record.trail));
    let lines = [
        ("name", record.name.clone()),
        ("type", record.kind.clone()),
        ("flow", record.flow.clone()),
        ("trail", record.trail.clone()),
        ("about", about),
        ("compliant", record.is_compliant.to_string()),
        ("recorded", view.latest.recorded_at.clone()),
        ("ledger entry", format!("{} ({} superseded)", view.latest.seq, view.superseded)),
    ];
    for (key, value) in lines {
        anstream::println!("{key:13} {value}");
    }
    for attachment in &record.attachments {
        anstream::println!(
            "{:13} {} ({} bytes, sha256 {})",
            "attachment",
            attachment.name,
            attachment.size,
            attachment.sha256
        );
    }
    for (key, value) in [("payload", &record.payload), ("user data", &record.user_data)] {
        if let Some(value) = value {
            let pretty =
                serde_json::to_string_pretty(value).map_err(|err| CliError::invalid(anyhow!("{err}")))?;
            anstream::println!("{key}:");
            for line in pretty.lines() {
                anstream::println!("  {line}");
            }
        }
    }
    Ok(ExitStatus::Ok)
}
