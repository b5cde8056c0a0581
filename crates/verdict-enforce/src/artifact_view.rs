//! One artifact across the ledger (`verdict get artifact`): where it was reported, its compliance and
//! evidence in each of those trails, and where it runs now.

use serde::Serialize;
use serde_json::Value;
use verdict_ledger::{Ledger, LedgerError, Recorded, Trail};

use crate::search::{RunningIn, resolve_fingerprint, search};

/// How `get artifact` names an artifact (Kosli's expressions, plus a bare fingerprint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArtifactSelector {
    /// `FINGERPRINT`: a fingerprint, or a unique prefix of one, in any flow.
    Fingerprint(String),
    /// `FLOW@FINGERPRINT`: a fingerprint (or prefix) reported in that flow.
    FlowFingerprint {
        /// The flow.
        flow: String,
        /// The fingerprint or prefix.
        fingerprint: String,
    },
    /// `FLOW@NAME`: the artifact last reported under that template name in the flow.
    FlowName {
        /// The flow.
        flow: String,
        /// The artifact's name in the template.
        name: String,
    },
    /// `FLOW:COMMIT`: the artifact of the flow built from that commit (or a prefix of it).
    FlowCommit {
        /// The flow.
        flow: String,
        /// The commit or prefix.
        commit: String,
    },
}

impl ArtifactSelector {
    /// Parses `FINGERPRINT`, `FLOW@FINGERPRINT`, `FLOW@NAME` or `FLOW:COMMIT`. After `@`, 12 or more hex
    /// digits are a fingerprint; anything else is a name.
    pub fn parse(text: &str) -> Result<Self, LedgerError> {
        let hex = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit());
        let text = text.trim();
        if let Some((flow, rest)) = text.split_once('@') {
            if flow.is_empty() || rest.is_empty() {
                return Err(LedgerError::Invalid(format!(
                    "{text:?}: write FLOW@FINGERPRINT or FLOW@NAME (both parts non-empty)"
                )));
            }
            return Ok(if hex(rest) && rest.len() >= crate::search::MIN_PREFIX {
                Self::FlowFingerprint { flow: flow.to_owned(), fingerprint: rest.to_ascii_lowercase() }
            } else {
                Self::FlowName { flow: flow.to_owned(), name: rest.to_owned() }
            });
        }
        if let Some((flow, commit)) = text.rsplit_once(':')
            && hex(commit)
            && commit.len() >= 4
            && !flow.is_empty()
        {
            return Ok(Self::FlowCommit { flow: flow.to_owned(), commit: commit.to_ascii_lowercase() });
        }
        if hex(text) {
            return Ok(Self::Fingerprint(text.to_ascii_lowercase()));
        }
        Err(LedgerError::Invalid(format!(
            "{text:?} names no artifact: give a FINGERPRINT (or its first 12+ hex digits), FLOW@FINGERPRINT, \
             FLOW@NAME or FLOW:COMMIT"
        )))
    }
}

/// One report of the artifact, with what its trail says about it.
#[derive(Debug, Clone, Serialize)]
pub struct ArtifactReport {
    /// The flow.
    pub flow: String,
    /// The trail.
    pub trail: String,
    /// Its name in the trail's template.
    pub name: String,
    /// The file or image it was fingerprinted from.
    pub filename: Option<String>,
    /// The commit it was built from (the report's, else the trail's).
    pub commit: Option<String>,
    /// When it was reported.
    pub recorded_at: String,
    /// Its ledger entry.
    pub ledger_entry: i64,
    /// `COMPLIANT`, `NON-COMPLIANT`, … in that trail; `SUPERSEDED` when a later report under the same
    /// name replaced it (its evidence is kept in the trail document under `previous`).
    pub status: String,
    /// The attestations about it in that trail (the trail document's per-artifact statuses).
    pub attestations: Value,
}

/// Everything the ledger holds about one artifact.
#[derive(Debug, Clone, Serialize)]
pub struct ArtifactView {
    /// Its SHA-256.
    pub fingerprint: String,
    /// Every report, oldest first.
    pub reports: Vec<ArtifactReport>,
    /// Where it runs now (environments' latest snapshots).
    pub running: Vec<RunningIn>,
}

/// The view of the artifact `selector` names; an unknown or ambiguous one is refused (exit 2).
pub async fn artifact_view(
    ledger: &impl Ledger,
    org: &str,
    selector: &ArtifactSelector,
) -> Result<ArtifactView, LedgerError> {
    let (fingerprint, flow) = match selector {
        ArtifactSelector::Fingerprint(text) => (resolve_fingerprint(ledger, org, text).await?, None),
        ArtifactSelector::FlowFingerprint { flow, fingerprint } => (
            in_flow(ledger, org, flow, |report| report.record.fingerprint.starts_with(fingerprint)).await?,
            Some(flow),
        ),
        ArtifactSelector::FlowName { flow, name } => {
            (latest_named(ledger, org, flow, name).await?, Some(flow))
        }
        ArtifactSelector::FlowCommit { flow, commit } => {
            (by_commit(ledger, org, flow, commit).await?, Some(flow))
        }
    };
    let mut reports = Vec::new();
    for report in ledger.artifact_reports(org, &fingerprint).await? {
        if flow.is_some_and(|flow| flow != &report.record.flow) {
            continue;
        }
        reports.push(describe(ledger, org, report).await?);
    }
    let running = search(ledger, org, &fingerprint).await?.environments;
    Ok(ArtifactView { fingerprint, reports, running })
}

