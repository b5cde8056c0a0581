//! `create flow`, `tag flow`, `begin trail`, `attest artifact|generic`, `list …`, `get trail|flow`: Kosli's
//! evidence commands against the ledger.

use std::path::Path;

use anyhow::anyhow;
use comfy_table::{Table, presets};
use serde::Serialize;
use verdict_core::ExitStatus;
use verdict_ledger::flows::{FlowStatement, restate, retag, tag_history};
use verdict_ledger::{Artifact, Flow, Ledger, Recorded, Trail};

use super::ledger::with_ledger;
use crate::cli::{
    AttestCommand, AttestCommon, BeginCommand, CreateCommand, EvalOutput, GetCommand, GetFlowArgs,
    LedgerOptions, ListCommand, TagCommand, TrailOutput,
};
use crate::error::{CliError, CliResult};

/// A Kosli template file, kept as JSON. Its content is checked when it is recorded.
fn read_template(path: &Path) -> Result<serde_json::Value, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| CliError::invalid(anyhow!("cannot read template {}: {err}", path.display())))?;
    crate::input::yaml_as_json(path, &text, "template")
}

/// Runs `create flow`.
pub fn create(command: CreateCommand, options: &LedgerOptions) -> CliResult {
    let args = match command {
        CreateCommand::Flow(args) => args,
        CreateCommand::Environment(args) => return super::environments::create_environment(args, options),
        CreateCommand::Policy(args) => return super::environments::create_policy(args, options),
        CreateCommand::AttestationType(args) => return super::typed_attestations::create_type(args, options),
    };
    let template = args.template_file.as_deref().map(read_template).transpose()?;
    let statement = FlowStatement {
        name: args.name.clone(),
        description: args.description,
        tags: args.tags.into_iter().collect(),
        template,
    };
    if options.dry_run {
        let flow = with_ledger(options, async |ledger| ledger.flow(&options.org, &args.name).await)
            .ok()
            .flatten()
            .map(|existing| existing.record);
        crate::render::dry_run(options, "flow", &restate(flow.as_ref(), statement))?;
        return Ok(ExitStatus::Ok);
    }
    // Re-running `create flow` keeps what it does not mention (DESIGN.md rule 13).
    let recorded = with_ledger(options, async |ledger| {
        let existing = ledger.flow(&options.org, &args.name).await?;
        let flow = restate(existing.as_ref().map(|e| &e.record), statement);
        if let Some(existing) = existing
            && existing.record == flow
        {
            return Ok((existing, false));
        }
        Ok((ledger.put_flow(&options.org, flow).await?, true))
    })?;
    match recorded {
        (recorded, true) => crate::render::recorded_line("flow", &args.name, &recorded),
        (recorded, false) => anstream::println!(
            "flow {} unchanged (ledger entry {}): nothing recorded",
            args.name,
            recorded.seq
        ),
    }
    Ok(ExitStatus::Ok)
}

/// Runs `tag flow`.
pub fn tag(command: TagCommand, options: &LedgerOptions) -> CliResult {
    let args = match command {
        TagCommand::Flow(args) => args,
        TagCommand::Environment(args) => return super::environments::tag_environment(args, options),
    };
    let set: std::collections::BTreeMap<String, String> = args.set.into_iter().collect();
    let recorded = with_ledger(options, async |ledger| {
        let Some(existing) = ledger.flow(&options.org, &args.name).await? else {
            return Err(verdict_ledger::LedgerError::NotFound(format!(
                "flow {:?} does not exist in org {:?}: create it with `verdict create flow {}`",
                args.name, options.org, args.name
            )));
        };
        let flow =
            retag(&existing.record, &set, &args.unset).map_err(verdict_ledger::LedgerError::Invalid)?;
        if flow == existing.record {
            return Ok(None);
        }
        if options.dry_run {
            crate::render::dry_run(options, "flow", &flow)
                .map_err(|err| verdict_ledger::LedgerError::Invalid(err.to_string()))?;
            return Ok(None);
        }
        Ok(Some(ledger.put_flow(&options.org, flow).await?))
    })?;
    match recorded {
        Some(recorded) => crate::render::recorded_line("flow", &args.name, &recorded),
        None if !options.dry_run => {
            anstream::println!("flow {}: tags unchanged, nothing recorded", args.name)
        }
        None => {}
    }
    Ok(ExitStatus::Ok)
}

#[derive(Serialize)]
struct FlowView {
    #[serde(flatten)]
    flow: Recorded<Flow>,
    versions: usize,
    tag_history: Vec<verdict_ledger::flows::TagChange>,
}

