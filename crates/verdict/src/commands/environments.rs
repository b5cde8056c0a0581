//! Environment commands: `create environment|policy`, `list`/`get` for them and snapshots,
//! `snapshot server|paths|k8s`, `diff snapshots`, `log environment`, `attach-policy`/`detach-policy`,
//! `allow artifact`. The logic lives in `verdict-enforce`; this turns arguments into calls and results
//! into tables or JSON.

use anyhow::anyhow;
use serde::Serialize;
use verdict_core::ExitStatus;
use verdict_enforce::{Evaluation, SnapshotOutcome, SnapshotView, parse_selector};
use verdict_ledger::records::{
    AllowListEntry, Environment, PolicyAttachment, PolicyRecord, RunningArtifact, Snapshot,
};
use verdict_ledger::{Ledger, LedgerError, RecordKind};

use super::ledger::{runtime, with_ledger};
use super::snapshot_sources;
use crate::cli::{EvalOutput, LedgerOptions, ListArchivableArgs, ListArgs};
use crate::cli_env::{
    AllowCommand, AttachPolicyArgs, CreateEnvironmentArgs, CreatePolicyArgs, DiffCommand,
    EnvironmentListArgs, GetEnvironmentArgs, GetPolicyArgs, GetSnapshotArgs, LogCommand, SnapshotCommand,
};
use crate::error::{CliError, CliResult};

use crate::render::{print_table, short};

/// Runs `create environment`.
pub fn create_environment(args: CreateEnvironmentArgs, options: &LedgerOptions) -> CliResult {
    let environment = Environment {
        name: args.name.clone(),
        kind: args.kind.as_str().to_owned(),
        description: args.description,
        included_environments: args.included_environments,
        tags: Default::default(),
        archived: false,
    };
    if crate::render::dry_run(options, "environment", &environment)? {
        return Ok(ExitStatus::Ok);
    }
    let recorded = with_ledger(options, async |ledger| {
        verdict_enforce::create_environment(ledger, &options.org, environment).await
    })?;
    crate::render::recorded_line("environment", &args.name, &recorded);
    Ok(ExitStatus::Ok)
}

/// Runs `create policy`.
pub fn create_policy(args: CreatePolicyArgs, options: &LedgerOptions) -> CliResult {
    let source = std::fs::read_to_string(&args.file)
        .map_err(|err| CliError::invalid(anyhow!("cannot read policy {}: {err}", args.file.display())))?;
    let record = PolicyRecord {
        name: args.name.clone(),
        source,
        description: args.description,
        comment: args.comment,
    };
    let file = args.file.display().to_string();
    if options.dry_run {
        if let Err(diagnostics) = verdict_policy::load_policy(&file, &record.name, &record.source) {
            let rendered: Vec<String> = diagnostics.iter().map(|d| d.render(&record.source)).collect();
            return Err(CliError::invalid(anyhow!("the policy is invalid:\n{}", rendered.join("\n"))));
        }
        crate::render::dry_run(options, "policy", &record)?;
        return Ok(ExitStatus::Ok);
    }
    let version = with_ledger(options, async |ledger| {
        verdict_enforce::create_policy(ledger, &options.org, record, &file).await
    })?;
    anstream::println!(
        "recorded policy {} version {} (ledger entry {})",
        version.name,
        version.version,
        version.seq
    );
    Ok(ExitStatus::Ok)
}

/// Runs `list environments`.
pub fn list_environments(args: &ListArchivableArgs, options: &LedgerOptions) -> CliResult {
    let mut environments =
        with_ledger(options, async |ledger| verdict_enforce::environments(ledger, &options.org).await)?;
    environments.retain(|e| args.archived || !e.record.archived);
    match args.output {
        EvalOutput::Json => crate::render::print_json(&environments)?,
        EvalOutput::Table => print_table(
            &["NAME", "TYPE", "INCLUDES", "TAGS", "DESCRIPTION"],
            environments
                .iter()
                .map(|e| {
                    let e = &e.record;
                    let tags: Vec<String> = e.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    let archived = if e.archived { " (archived)" } else { "" };
                    vec![
                        format!("{}{archived}", e.name),
                        e.kind.clone(),
                        e.included_environments.join(","),
                        tags.join(","),
                        e.description.clone(),
                    ]
                })
                .collect(),
        ),
    }
    Ok(ExitStatus::Ok)
}