/// The one fingerprint among the flow's reports that `matches` picks.
async fn in_flow(
    ledger: &impl Ledger,
    org: &str,
    flow: &str,
    matches: impl Fn(&Recorded<verdict_ledger::Artifact>) -> bool,
) -> Result<String, LedgerError> {
    require_flow(ledger, org, flow).await?;
    let mut found: Vec<String> = Vec::new();
    for trail in ledger.trails(org, flow).await? {
        for report in ledger.artifacts(org, flow, &trail.record.name).await? {
            if matches(&report) && !found.contains(&report.record.fingerprint) {
                found.push(report.record.fingerprint);
            }
        }
    }
    one(found, &format!("in flow {flow}"))
}

/// The fingerprint last reported under `name` in the flow.
async fn latest_named(
    ledger: &impl Ledger,
    org: &str,
    flow: &str,
    name: &str,
) -> Result<String, LedgerError> {
    require_flow(ledger, org, flow).await?;
    let mut latest: Option<Recorded<verdict_ledger::Artifact>> = None;
    for trail in ledger.trails(org, flow).await? {
        for report in ledger.artifacts(org, flow, &trail.record.name).await? {
            if report.record.name == name && latest.as_ref().is_none_or(|l| l.seq < report.seq) {
                latest = Some(report);
            }
        }
    }
    latest.map(|report| report.record.fingerprint).ok_or_else(|| {
        LedgerError::NotFound(format!("flow {flow} has no artifact named {name:?} in any trail"))
    })
}

/// The fingerprint of the flow's artifact built from `commit`: reported with that commit, or in a trail
/// about it.
async fn by_commit(ledger: &impl Ledger, org: &str, flow: &str, commit: &str) -> Result<String, LedgerError> {
    require_flow(ledger, org, flow).await?;
    let hits = ledger.search(org, commit).await?;
    let trails: Vec<&Trail> = hits
        .trails
        .iter()
        .map(|trail| &trail.record)
        .filter(|trail| trail.flow == flow && trail.commit.as_deref().is_some_and(|c| c.starts_with(commit)))
        .collect();
    let mut found: Vec<String> = Vec::new();
    for artifact in hits.artifacts.iter().map(|a| &a.record).filter(|a| a.flow == flow) {
        if artifact.commit.as_deref().is_some_and(|c| c.starts_with(commit))
            && !found.contains(&artifact.fingerprint)
        {
            found.push(artifact.fingerprint.clone());
        }
    }
    for trail in trails {
        for report in ledger.artifacts(org, flow, &trail.name).await? {
            if !found.contains(&report.record.fingerprint) {
                found.push(report.record.fingerprint);
            }
        }
    }
    one(found, &format!("built from commit {commit} in flow {flow}"))
}

async fn require_flow(ledger: &impl Ledger, org: &str, flow: &str) -> Result<(), LedgerError> {
    match ledger.flow(org, flow).await? {
        Some(_) => Ok(()),
        None => Err(LedgerError::NotFound(format!("no flow named {flow:?}"))),
    }
}

/// The single candidate, or a refusal listing them.
fn one(found: Vec<String>, place: &str) -> Result<String, LedgerError> {
    match found.as_slice() {
        [] => Err(LedgerError::NotFound(format!("no artifact {place}"))),
        [single] => Ok(single.clone()),
        several => Err(LedgerError::Invalid(format!(
            "several artifacts {place}; name one by fingerprint:\n  {}",
            several.join("\n  ")
        ))),
    }
}

/// One report with its trail's verdict on it.
async fn describe(
    ledger: &impl Ledger,
    org: &str,
    report: Recorded<verdict_ledger::Artifact>,
) -> Result<ArtifactReport, LedgerError> {
    let artifact = report.record;
    let document = ledger.trail_document(org, &artifact.flow, &artifact.trail).await?;
    let slot = &document["compliance_status"]["artifacts_statuses"][&artifact.name];
    let (status, attestations) = if slot["fingerprint"] == artifact.fingerprint.as_str() {
        (slot["status"].as_str().unwrap_or("UNKNOWN").to_owned(), slot["attestations_statuses"].clone())
    } else {
        let earlier = slot["previous"]
            .as_array()
            .and_then(|list| list.iter().find(|entry| entry["fingerprint"] == artifact.fingerprint.as_str()));
        (
            "SUPERSEDED".to_owned(),
            earlier.map(|entry| entry["attestations_statuses"].clone()).unwrap_or(Value::Null),
        )
    };
    let commit = artifact.commit.clone().or_else(|| document["git_commit"].as_str().map(str::to_owned));
    Ok(ArtifactReport {
        flow: artifact.flow,
        trail: artifact.trail,
        name: artifact.name,
        filename: artifact.filename,
        commit,
        recorded_at: report.recorded_at,
        ledger_entry: report.seq,
        status,
        attestations,
    })
}
