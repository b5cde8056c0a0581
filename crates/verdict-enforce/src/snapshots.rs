//! Snapshots: what runs in an environment, numbered from 1, recorded only when the running set changes.
//! A change appends `artifact_started_running` / `artifact_stopped_running` events to the trails of the
//! artifacts involved, and every snapshot is evaluated against the policies attached when it is reported
//! (again after an attach, detach or allow-listing). A logical environment has no snapshots of its own:
//! reading it gives the union of its physical environments' latest snapshots, evaluated on the spot.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use sha2::{Digest, Sha256};
use verdict_ledger::records::{Environment, RunningArtifact, Snapshot, SnapshotEvaluation, TrailEvent};
use verdict_ledger::{Ledger, LedgerError, RecordKind, Recorded};

use crate::environments::require_environment;
use crate::evaluation::{Evaluation, allow_list, evaluate_artifacts, policy_set};
use crate::policies::attached_policies;

/// Which snapshot: `ENV` (latest), `ENV#N` (number N) or `ENV~N` (N before the latest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selector {
    /// The latest.
    Latest,
    /// Snapshot number N.
    Number(u64),
    /// N snapshots before the latest.
    Back(u64),
}

/// Splits `ENV`, `ENV#N` or `ENV~N`.
pub fn parse_selector(text: &str) -> Result<(String, Selector), LedgerError> {
    let number = |n: &str| {
        n.parse::<u64>().map_err(|_| LedgerError::Invalid(format!("{text:?}: expected ENV, ENV#N or ENV~N")))
    };
    if let Some((env, n)) = text.split_once('#') {
        let n = number(n)?;
        if n == 0 {
            return Err(LedgerError::Invalid(format!("{text:?}: snapshots are numbered from 1")));
        }
        Ok((env.to_owned(), Selector::Number(n)))
    } else if let Some((env, n)) = text.split_once('~') {
        Ok((env.to_owned(), Selector::Back(number(n)?)))
    } else {
        Ok((text.to_owned(), Selector::Latest))
    }
}

/// A snapshot as read back, with its latest evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SnapshotView {
    /// The environment.
    pub environment: String,
    /// Its number (none for a logical environment's union view).
    pub number: Option<u64>,
    /// When it was recorded.
    pub recorded_at: Option<String>,
    /// What was running.
    pub artifacts: Vec<RunningArtifact>,
    /// The latest evaluation of it.
    pub evaluation: Evaluation,
}

/// What reporting a snapshot did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SnapshotOutcome {
    /// The environment.
    pub environment: String,
    /// The snapshot's number (the previous one when nothing changed).
    pub number: u64,
    /// Whether a new snapshot was recorded.
    pub changed: bool,
    /// Artifacts that started running since the previous snapshot.
    pub started: Vec<RunningArtifact>,
    /// Artifacts that stopped running.
    pub stopped: Vec<RunningArtifact>,
    /// How many trail events were appended.
    pub trail_events: usize,
    /// The evaluation.
    pub evaluation: Evaluation,
    /// Whether the evaluation was recorded: a reporter whose token may record snapshots but not
    /// evaluations (role `write`) records none; `assert snapshot` judges afresh either way.
    pub evaluation_recorded: bool,
}

fn decode<T: serde::de::DeserializeOwned>(
    record: Recorded<serde_json::Value>,
) -> Result<(T, Recorded<()>), LedgerError> {
    let value = serde_json::from_value(record.record)
        .map_err(|err| LedgerError::Corrupt { seq: record.seq, message: err.to_string() })?;
    Ok((value, Recorded { record: (), seq: record.seq, hash: record.hash, recorded_at: record.recorded_at }))
}