/// Runs `get flow`.
fn get_flow(args: &GetFlowArgs, options: &LedgerOptions) -> CliResult {
    let view = with_ledger(options, async |ledger| {
        let versions = ledger.flow_versions(&options.org, &args.name).await?;
        let Some(latest) = versions.last().cloned() else {
            return Err(verdict_ledger::LedgerError::NotFound(format!(
                "flow {:?} does not exist in org {:?}",
                args.name, options.org
            )));
        };
        Ok(FlowView { flow: latest, versions: versions.len(), tag_history: tag_history(&versions) })
    })?;
    match args.output {
        crate::cli::EvalOutput::Json => crate::render::print_json(&view)?,
        crate::cli::EvalOutput::Table => {
            let flow = &view.flow.record;
            anstream::println!(
                "flow {} (ledger entry {}, {}){}",
                flow.name,
                view.flow.seq,
                crate::render::counted(view.versions, "version", "versions"),
                if flow.archived { ", ARCHIVED: takes no new evidence" } else { "" }
            );
            if !flow.description.is_empty() {
                anstream::println!("  description: {}", flow.description);
            }
            let tags: Vec<String> = flow.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
            anstream::println!(
                "  tags: {}",
                if tags.is_empty() { "none".to_owned() } else { tags.join(", ") }
            );
            anstream::println!("  template: {}", if flow.template.is_some() { "yes" } else { "none" });
            for change in &view.tag_history {
                let mut parts: Vec<String> = change.set.iter().map(|(k, v)| format!("set {k}={v}")).collect();
                parts.extend(change.unset.iter().map(|k| format!("unset {k}")));
                anstream::println!(
                    "  tags changed at ledger entry {} ({}): {}",
                    change.ledger_entry,
                    change.recorded_at,
                    parts.join(", ")
                );
            }
        }
    }
    Ok(ExitStatus::Ok)
}

/// Runs `begin trail`.
pub fn begin(command: BeginCommand, options: &LedgerOptions) -> CliResult {
    let BeginCommand::Trail(args) = command;
    let user_data = args.user_data.as_deref().map(|p| crate::input::read_json(p, "user data")).transpose()?;
    let template = args.template_file.as_deref().map(read_template).transpose()?;
    let trail = Trail {
        name: args.name.clone(),
        flow: args.flow.clone(),
        description: args.description,
        commit: args.commit,
        origin_url: args.origin_url,
        user_data,
        template,
    };
    if crate::render::dry_run(options, "trail", &trail)? {
        return Ok(ExitStatus::Ok);
    }
    let recorded = with_ledger(options, async |ledger| ledger.begin_trail(&options.org, trail).await)?;
    crate::render::recorded_line("trail", &format!("{}/{}", args.flow, args.name), &recorded);
    Ok(ExitStatus::Ok)
}

/// Runs `attest artifact` and `attest generic`.
pub fn attest(command: AttestCommand, options: &LedgerOptions) -> CliResult {
    match command {
        AttestCommand::Artifact(args) => {
            let fingerprint = super::fingerprint::given_fingerprint(
                args.fingerprint.as_ref(),
                args.path.as_deref(),
                args.artifact_type,
                &args.excludes,
                &args.registry,
                options,
            )?;
            let artifact = Artifact {
                fingerprint: fingerprint.clone(),
                name: args.name.clone(),
                filename: args.path.as_ref().map(|p| p.display().to_string()),
                flow: args.target.flow,
                trail: args.target.trail,
                commit: args.commit,
                build_url: args.build_url,
                annotations: args.annotations.into_iter().collect(),
            };
            if crate::render::dry_run(options, "artifact", &artifact)? {
                return Ok(ExitStatus::Ok);
            }
            let recorded =
                with_ledger(options, async |ledger| ledger.report_artifact(&options.org, artifact).await)?;
            match args.output {
                crate::cli::ValidateOutput::Json => crate::render::print_json(&recorded)?,
                crate::cli::ValidateOutput::Text => crate::render::recorded_line(
                    "artifact",
                    &format!("{} {fingerprint}", args.name),
                    &recorded,
                ),
            }
        }
        AttestCommand::Generic(args) => {
            let common = AttestCommon {
                name: args.name,
                target: args.target,
                fingerprint: args.fingerprint,
                user_data: args.user_data,
                attachments: args.attachments,
                output: args.output,
            };
            return super::record::record_attestation(options, common, "generic", args.compliant, None);
        }
        other => return super::typed_attestations::run(other, options),
    }
    Ok(ExitStatus::Ok)
}

pub fn print_list<T: Serialize>(
    output: EvalOutput,
    records: &[Recorded<T>],
    header: [&str; 3],
    row: impl Fn(&T) -> [String; 2],
) -> Result<(), CliError> {
    match output {
        EvalOutput::Json => crate::render::print_json(&records),
        EvalOutput::Table => {
            let mut table = Table::new();
            table.load_preset(presets::NOTHING).set_header(header);
            for record in records {
                let [a, b] = row(&record.record);
                table.add_row([a, b, record.recorded_at.clone()]);
            }
            for line in table.to_string().lines() {
                anstream::println!("{}", line.trim_end());
            }
            Ok(())
        }
    }
}