#[derive(Serialize)]
struct EnvironmentView {
    #[serde(flatten)]
    environment: Environment,
    policies: Vec<verdict_enforce::PolicyVersion>,
    snapshots: usize,
    allow_list: std::collections::BTreeMap<String, String>,
}

/// Runs `get environment`.
pub fn get_environment(args: &GetEnvironmentArgs, options: &LedgerOptions) -> CliResult {
    let view = with_ledger(options, async |ledger| {
        let org = &options.org;
        let environment =
            verdict_enforce::environments::require_environment(ledger, org, &args.name).await?.record;
        let policies = verdict_enforce::attached_policies(ledger, org, &args.name).await?;
        let snapshots = ledger.records(org, RecordKind::Snapshot, &args.name).await?.len();
        let allow_list = verdict_enforce::allow_list(ledger, org, &args.name).await?;
        Ok(EnvironmentView { environment, policies, snapshots, allow_list })
    })?;
    match args.output {
        EvalOutput::Json => crate::render::print_json(&view)?,
        EvalOutput::Table => {
            let e = &view.environment;
            anstream::println!(
                "environment {} ({}){}",
                e.name,
                e.kind,
                if e.archived { ", ARCHIVED: takes no new snapshots" } else { "" }
            );
            if !e.tags.is_empty() {
                let tags: Vec<String> = e.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
                anstream::println!("  tags: {}", tags.join(", "));
            }
            if !e.description.is_empty() {
                anstream::println!("  description: {}", e.description);
            }
            if !e.included_environments.is_empty() {
                anstream::println!("  includes: {}", e.included_environments.join(", "));
            }
            let policies: Vec<String> =
                view.policies.iter().map(|p| format!("{} (v{})", p.name, p.version)).collect();
            anstream::println!(
                "  policies: {}",
                if policies.is_empty() {
                    "none (compliance is UNKNOWN)".to_owned()
                } else {
                    policies.join(", ")
                }
            );
            anstream::println!("  snapshots: {}", view.snapshots);
            for (fingerprint, reason) in &view.allow_list {
                anstream::println!("  allow-listed: {fingerprint} ({reason})");
            }
        }
    }
    Ok(ExitStatus::Ok)
}

/// Runs `list policies`.
pub fn list_policies(args: &ListArgs, options: &LedgerOptions) -> CliResult {
    let policies =
        with_ledger(options, async |ledger| verdict_enforce::policies(ledger, &options.org).await)?;
    match args.output {
        EvalOutput::Json => crate::render::print_json(&policies)?,
        EvalOutput::Table => print_table(
            &["NAME", "VERSION", "RECORDED", "DESCRIPTION"],
            policies
                .iter()
                .map(|p| {
                    vec![p.name.clone(), p.version.to_string(), p.recorded_at.clone(), p.description.clone()]
                })
                .collect(),
        ),
    }
    Ok(ExitStatus::Ok)
}

/// Runs `get policy`.
pub fn get_policy(args: &GetPolicyArgs, options: &LedgerOptions) -> CliResult {
    let policy = with_ledger(options, async |ledger| {
        verdict_enforce::policy(ledger, &options.org, &args.name, args.policy_version).await
    })?;
    match args.output {
        EvalOutput::Json => crate::render::print_json(&policy)?,
        EvalOutput::Table => {
            anstream::println!(
                "# policy {} version {} (recorded {})",
                policy.name,
                policy.version,
                policy.recorded_at
            );
            if !policy.comment.is_empty() {
                anstream::println!("# {}", policy.comment);
            }
            anstream::print!("{}", policy.source);
            if !policy.source.ends_with('\n') {
                anstream::println!();
            }
        }
    }
    Ok(ExitStatus::Ok)
}

