//! Environment policies in the ledger: versioned and immutable (recording a policy under an existing name
//! makes the next version), attached to environments by name so an attachment follows the latest version.

use std::collections::BTreeMap;

use serde::Serialize;
use verdict_ledger::records::{PolicyAttachment, PolicyRecord};
use verdict_ledger::{Ledger, LedgerError, RecordKind};
use verdict_policy::{Policy, load_policy};

use crate::environments::require_environment;

/// One version of a policy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyVersion {
    /// The policy's name.
    pub name: String,
    /// Its version, from 1.
    pub version: u64,
    /// The YAML source.
    pub source: String,
    /// Free text about the policy.
    pub description: String,
    /// Free text about this version.
    pub comment: String,
    /// When this version was recorded.
    pub recorded_at: String,
    /// Its ledger entry.
    pub seq: i64,
}

impl PolicyVersion {
    /// The loaded policy (named after the policy, not a file).
    pub fn load(&self) -> Result<Policy, LedgerError> {
        load_policy(&format!("{}@v{}", self.name, self.version), &self.name, &self.source)
            .map(|loaded| loaded.policy)
            .map_err(|diagnostics| LedgerError::Corrupt {
                seq: self.seq,
                message: diagnostics.iter().map(|d| d.short()).collect::<Vec<_>>().join("; "),
            })
    }
}

/// Every version of a policy, oldest first.
pub async fn policy_versions(
    ledger: &impl Ledger,
    org: &str,
    name: &str,
) -> Result<Vec<PolicyVersion>, LedgerError> {
    let records = ledger.records(org, RecordKind::Policy, name).await?;
    records
        .into_iter()
        .zip(1..)
        .map(|(record, version)| {
            let policy: PolicyRecord = serde_json::from_value(record.record)
                .map_err(|err| LedgerError::Corrupt { seq: record.seq, message: err.to_string() })?;
            Ok(PolicyVersion {
                name: policy.name,
                version,
                source: policy.source,
                description: policy.description,
                comment: policy.comment,
                recorded_at: record.recorded_at,
                seq: record.seq,
            })
        })
        .collect()
}

/// One version of a policy (the latest without `version`), or NotFound.
pub async fn policy(
    ledger: &impl Ledger,
    org: &str,
    name: &str,
    version: Option<u64>,
) -> Result<PolicyVersion, LedgerError> {
    let mut versions = policy_versions(ledger, org, name).await?;
    let count = versions.len();
    let found = match version {
        None => versions.pop(),
        Some(v) => versions.into_iter().find(|p| p.version == v),
    };
    found.ok_or_else(|| match (count, version) {
        (0, _) => LedgerError::NotFound(format!(
            "policy {name:?} does not exist in org {org:?}: create it with `verdict create policy {name} FILE.yml`"
        )),
        (_, Some(v)) => {
            LedgerError::NotFound(format!("policy {name:?} has no version {v} (latest: {count})"))
        }
        (_, None) => LedgerError::NotFound(format!("policy {name:?} does not exist in org {org:?}")),
    })
}

/// The latest version of every policy.
pub async fn policies(ledger: &impl Ledger, org: &str) -> Result<Vec<PolicyVersion>, LedgerError> {
    let mut latest = Vec::new();
    for (name, _) in ledger.latest_records(org, RecordKind::Policy).await? {
        latest.push(policy(ledger, org, &name, None).await?);
    }
    Ok(latest)
}

/// Records a new version of a policy after checking it with the environment-policy loader; `file` names
/// the source in error messages. Returns the version recorded.
pub async fn create_policy(
    ledger: &impl Ledger,
    org: &str,
    record: PolicyRecord,
    file: &str,
) -> Result<PolicyVersion, LedgerError> {
    if let Err(diagnostics) = load_policy(file, &record.name, &record.source) {
        let rendered: Vec<String> = diagnostics.iter().map(|d| d.render(&record.source)).collect();
        return Err(LedgerError::Invalid(format!("the policy is invalid:\n{}", rendered.join("\n"))));
    }
    let name = record.name.clone();
    let body = serde_json::to_value(&record).map_err(|err| LedgerError::Invalid(err.to_string()))?;
    let recorded = ledger.append_record(org, RecordKind::Policy, &name, body).await?;
    // The version is the entry's position among the policy's entries: decided by the chain, so two
    // concurrent creates cannot both claim one version.
    let versions = policy_versions(ledger, org, &name).await?;
    versions.into_iter().find(|v| v.seq == recorded.seq).ok_or_else(|| LedgerError::Corrupt {
        seq: recorded.seq,
        message: "the policy version just recorded is missing".to_owned(),
    })
}

/// The names of the policies attached to `environment`, in attachment order.
pub async fn attached_policy_names(
    ledger: &impl Ledger,
    org: &str,
    environment: &str,
) -> Result<Vec<String>, LedgerError> {
    let mut attached: BTreeMap<String, (i64, bool)> = BTreeMap::new();
    for record in ledger.records(org, RecordKind::PolicyAttachment, environment).await? {
        let change: PolicyAttachment = serde_json::from_value(record.record)
            .map_err(|err| LedgerError::Corrupt { seq: record.seq, message: err.to_string() })?;
        let first = attached.get(&change.policy).filter(|(_, on)| *on).map_or(record.seq, |(seq, _)| *seq);
        attached.insert(change.policy, (first, change.attached));
    }
    let mut names: Vec<(i64, String)> =
        attached.into_iter().filter(|(_, (_, on))| *on).map(|(name, (seq, _))| (seq, name)).collect();
    names.sort();
    Ok(names.into_iter().map(|(_, name)| name).collect())
}

/// The latest version of every policy attached to `environment`.
pub async fn attached_policies(
    ledger: &impl Ledger,
    org: &str,
    environment: &str,
) -> Result<Vec<PolicyVersion>, LedgerError> {
    let mut versions = Vec::new();
    for name in attached_policy_names(ledger, org, environment).await? {
        versions.push(policy(ledger, org, &name, None).await?);
    }
    Ok(versions)
}

/// Attaches (or, with `attached` false, detaches) a policy to an environment. Attaching twice or
/// detaching what is not attached is refused, so the log says what changed.
pub async fn attach_policy(
    ledger: &impl Ledger,
    org: &str,
    name: &str,
    environment: &str,
    attached: bool,
) -> Result<(), LedgerError> {
    require_environment(ledger, org, environment).await?;
    policy(ledger, org, name, None).await?;
    let current = attached_policy_names(ledger, org, environment).await?;
    let is_attached = current.iter().any(|n| n == name);
    if attached && is_attached {
        return Err(LedgerError::Invalid(format!("policy {name:?} is already attached to {environment:?}")));
    }
    if !attached && !is_attached {
        return Err(LedgerError::Invalid(format!("policy {name:?} is not attached to {environment:?}")));
    }
    let change = PolicyAttachment { environment: environment.to_owned(), policy: name.to_owned(), attached };
    let body = serde_json::to_value(&change).map_err(|err| LedgerError::Invalid(err.to_string()))?;
    ledger.append_record(org, RecordKind::PolicyAttachment, environment, body).await?;
    Ok(())
}