/// Runs `list flows` and `list trails`.
pub fn list(command: ListCommand, options: &LedgerOptions) -> CliResult {
    match command {
        ListCommand::Environments(args) => return super::environments::list_environments(&args, options),
        ListCommand::Policies(args) => return super::environments::list_policies(&args, options),
        ListCommand::Snapshots(args) => return super::environments::list_snapshots(&args, options),
        ListCommand::Attestations(args) => return super::lookup::list_attestations(&args, options),
        ListCommand::Flows(args) => {
            let mut flows = with_ledger(options, async |ledger| ledger.flows(&options.org).await)?;
            flows.retain(|f| args.archived || !f.record.archived);
            print_list(args.output, &flows, ["NAME", "DESCRIPTION", "RECORDED"], |f| {
                [format!("{}{}", f.name, if f.archived { " (archived)" } else { "" }), f.description.clone()]
            })?;
        }
        ListCommand::Trails(args) => {
            let trails = with_ledger(options, async |ledger| {
                if ledger.flow(&options.org, &args.flow).await?.is_none() {
                    return Err(verdict_ledger::LedgerError::NotFound(format!(
                        "flow {:?} does not exist in org {:?}",
                        args.flow, options.org
                    )));
                }
                ledger.trails(&options.org, &args.flow).await
            })?;
            print_list(args.output, &trails, ["NAME", "COMMIT", "RECORDED"], |t| {
                [t.name.clone(), t.commit.clone().unwrap_or_default()]
            })?;
        }
        ListCommand::Artifacts(args) => {
            let artifacts = with_ledger(options, async |ledger| {
                if ledger.trail(&options.org, &args.flow, &args.trail).await?.is_none() {
                    return Err(verdict_ledger::LedgerError::NotFound(format!(
                        "trail {:?} does not exist in flow {:?} of org {:?}",
                        args.trail, args.flow, options.org
                    )));
                }
                ledger.artifacts(&options.org, &args.flow, &args.trail).await
            })?;
            print_list(args.output, &artifacts, ["NAME", "FINGERPRINT", "RECORDED"], |a| {
                [a.name.clone(), a.fingerprint.clone()]
            })?;
        }
    }
    Ok(ExitStatus::Ok)
}

/// The rows of a trail document: every attestation of the trail, then every artifact with its own.
fn trail_rows(document: &serde_json::Value) -> Vec<[String; 4]> {
    let status = &document["compliance_status"];
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    let mut rows = Vec::new();
    for (name, entry) in status["attestations_statuses"].as_object().into_iter().flatten() {
        rows.push(["attestation".to_owned(), name.clone(), text(&entry["type"]), text(&entry["status"])]);
    }
    for (name, artifact) in status["artifacts_statuses"].as_object().into_iter().flatten() {
        let fingerprint =
            artifact["fingerprint"].as_str().map(|f| f.get(..12).unwrap_or(f).to_owned()).unwrap_or_default();
        rows.push(["artifact".to_owned(), name.clone(), fingerprint, text(&artifact["status"])]);
        for (attestation, entry) in artifact["attestations_statuses"].as_object().into_iter().flatten() {
            rows.push([
                "  attestation".to_owned(),
                format!("{name}.{attestation}"),
                text(&entry["type"]),
                text(&entry["status"]),
            ]);
        }
    }
    rows
}

/// Runs `get trail`.
pub fn get(command: GetCommand, options: &LedgerOptions) -> CliResult {
    let args = match command {
        GetCommand::Trail(args) => args,
        GetCommand::Flow(args) => return get_flow(&args, options),
        GetCommand::Artifact(args) => return super::lookup::get_artifact(&args, options),
        GetCommand::Attestation(args) => return super::lookup::get_attestation(&args, options),
        GetCommand::Environment(args) => return super::environments::get_environment(&args, options),
        GetCommand::Policy(args) => return super::environments::get_policy(&args, options),
        GetCommand::Snapshot(args) => return super::environments::get_snapshot(&args, options),
    };
    let document = with_ledger(options, async |ledger| {
        ledger.trail_document(&options.org, &args.flow, &args.name).await
    })?;
    let status = document["compliance_status"]["status"].as_str().unwrap_or("UNKNOWN").to_owned();
    match args.output {
        TrailOutput::Json => crate::render::print_json(&document)?,
        TrailOutput::Table => {
            let mut table = Table::new();
            table.load_preset(presets::NOTHING).set_header(["KIND", "NAME", "TYPE / FINGERPRINT", "STATUS"]);
            for row in trail_rows(&document) {
                table.add_row(row);
            }
            anstream::println!("trail {} of flow {}: {status}", args.name, args.flow);
            for line in table.to_string().lines() {
                anstream::println!("{}", line.trim_end());
            }
        }
        TrailOutput::Markdown => {
            anstream::println!("### Trail `{}` of flow `{}`: **{status}**\n", args.name, args.flow);
            anstream::println!("| kind | name | type / fingerprint | status |\n|---|---|---|---|");
            for [kind, name, detail, row_status] in trail_rows(&document) {
                anstream::println!("| {} | `{name}` | {detail} | {row_status} |", kind.trim());
            }
        }
    }
    Ok(ExitStatus::Ok)
}