/// Prints an evaluation's artifacts, one row each, then every reason.
pub fn print_evaluation(evaluation: &Evaluation) {
    let applied: Vec<String> = evaluation
        .policies
        .iter()
        .map(|p| match (p.version, &p.file) {
            (Some(v), _) => format!("{} v{v}", p.name),
            (None, Some(file)) => file.clone(),
            (None, None) => p.name.clone(),
        })
        .collect();
    anstream::println!(
        "status: {} (policies: {})",
        evaluation.status,
        if applied.is_empty() { "none".to_owned() } else { applied.join(", ") }
    );
    print_table(
        &["ARTIFACT", "FINGERPRINT", "COMPLIANT", "TRAILS"],
        evaluation
            .artifacts
            .iter()
            .map(|a| {
                let verdict = if a.allow_listed.is_some() {
                    "allow-listed".to_owned()
                } else if a.decision.compliant {
                    "yes".to_owned()
                } else {
                    "NO".to_owned()
                };
                vec![
                    a.decision.name.clone(),
                    short(a.decision.fingerprint.as_str()),
                    verdict,
                    a.contexts.to_string(),
                ]
            })
            .collect(),
    );
    for artifact in &evaluation.artifacts {
        for reason in &artifact.decision.reasons {
            anstream::println!("  {}: {reason}", artifact.decision.name);
        }
    }
}

fn print_outcome(outcome: &SnapshotOutcome, output: EvalOutput) -> Result<(), CliError> {
    if output == EvalOutput::Json {
        return crate::render::print_json(outcome);
    }
    if crate::render::quiet() {
        return Ok(());
    }
    if outcome.changed {
        let names = |list: &[RunningArtifact]| {
            crate::render::name_list(&list.iter().map(|a| a.name.clone()).collect::<Vec<_>>())
        };
        anstream::println!(
            "recorded snapshot {}#{}: {} running (started: {}; stopped: {}; {} noted in the artifacts' trails)",
            outcome.environment,
            outcome.number,
            outcome.evaluation.artifacts.len(),
            names(&outcome.started),
            names(&outcome.stopped),
            crate::render::counted(outcome.trail_events, "change", "changes")
        );
    } else {
        anstream::println!(
            "no change since snapshot {}#{}: nothing recorded",
            outcome.environment,
            outcome.number
        );
    }
    print_evaluation(&outcome.evaluation);
    if !outcome.evaluation_recorded {
        anstream::eprintln!(
            "note: this token may record snapshots but not evaluations (role policy); the evaluation above was not recorded, and `assert snapshot` judges afresh"
        );
    }
    Ok(())
}

/// Runs `snapshot server|paths|k8s`.
pub fn snapshot(command: SnapshotCommand, options: &LedgerOptions) -> CliResult {
    let (environment, artifacts, output, allow_empty) = match command {
        SnapshotCommand::Server(args) => (
            args.environment,
            snapshot_sources::server_paths(&args.paths, &args.excludes, args.allow_empty)?,
            args.output,
            args.allow_empty,
        ),
        SnapshotCommand::Paths(args) => {
            (args.environment, snapshot_sources::paths_file(&args.paths_file)?, args.output, args.allow_empty)
        }
        SnapshotCommand::K8s(args) => {
            if let Some(every) = args.every {
                return report_every(&args, every, options);
            }
            let artifacts = match &args.pods_file {
                Some(file) => snapshot_sources::k8s_pods(file, &args.namespaces, &args.exclude_namespaces)?,
                None => runtime()?.block_on(snapshot_sources::k8s_api(
                    cluster(&args),
                    &args.namespaces,
                    &args.exclude_namespaces,
                ))?,
            };
            (args.environment, artifacts, args.output, args.allow_empty)
        }
        SnapshotCommand::Docker(args) => {
            let artifacts =
                runtime()?.block_on(snapshot_sources::docker_containers(args.docker_host.as_deref()))?;
            (args.environment, artifacts, args.output, args.allow_empty)
        }
    };
    // An empty snapshot hides whatever does run (DESIGN.md rule 13): only on request.
    if artifacts.is_empty() && !allow_empty {
        return Err(CliError::invalid(anyhow!(
            "nothing was found to snapshot in {environment}: nothing recorded (pass --allow-empty to record that nothing runs there)"
        )));
    }
    if crate::render::dry_run(
        options,
        "snapshot",
        &Snapshot { environment: environment.clone(), artifacts: artifacts.clone() },
    )? {
        return Ok(ExitStatus::Ok);
    }
    let outcome = with_ledger(options, async |ledger| {
        verdict_enforce::report_snapshot(ledger, &options.org, &environment, artifacts).await
    })?;
    print_outcome(&outcome, output)?;
    Ok(ExitStatus::Ok)
}