/// Sorts by name then fingerprint and merges duplicates (instances add up, pods join, the earliest start
/// wins).
pub fn normalise(artifacts: Vec<RunningArtifact>) -> Vec<RunningArtifact> {
    let mut merged: BTreeMap<(String, String), RunningArtifact> = BTreeMap::new();
    for artifact in artifacts {
        let key = (artifact.name.clone(), artifact.fingerprint.clone());
        match merged.get_mut(&key) {
            Some(existing) => {
                existing.instances += artifact.instances;
                existing.pods.extend(artifact.pods);
                existing.pods.sort();
                existing.pods.dedup();
                existing.started_at = match (existing.started_at.take(), artifact.started_at) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
            None => {
                merged.insert(key, artifact);
            }
        }
    }
    merged.into_values().collect()
}

fn running_set(artifacts: &[RunningArtifact]) -> BTreeSet<(&str, &str, u64)> {
    artifacts.iter().map(|a| (a.name.as_str(), a.fingerprint.as_str(), a.instances)).collect()
}

async fn physical(ledger: &impl Ledger, org: &str, name: &str) -> Result<Environment, LedgerError> {
    let environment = crate::environments::require_active_environment(ledger, org, name).await?.record;
    if environment.kind == "logical" {
        return Err(LedgerError::Invalid(format!(
            "{name:?} is a logical environment (the union of {}): report snapshots to its physical environments",
            environment.included_environments.join(", ")
        )));
    }
    Ok(environment)
}

/// Every snapshot of a physical environment, oldest first, with its entry.
pub async fn snapshots(
    ledger: &impl Ledger,
    org: &str,
    environment: &str,
) -> Result<Vec<(Snapshot, Recorded<()>)>, LedgerError> {
    ledger.records(org, RecordKind::Snapshot, environment).await?.into_iter().map(decode).collect()
}

/// The number of the snapshot recorded at ledger position `seq`: how many snapshots of the environment
/// the ledger holds up to it (another reporter may have appended one since).
async fn snapshot_number(
    ledger: &impl Ledger,
    org: &str,
    environment: &str,
    seq: i64,
) -> Result<u64, LedgerError> {
    let positions = ledger.record_positions(org, RecordKind::Snapshot, environment).await?;
    Ok(positions.iter().filter(|position| **position <= seq).count() as u64)
}

/// Evaluates snapshot `number` of `environment` against the policies attached now and records the
/// evaluation.
pub async fn evaluate_snapshot(
    ledger: &impl Ledger,
    org: &str,
    environment: &str,
    number: u64,
    snapshot: &Snapshot,
) -> Result<Evaluation, LedgerError> {
    let evaluation = evaluate_now(ledger, org, environment, &snapshot.artifacts).await?;
    record_evaluation(ledger, org, environment, number, &evaluation).await?;
    Ok(evaluation)
}

/// Evaluates running `artifacts` against the evidence, policies and allow-list of `environment` as
/// they are now, recording nothing.
pub async fn evaluate_now(
    ledger: &impl Ledger,
    org: &str,
    environment: &str,
    artifacts: &[RunningArtifact],
) -> Result<Evaluation, LedgerError> {
    let policies = policy_set(&attached_policies(ledger, org, environment).await?)?;
    let allowed = allow_list(ledger, org, environment).await?;
    let pairs: Vec<(String, String)> =
        artifacts.iter().map(|a| (a.name.clone(), a.fingerprint.clone())).collect();
    evaluate_artifacts(ledger, org, &pairs, &policies, &allowed, environment, None).await
}

/// The evaluation document as stored: its JSON and that JSON's SHA-256.
fn encode_evaluation(evaluation: &Evaluation) -> Result<(Vec<u8>, String), LedgerError> {
    let document = serde_json::to_vec(evaluation).map_err(|err| LedgerError::Invalid(err.to_string()))?;
    let sha256 = hex::encode(Sha256::digest(&document));
    Ok((document, sha256))
}

/// Records the evaluation of snapshot `number`; false when the caller's role may not record evaluations
/// (they change what is shown as enforced, DESIGN.md rule 12), which leaves the snapshot itself recorded.
async fn record_evaluation(
    ledger: &impl Ledger,
    org: &str,
    environment: &str,
    number: u64,
    evaluation: &Evaluation,
) -> Result<bool, LedgerError> {
    let (document, sha256) = encode_evaluation(evaluation)?;
    let stored = ledger.put_attachment(org, document).await?;
    if stored != sha256 {
        return Err(LedgerError::Corrupt {
            seq: 0,
            message: format!("the store hashed the evaluation document to {stored}, not {sha256}"),
        });
    }
    let record = SnapshotEvaluation {
        environment: environment.to_owned(),
        snapshot: number,
        status: evaluation.status.clone(),
        evaluation_sha256: sha256,
    };
    let body = serde_json::to_value(&record).map_err(|err| LedgerError::Invalid(err.to_string()))?;
    match ledger
        .append_record(org, RecordKind::SnapshotEvaluation, &format!("{environment}#{number}"), body)
        .await
    {
        Ok(_) => Ok(true),
        Err(LedgerError::AccessDenied(_)) => Ok(false),
        Err(other) => Err(other),
    }
}

/// Re-evaluates the latest snapshot of `environment` (after its policies or allow-list changed); for a
/// logical environment nothing is stored (its view is evaluated when read).
pub async fn reevaluate_latest(
    ledger: &impl Ledger,
    org: &str,
    environment: &str,
) -> Result<Option<Evaluation>, LedgerError> {
    let env = require_environment(ledger, org, environment).await?.record;
    if env.kind == "logical" {
        return Ok(None);
    }
    let count = ledger.record_positions(org, RecordKind::Snapshot, environment).await?.len() as u64;
    match ledger.latest_record(org, RecordKind::Snapshot, environment).await? {
        Some(record) => {
            let (snapshot, _): (Snapshot, _) = decode(record)?;
            evaluate_snapshot(ledger, org, environment, count, &snapshot).await.map(Some)
        }
        None => Ok(None),
    }
}

/// Reports what runs in a physical environment now.
pub async fn report_snapshot(
    ledger: &impl Ledger,
    org: &str,
    environment: &str,
    artifacts: Vec<RunningArtifact>,
) -> Result<SnapshotOutcome, LedgerError> {
    physical(ledger, org, environment).await?;
    let artifacts = normalise(artifacts);
    let count = ledger.record_positions(org, RecordKind::Snapshot, environment).await?.len() as u64;
    let last: Option<Snapshot> = match ledger.latest_record(org, RecordKind::Snapshot, environment).await? {
        Some(record) => Some(decode(record)?.0),
        None => None,
    };
    if let Some(last) = &last
        && running_set(&last.artifacts) == running_set(&artifacts)
    {
        // Nothing new runs, but the evidence may have changed since (a scan that failed later in
        // another flow): judge again, and record the evaluation when its outcome differs.
        let evaluation = evaluate_now(ledger, org, environment, &last.artifacts).await?;
        let (_, sha256) = encode_evaluation(&evaluation)?;
        let recorded = latest_evaluation_record(ledger, org, environment, count).await?;
        let mut evaluation_recorded = true;
        if recorded.is_none_or(|recorded| recorded.evaluation_sha256 != sha256) {
            evaluation_recorded = record_evaluation(ledger, org, environment, count, &evaluation).await?;
        }
        return Ok(SnapshotOutcome {
            environment: environment.to_owned(),
            number: count,
            changed: false,
            started: Vec::new(),
            stopped: Vec::new(),
            trail_events: 0,
            evaluation,
            evaluation_recorded,
        });
    }
    let before: BTreeSet<&str> =
        last.iter().flat_map(|s| s.artifacts.iter().map(|a| a.fingerprint.as_str())).collect();
    let after: BTreeSet<&str> = artifacts.iter().map(|a| a.fingerprint.as_str()).collect();
    let started: Vec<RunningArtifact> =
        artifacts.iter().filter(|a| !before.contains(a.fingerprint.as_str())).cloned().collect();
    let stopped: Vec<RunningArtifact> = last
        .iter()
        .flat_map(|s| s.artifacts.iter())
        .filter(|a| !after.contains(a.fingerprint.as_str()))
        .cloned()
        .collect();
    let snapshot = Snapshot { environment: environment.to_owned(), artifacts };
    let body = serde_json::to_value(&snapshot).map_err(|err| LedgerError::Invalid(err.to_string()))?;
    let appended = ledger.append_record(org, RecordKind::Snapshot, environment, body).await?;
    let number = snapshot_number(ledger, org, environment, appended.seq).await?;
    // The trail events and the evaluation are independent (events are not evidence), so they run
    // together: the store writes the events while the evidence is read and judged.
    let (trail_events, evaluation) = futures_util::future::join(
        append_trail_events(ledger, org, environment, number, &started, &stopped),
        evaluate_now(ledger, org, environment, &snapshot.artifacts),
    )
    .await;
    let (trail_events, evaluation) = (trail_events?, evaluation?);
    let evaluation_recorded = record_evaluation(ledger, org, environment, number, &evaluation).await?;
    Ok(SnapshotOutcome {
        environment: environment.to_owned(),
        number,
        changed: true,
        started,
        stopped,
        trail_events,
        evaluation,
        evaluation_recorded,
    })
}

/// Appends an event to every trail of each started or stopped artifact, all in one call (one
/// transaction on the SQL store); returns how many.
async fn append_trail_events(
    ledger: &impl Ledger,
    org: &str,
    environment: &str,
    number: u64,
    started: &[RunningArtifact],
    stopped: &[RunningArtifact],
) -> Result<usize, LedgerError> {
    let mut items = Vec::new();
    for (event, changed) in [("artifact_started_running", started), ("artifact_stopped_running", stopped)] {
        let fingerprints: Vec<String> =
            changed.iter().map(|a| a.fingerprint.clone()).collect::<BTreeSet<_>>().into_iter().collect();
        let reports = ledger.artifact_reports_many(org, &fingerprints).await?;
        for (fingerprint, reports) in fingerprints.iter().zip(reports) {
            let trails: BTreeSet<(String, String)> =
                reports.into_iter().map(|r| (r.record.flow, r.record.trail)).collect();
            for (flow, trail) in trails {
                let subject = format!("{flow}/{trail}");
                let record = TrailEvent {
                    event: event.to_owned(),
                    flow,
                    trail,
                    fingerprint: fingerprint.clone(),
                    environment: environment.to_owned(),
                    snapshot: number,
                };
                let body =
                    serde_json::to_value(&record).map_err(|err| LedgerError::Invalid(err.to_string()))?;
                items.push((subject, body));
            }
        }
    }
    let count = items.len();
    ledger.append_records(org, RecordKind::TrailEvent, items).await?;
    Ok(count)
}

/// The latest recorded evaluation record of snapshot `number`.
async fn latest_evaluation_record(
    ledger: &impl Ledger,
    org: &str,
    environment: &str,
    number: u64,
) -> Result<Option<SnapshotEvaluation>, LedgerError> {
    let Some(record) =
        ledger.latest_record(org, RecordKind::SnapshotEvaluation, &format!("{environment}#{number}")).await?
    else {
        return Ok(None);
    };
    decode(record).map(|(record, _)| Some(record))
}

/// The latest recorded evaluation of snapshot `number`, its document checked against the digest in the
/// chained record.
async fn latest_evaluation(
    ledger: &impl Ledger,
    org: &str,
    environment: &str,
    number: u64,
) -> Result<Option<Evaluation>, LedgerError> {
    let Some(record) = latest_evaluation_record(ledger, org, environment, number).await? else {
        return Ok(None);
    };
    let corrupt = |message: String| LedgerError::Corrupt { seq: 0, message };
    let document = ledger.attachment(org, &record.evaluation_sha256).await?.ok_or_else(|| {
        corrupt(format!(
            "the evaluation document {} of {environment}#{number} is missing",
            record.evaluation_sha256
        ))
    })?;
    if hex::encode(Sha256::digest(&document)) != record.evaluation_sha256 {
        return Err(corrupt(format!(
            "the evaluation document of {environment}#{number} does not match its recorded digest"
        )));
    }
    serde_json::from_slice(&document)
        .map(Some)
        .map_err(|err| corrupt(format!("the evaluation document of {environment}#{number}: {err}")))
}

/// A snapshot as read back: `selector` picks it; a logical environment gives the union of its physical
/// environments' latest snapshots, evaluated now against the logical environment's policies. With
/// `fresh`, a physical snapshot is also judged now (current evidence, policies and allow-list) rather
/// than by its recorded evaluation — what a gate needs, since evidence found after the snapshot counts.
pub async fn snapshot_view(
    ledger: &impl Ledger,
    org: &str,
    environment: &str,
    selector: Selector,
    fresh: bool,
) -> Result<SnapshotView, LedgerError> {
    let env = require_environment(ledger, org, environment).await?.record;
    if env.kind == "logical" {
        if selector != Selector::Latest {
            return Err(LedgerError::Invalid(format!(
                "{environment:?} is logical: it has no numbered snapshots, only the union of its environments' latest"
            )));
        }
        // A member without a snapshot is a part of the environment nobody has looked at: judging the
        // rest as if it were everything would report compliant what was never seen (DESIGN.md rule 13).
        let mut union = Vec::new();
        let mut unseen = Vec::new();
        for included in &env.included_environments {
            match ledger.latest_record(org, RecordKind::Snapshot, included).await? {
                Some(record) => union.extend(decode::<Snapshot>(record)?.0.artifacts),
                None => unseen.push(included.as_str()),
            }
        }
        if !unseen.is_empty() {
            return Err(LedgerError::NotFound(format!(
                "logical environment {environment:?} cannot be judged: {} {} no snapshot yet (report one with \
                 `verdict snapshot …`); nothing was judged",
                unseen.join(", "),
                if unseen.len() == 1 { "has" } else { "have" }
            )));
        }
        let artifacts = normalise(union);
        let evaluation = evaluate_now(ledger, org, environment, &artifacts).await?;
        return Ok(SnapshotView {
            environment: environment.to_owned(),
            number: None,
            recorded_at: None,
            artifacts,
            evaluation,
        });
    }
    let all = snapshots(ledger, org, environment).await?;
    let count = all.len() as u64;
    if count == 0 {
        return Err(LedgerError::NotFound(format!(
            "environment {environment:?} has no snapshot yet: report one with `verdict snapshot …`"
        )));
    }
    let number = match selector {
        Selector::Latest => count,
        Selector::Number(n) => n,
        Selector::Back(n) => count.checked_sub(n).filter(|n| *n >= 1).ok_or_else(|| {
            LedgerError::NotFound(format!("{environment}~{n}: {environment} has only {count} snapshots"))
        })?,
    };
    let index = usize::try_from(number - 1)
        .map_err(|_| LedgerError::Invalid("snapshot number too large".to_owned()))?;
    let Some((snapshot, entry)) = all.into_iter().nth(index) else {
        return Err(LedgerError::NotFound(format!(
            "{environment}#{number}: {environment} has {count} snapshots"
        )));
    };
    let evaluation = if fresh {
        evaluate_now(ledger, org, environment, &snapshot.artifacts).await?
    } else {
        match latest_evaluation(ledger, org, environment, number).await? {
            Some(evaluation) => evaluation,
            None => evaluate_snapshot(ledger, org, environment, number, &snapshot).await?,
        }
    };
    Ok(SnapshotView {
        environment: environment.to_owned(),
        number: Some(number),
        recorded_at: Some(entry.recorded_at),
        artifacts: snapshot.artifacts,
        evaluation,
    })
}
