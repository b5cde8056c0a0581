//! Finding things by a fingerprint or commit prefix: `verdict search`, and the short fingerprints tables
//! print turned back into the one artifact they name (like git's abbreviated commits).

use std::collections::BTreeMap;

use serde::Serialize;
use verdict_ledger::records::{RecordKind, Snapshot};
use verdict_ledger::{Artifact, Ledger, LedgerError, Recorded, Trail};

/// The fewest hex digits a fingerprint prefix may have: what tables and the demo print.
pub const MIN_PREFIX: usize = 12;

/// Where an artifact runs now: one entry of an environment's latest snapshot.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunningIn {
    /// The environment.
    pub environment: String,
    /// The number of its latest snapshot.
    pub snapshot: u64,
    /// The name it runs under there (an image reference, a path).
    pub name: String,
    /// Its fingerprint.
    pub fingerprint: String,
    /// How many instances run.
    pub instances: u64,
}

/// Everything in the ledger that mentions a prefix.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchResult {
    /// What was searched for.
    pub prefix: String,
    /// Artifact reports whose fingerprint or commit starts with it, oldest first.
    pub artifacts: Vec<Recorded<Artifact>>,
    /// Trails whose commit starts with it (their latest record each), oldest first.
    pub trails: Vec<Recorded<Trail>>,
    /// Environments whose latest snapshot runs an artifact whose fingerprint starts with it.
    pub environments: Vec<RunningIn>,
}

impl SearchResult {
    /// Whether nothing mentions the prefix.
    pub fn is_empty(&self) -> bool {
        self.artifacts.is_empty() && self.trails.is_empty() && self.environments.is_empty()
    }

    /// The distinct fingerprints starting with the prefix, each with a place it is known from.
    fn fingerprints(&self) -> BTreeMap<String, String> {
        let mut found = BTreeMap::new();
        for report in self.artifacts.iter().filter(|a| a.record.fingerprint.starts_with(&self.prefix)) {
            let artifact = &report.record;
            found.entry(artifact.fingerprint.clone()).or_insert_with(|| {
                format!("{} in flow {} trail {}", artifact.name, artifact.flow, artifact.trail)
            });
        }
        for running in &self.environments {
            found
                .entry(running.fingerprint.clone())
                .or_insert_with(|| format!("{} running in {}", running.name, running.environment));
        }
        found
    }
}

/// Every flow, trail, artifact and environment that mentions `text`: a fingerprint or commit, whole or a
/// prefix of at least 4 hex digits (upper case accepted).
pub async fn search(ledger: &impl Ledger, org: &str, text: &str) -> Result<SearchResult, LedgerError> {
    let prefix = text.trim().to_ascii_lowercase();
    let hits = ledger.search(org, &prefix).await?;
    let mut trails: BTreeMap<(String, String), Recorded<Trail>> = BTreeMap::new();
    for trail in hits.trails {
        trails.insert((trail.record.flow.clone(), trail.record.name.clone()), trail);
    }
    let mut trails: Vec<Recorded<Trail>> = trails.into_values().collect();
    trails.sort_by_key(|trail| trail.seq);
    let environments = running_with_prefix(ledger, org, &prefix).await?;
    Ok(SearchResult { prefix, artifacts: hits.artifacts, trails, environments })
}

/// The entries of each environment's latest snapshot whose fingerprint starts with `prefix`.
async fn running_with_prefix(
    ledger: &impl Ledger,
    org: &str,
    prefix: &str,
) -> Result<Vec<RunningIn>, LedgerError> {
    let mut found = Vec::new();
    for (environment, record) in ledger.latest_records(org, RecordKind::Snapshot).await? {
        let seq = record.seq;
        let snapshot: Snapshot = serde_json::from_value(record.record)
            .map_err(|err| LedgerError::Corrupt { seq, message: err.to_string() })?;
        let matching: Vec<_> = snapshot
            .artifacts
            .into_iter()
            .filter(|artifact| artifact.fingerprint.starts_with(prefix))
            .collect();
        if matching.is_empty() {
            continue;
        }
        let number = ledger.record_positions(org, RecordKind::Snapshot, &environment).await?.len() as u64;
        found.extend(matching.into_iter().map(|artifact| RunningIn {
            environment: environment.clone(),
            snapshot: number,
            name: artifact.name,
            fingerprint: artifact.fingerprint,
            instances: artifact.instances,
        }));
    }
    Ok(found)
}

/// The full fingerprint `text` names: 64 hex digits as they are, or a unique prefix of at least
/// [`MIN_PREFIX`] digits resolved against the artifacts the ledger knows (reported in a trail, or running
/// in an environment). An unknown or ambiguous prefix is refused, listing the candidates: guessing would
/// judge or record the wrong artifact.
pub async fn resolve_fingerprint(ledger: &impl Ledger, org: &str, text: &str) -> Result<String, LedgerError> {
    let wanted = text.trim().to_ascii_lowercase();
    if !wanted.bytes().all(|b| b.is_ascii_hexdigit()) || wanted.is_empty() || wanted.len() > 64 {
        return Err(LedgerError::Invalid(format!(
            "{text:?} is not a fingerprint: give its 64 hex digits (SHA-256), or at least the first {MIN_PREFIX}"
        )));
    }
    if wanted.len() == 64 {
        return Ok(wanted);
    }
    if wanted.len() < MIN_PREFIX {
        return Err(LedgerError::Invalid(format!(
            "fingerprint prefix {wanted:?} is too short: give at least {MIN_PREFIX} hex digits (or all 64)"
        )));
    }
    let found: Vec<(String, String)> =
        search(ledger, org, &wanted).await?.fingerprints().into_iter().collect();
    match found.as_slice() {
        [] => Err(LedgerError::NotFound(format!(
            "no artifact in the ledger has a fingerprint starting with {wanted} (an artifact not reported yet \
             needs all 64 hex digits)"
        ))),
        [(fingerprint, _)] => Ok(fingerprint.clone()),
        several => {
            let listed: Vec<String> =
                several.iter().map(|(fingerprint, place)| format!("  {fingerprint}  {place}")).collect();
            Err(LedgerError::Invalid(format!(
                "fingerprint prefix {wanted} is ambiguous; it matches:\n{}\ngive more digits",
                listed.join("\n")
            )))
        }
    }
}