/// Where `snapshot k8s` reads the cluster from.
fn cluster(args: &crate::cli_env::SnapshotK8sArgs) -> verdict_kube::ClusterSource<'_> {
    if args.in_cluster {
        verdict_kube::ClusterSource::InCluster
    } else {
        verdict_kube::ClusterSource::Kubeconfig(args.kubeconfig.as_deref())
    }
}

/// `snapshot k8s --every D`: a reporter loop. Each round reads the cluster and reports (an unchanged
/// cluster records nothing); a round that fails is logged and records nothing, and the next round tries
/// again. Runs until stopped (or `--max-reports` rounds).
fn report_every(
    args: &crate::cli_env::SnapshotK8sArgs,
    every: std::time::Duration,
    options: &LedgerOptions,
) -> CliResult {
    let mut round = 0_u64;
    loop {
        round += 1;
        let started = std::time::Instant::now();
        let outcome = runtime()?
            .block_on(snapshot_sources::k8s_api(cluster(args), &args.namespaces, &args.exclude_namespaces))
            .and_then(|artifacts| {
                if artifacts.is_empty() && !args.allow_empty {
                    return Err(CliError::invalid(anyhow!(
                        "nothing was found to snapshot in {}: nothing recorded (pass --allow-empty to record that nothing runs there)",
                        args.environment
                    )));
                }
                with_ledger(options, async |ledger| {
                    verdict_enforce::report_snapshot(ledger, &options.org, &args.environment, artifacts).await
                })
            });
        match outcome {
            Ok(outcome) => print_outcome(&outcome, args.output)?,
            Err(err) => anstream::eprintln!("round {round}: nothing recorded: {err}"),
        }
        if args.max_reports.is_some_and(|max| round >= max) {
            return Ok(ExitStatus::Ok);
        }
        std::thread::sleep(every.saturating_sub(started.elapsed()));
    }
}

fn print_view(view: &SnapshotView, output: EvalOutput) -> Result<(), CliError> {
    if output == EvalOutput::Json {
        return crate::render::print_json(view);
    }
    match view.number {
        Some(number) => anstream::println!(
            "snapshot {}#{number} (recorded {})",
            view.environment,
            view.recorded_at.clone().unwrap_or_default()
        ),
        None => anstream::println!(
            "logical environment {}: union of its environments' latest snapshots",
            view.environment
        ),
    }
    print_table(
        &["NAME", "FINGERPRINT", "INSTANCES", "STARTED"],
        view.artifacts
            .iter()
            .map(|a| {
                vec![
                    a.name.clone(),
                    short(&a.fingerprint),
                    a.instances.to_string(),
                    a.started_at.clone().unwrap_or_default(),
                ]
            })
            .collect(),
    );
    print_evaluation(&view.evaluation);
    Ok(())
}

async fn view(
    ledger: &impl Ledger,
    org: &str,
    selector: &str,
    fresh: bool,
) -> Result<SnapshotView, LedgerError> {
    let (environment, selector) = parse_selector(selector)?;
    verdict_enforce::snapshot_view(ledger, org, &environment, selector, fresh).await
}

/// Runs `get snapshot`.
pub fn get_snapshot(args: &GetSnapshotArgs, options: &LedgerOptions) -> CliResult {
    let view = with_ledger(options, async |ledger| view(ledger, &options.org, &args.snapshot, false).await)?;
    print_view(&view, args.output)?;
    Ok(ExitStatus::Ok)
}

/// `assert snapshot`: the snapshot's evaluation decides the exit code.
pub fn assert_snapshot(selector: &str, output: EvalOutput, options: &LedgerOptions) -> CliResult {
    // Judged now: evidence that arrived after the snapshot was reported (a failed scan elsewhere) counts.
    let view = with_ledger(options, async |ledger| view(ledger, &options.org, selector, true).await)?;
    print_view(&view, output)?;
    if view.evaluation.status == "UNKNOWN" && output == EvalOutput::Table {
        anstream::println!(
            "UNKNOWN is not compliant: attach a policy with `verdict attach-policy NAME --environment {}`",
            view.environment
        );
    }
    Ok(if view.evaluation.compliant { ExitStatus::Ok } else { ExitStatus::Denied })
}

#[derive(Serialize)]
struct SnapshotSummary {
    number: u64,
    recorded_at: String,
    artifacts: usize,
}

/// Runs `list snapshots`.
pub fn list_snapshots(args: &EnvironmentListArgs, options: &LedgerOptions) -> CliResult {
    let list = with_ledger(options, async |ledger| {
        verdict_enforce::environments::require_environment(ledger, &options.org, &args.environment).await?;
        let all = verdict_enforce::snapshots(ledger, &options.org, &args.environment).await?;
        Ok(all
            .into_iter()
            .zip(1..)
            .map(|((snapshot, entry), number)| SnapshotSummary {
                number,
                recorded_at: entry.recorded_at,
                artifacts: snapshot.artifacts.len(),
            })
            .collect::<Vec<_>>())
    })?;
    match args.output {
        EvalOutput::Json => crate::render::print_json(&list)?,
        EvalOutput::Table => print_table(
            &["SNAPSHOT", "RECORDED", "ARTIFACTS"],
            list.iter()
                .map(|s| {
                    vec![
                        format!("{}#{}", args.environment, s.number),
                        s.recorded_at.clone(),
                        s.artifacts.to_string(),
                    ]
                })
                .collect(),
        ),
    }
    Ok(ExitStatus::Ok)
}

#[derive(Serialize)]
struct SnapshotDiff {
    first: String,
    second: String,
    added: Vec<RunningArtifact>,
    removed: Vec<RunningArtifact>,
    changed: Vec<(RunningArtifact, RunningArtifact)>,
    /// The same artifact (fingerprint) running under another name: neither added nor removed.
    renamed: Vec<(RunningArtifact, RunningArtifact)>,
}

/// `1 instance`, `3 instances`.
fn instances(count: u64) -> String {
    crate::render::counted(usize::try_from(count).unwrap_or(usize::MAX), "instance", "instances")
}

/// Pairs what left under one name with what arrived under another with the same fingerprint (a
/// re-tagged image, a renamed file): those are renamings, taken out of `removed` and `added`.
fn pair_renamed(
    removed: &mut Vec<RunningArtifact>,
    added: &mut Vec<RunningArtifact>,
) -> Vec<(RunningArtifact, RunningArtifact)> {
    let mut renamed = Vec::new();
    let mut index = 0;
    while index < removed.len() {
        match added.iter().position(|a| a.fingerprint == removed[index].fingerprint) {
            Some(position) => renamed.push((removed.remove(index), added.remove(position))),
            None => index += 1,
        }
    }
    renamed
}

/// Runs `diff snapshots`.
pub fn diff(command: DiffCommand, options: &LedgerOptions) -> CliResult {
    let DiffCommand::Snapshots(args) = command;
    let (first, second) = with_ledger(options, async |ledger| {
        Ok((
            view(ledger, &options.org, &args.first, false).await?,
            view(ledger, &options.org, &args.second, false).await?,
        ))
    })?;
    let key = |a: &RunningArtifact| (a.name.clone(), a.fingerprint.clone());
    let before: std::collections::BTreeMap<_, _> = first.artifacts.iter().map(|a| (key(a), a)).collect();
    let after: std::collections::BTreeMap<_, _> = second.artifacts.iter().map(|a| (key(a), a)).collect();
    let mut added: Vec<RunningArtifact> =
        after.iter().filter(|(k, _)| !before.contains_key(*k)).map(|(_, a)| (*a).clone()).collect();
    let mut removed: Vec<RunningArtifact> =
        before.iter().filter(|(k, _)| !after.contains_key(*k)).map(|(_, a)| (*a).clone()).collect();
    let renamed = pair_renamed(&mut removed, &mut added);
    let diff = SnapshotDiff {
        first: args.first.clone(),
        second: args.second.clone(),
        added,
        removed,
        renamed,
        changed: before
            .iter()
            .filter_map(|(k, a)| {
                after.get(k).filter(|b| b.instances != a.instances).map(|b| ((*a).clone(), (*b).clone()))
            })
            .collect(),
    };
    match args.output {
        EvalOutput::Json => crate::render::print_json(&diff)?,
        EvalOutput::Table => {
            anstream::println!("{} → {}", diff.first, diff.second);
            for a in &diff.added {
                anstream::println!("+ {} {} ({})", a.name, short(&a.fingerprint), instances(a.instances));
            }
            for a in &diff.removed {
                anstream::println!("- {} {} ({})", a.name, short(&a.fingerprint), instances(a.instances));
            }
            for (a, b) in &diff.renamed {
                anstream::println!(
                    "~ {} → {} {} (renamed; {})",
                    a.name,
                    b.name,
                    short(&a.fingerprint),
                    instances(b.instances)
                );
            }
            for (a, b) in &diff.changed {
                anstream::println!(
                    "~ {} {}: {} → {} instances",
                    a.name,
                    short(&a.fingerprint),
                    a.instances,
                    b.instances
                );
            }
            if diff.added.is_empty()
                && diff.removed.is_empty()
                && diff.changed.is_empty()
                && diff.renamed.is_empty()
            {
                anstream::println!("no difference");
            }
        }
    }
    Ok(ExitStatus::Ok)
}

#[derive(Serialize)]
struct LogLine {
    seq: i64,
    recorded_at: String,
    event: String,
}

/// Runs `log environment`.
pub fn log(command: LogCommand, options: &LedgerOptions) -> CliResult {
    let LogCommand::Environment(args) = command;
    let lines = with_ledger(options, async |ledger| {
        let org = &options.org;
        let env = &args.environment;
        verdict_enforce::environments::require_environment(ledger, org, env).await?;
        let mut lines = Vec::new();
        for (record, number) in ledger.records(org, RecordKind::Snapshot, env).await?.into_iter().zip(1..) {
            let count = record.record["artifacts"].as_array().map_or(0, Vec::len);
            lines.push(LogLine {
                seq: record.seq,
                recorded_at: record.recorded_at,
                event: format!("snapshot #{number}: {count} artifacts running"),
            });
        }
        for record in ledger.records(org, RecordKind::PolicyAttachment, env).await? {
            let change: PolicyAttachment = serde_json::from_value(record.record)
                .map_err(|err| LedgerError::Corrupt { seq: record.seq, message: err.to_string() })?;
            let verb = if change.attached { "attached" } else { "detached" };
            lines.push(LogLine {
                seq: record.seq,
                recorded_at: record.recorded_at,
                event: format!("policy {} {verb}", change.policy),
            });
        }
        for record in ledger.records(org, RecordKind::AllowList, env).await? {
            let entry: AllowListEntry = serde_json::from_value(record.record)
                .map_err(|err| LedgerError::Corrupt { seq: record.seq, message: err.to_string() })?;
            lines.push(LogLine {
                seq: record.seq,
                recorded_at: record.recorded_at,
                event: format!("allow-listed {} ({})", entry.fingerprint, entry.reason),
            });
        }
        lines.sort_by_key(|l| l.seq);
        Ok(lines)
    })?;
    match args.output {
        EvalOutput::Json => crate::render::print_json(&lines)?,
        EvalOutput::Table => print_table(
            &["ENTRY", "RECORDED", "EVENT"],
            lines.iter().map(|l| vec![l.seq.to_string(), l.recorded_at.clone(), l.event.clone()]).collect(),
        ),
    }
    Ok(ExitStatus::Ok)
}

/// Runs `attach-policy` (`attached` true) or `detach-policy`.
pub fn attach(args: &AttachPolicyArgs, attached: bool, options: &LedgerOptions) -> CliResult {
    let verb = if attached { "attached" } else { "detached" };
    if options.dry_run {
        anstream::println!(
            "dry run: would have {verb} policy {} ({}); nothing sent",
            args.name,
            args.environments.join(", ")
        );
        return Ok(ExitStatus::Ok);
    }
    for environment in &args.environments {
        let evaluation = with_ledger(options, async |ledger| {
            verdict_enforce::policies::attach_policy(ledger, &options.org, &args.name, environment, attached)
                .await?;
            verdict_enforce::reevaluate_latest(ledger, &options.org, environment).await
        })?;
        match evaluation {
            Some(evaluation) => anstream::println!(
                "{verb} policy {} {} {environment}; latest snapshot re-evaluated: {}",
                args.name,
                if attached { "to" } else { "from" },
                evaluation.status
            ),
            None => anstream::println!(
                "{verb} policy {} {} {environment}",
                args.name,
                if attached { "to" } else { "from" }
            ),
        }
    }
    Ok(ExitStatus::Ok)
}

/// Runs `allow artifact`.
pub fn allow(command: AllowCommand, options: &LedgerOptions) -> CliResult {
    let AllowCommand::Artifact(mut args) = command;
    args.fingerprint = super::fingerprint::resolve(&args.fingerprint, options)?;
    let entry = AllowListEntry {
        environment: args.environment.clone(),
        fingerprint: args.fingerprint.clone(),
        reason: args.reason.clone(),
    };
    if crate::render::dry_run(options, "allow-listing", &entry)? {
        return Ok(ExitStatus::Ok);
    }
    let evaluation = with_ledger(options, async |ledger| {
        verdict_enforce::environments::require_active_environment(ledger, &options.org, &args.environment)
            .await?;
        let body = serde_json::to_value(&entry).map_err(|err| LedgerError::Invalid(err.to_string()))?;
        ledger.append_record(&options.org, RecordKind::AllowList, &args.environment, body).await?;
        verdict_enforce::reevaluate_latest(ledger, &options.org, &args.environment).await
    })?;
    anstream::println!("allow-listed {} in {}: {}", args.fingerprint, args.environment, args.reason);
    if let Some(evaluation) = evaluation {
        anstream::println!("latest snapshot re-evaluated: {}", evaluation.status);
    }
    Ok(ExitStatus::Ok)
}

/// Runs `tag environment`.
pub fn tag_environment(args: crate::cli::TagArgs, options: &LedgerOptions) -> CliResult {
    let set: std::collections::BTreeMap<String, String> = args.set.into_iter().collect();
    if options.dry_run {
        let mut changes: Vec<String> = set.iter().map(|(k, v)| format!("set {k}={v}")).collect();
        changes.extend(args.unset.iter().map(|k| format!("unset {k}")));
        anstream::println!(
            "dry run: would {} on environment {} (nothing sent)",
            changes.join(", "),
            args.name
        );
        return Ok(ExitStatus::Ok);
    }
    let recorded = with_ledger(options, async |ledger| {
        verdict_enforce::environments::tag_environment(ledger, &options.org, &args.name, &set, &args.unset)
            .await
    })?;
    match recorded {
        Some(recorded) => crate::render::recorded_line("environment", &args.name, &recorded),
        None => anstream::println!("environment {}: tags unchanged, nothing recorded", args.name),
    }
    Ok(ExitStatus::Ok)
}

/// Runs `archive flow` and `archive environment`.
pub fn archive(command: crate::cli::ArchiveCommand, options: &LedgerOptions) -> CliResult {
    let (what, name) = match &command {
        crate::cli::ArchiveCommand::Flow(args) => ("flow", args.name.clone()),
        crate::cli::ArchiveCommand::Environment(args) => ("environment", args.name.clone()),
    };
    if options.dry_run {
        anstream::println!("dry run: would archive {what} {name} (nothing sent)");
        return Ok(ExitStatus::Ok);
    }
    let recorded = with_ledger(options, async |ledger| {
        let org = &options.org;
        match command {
            crate::cli::ArchiveCommand::Environment(_) => {
                verdict_enforce::environments::archive_environment(ledger, org, &name).await
            }
            crate::cli::ArchiveCommand::Flow(_) => {
                let Some(existing) = ledger.flow(org, &name).await? else {
                    return Err(LedgerError::NotFound(format!(
                        "flow {name:?} does not exist in org {org:?}"
                    )));
                };
                if existing.record.archived {
                    return Ok(None);
                }
                let archived = verdict_ledger::Flow { archived: true, ..existing.record };
                let recorded = ledger.put_flow(org, archived).await?;
                Ok(Some(verdict_ledger::Recorded {
                    record: serde_json::Value::Null,
                    seq: recorded.seq,
                    hash: recorded.hash,
                    recorded_at: recorded.recorded_at,
                }))
            }
        }
    })?;
    match recorded {
        Some(recorded) => {
            let restore = if what == "flow" { "" } else { " --type …" };
            anstream::println!(
                "archived {what} {name} (ledger entry {}): hidden from lists, refused as a target of new evidence; `verdict create {what} {name}{restore}` restores it",
                recorded.seq
            )
        }
        None => anstream::println!("{what} {name} is already archived: nothing recorded"),
    }
    Ok(ExitStatus::Ok)
}
