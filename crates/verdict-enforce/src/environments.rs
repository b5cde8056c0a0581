//! Environments: physical ones (K8S, docker, server) receive snapshots; a logical one is the union of the
//! physical environments it includes.

use verdict_ledger::records::Environment;
use verdict_ledger::{Ledger, LedgerError, RecordKind, Recorded};

/// The latest record of an environment, if it exists.
pub async fn environment(
    ledger: &impl Ledger,
    org: &str,
    name: &str,
) -> Result<Option<Recorded<Environment>>, LedgerError> {
    let Some(record) = ledger.records(org, RecordKind::Environment, name).await?.pop() else {
        return Ok(None);
    };
    let environment = serde_json::from_value(record.record)
        .map_err(|err| LedgerError::Corrupt { seq: record.seq, message: err.to_string() })?;
    Ok(Some(Recorded {
        record: environment,
        seq: record.seq,
        hash: record.hash,
        recorded_at: record.recorded_at,
    }))
}

/// The environment, or a NotFound error saying how to create it.
pub async fn require_environment(
    ledger: &impl Ledger,
    org: &str,
    name: &str,
) -> Result<Recorded<Environment>, LedgerError> {
    environment(ledger, org, name).await?.ok_or_else(|| {
        LedgerError::NotFound(format!(
            "environment {name:?} does not exist in org {org:?}: create it with `verdict create environment {name} --type …`"
        ))
    })
}

/// The environment, refused when archived: it takes no new snapshots or allow-listings.
pub async fn require_active_environment(
    ledger: &impl Ledger,
    org: &str,
    name: &str,
) -> Result<Recorded<Environment>, LedgerError> {
    let environment = require_environment(ledger, org, name).await?;
    if environment.record.archived {
        return Err(LedgerError::Invalid(format!(
            "environment {name:?} is archived: it takes no new snapshots or allow-listings \
             (`verdict create environment {name} --type {}` restores it)",
            environment.record.kind
        )));
    }
    Ok(environment)
}

/// Changes an environment's tags (`set` added or replaced, `unset` removed); `None` when nothing changes.
pub async fn tag_environment(
    ledger: &impl Ledger,
    org: &str,
    name: &str,
    set: &std::collections::BTreeMap<String, String>,
    unset: &[String],
) -> Result<Option<Recorded<serde_json::Value>>, LedgerError> {
    let existing = require_environment(ledger, org, name).await?.record;
    let tags = verdict_ledger::flows::retag_map(&existing.tags, set, unset).map_err(LedgerError::Invalid)?;
    if tags == existing.tags {
        return Ok(None);
    }
    let changed = Environment { tags, ..existing };
    let body = serde_json::to_value(&changed).map_err(|err| LedgerError::Invalid(err.to_string()))?;
    Ok(Some(ledger.append_record(org, RecordKind::Environment, name, body).await?))
}

/// Archives an environment (hidden from lists, refused as a target of new snapshots); `None` when it
/// already is.
pub async fn archive_environment(
    ledger: &impl Ledger,
    org: &str,
    name: &str,
) -> Result<Option<Recorded<serde_json::Value>>, LedgerError> {
    let existing = require_environment(ledger, org, name).await?.record;
    if existing.archived {
        return Ok(None);
    }
    let archived = Environment { archived: true, ..existing };
    let body = serde_json::to_value(&archived).map_err(|err| LedgerError::Invalid(err.to_string()))?;
    Ok(Some(ledger.append_record(org, RecordKind::Environment, name, body).await?))
}

/// Every environment, by name.
pub async fn environments(
    ledger: &impl Ledger,
    org: &str,
) -> Result<Vec<Recorded<Environment>>, LedgerError> {
    ledger
        .latest_records(org, RecordKind::Environment)
        .await?
        .into_iter()
        .map(|(_, record)| {
            let environment = serde_json::from_value(record.record)
                .map_err(|err| LedgerError::Corrupt { seq: record.seq, message: err.to_string() })?;
            Ok(Recorded {
                record: environment,
                seq: record.seq,
                hash: record.hash,
                recorded_at: record.recorded_at,
            })
        })
        .collect()
}

/// Records an environment (again, to correct it). A logical environment may include only existing
/// physical environments.
pub async fn create_environment(
    ledger: &impl Ledger,
    org: &str,
    environment: Environment,
) -> Result<Recorded<serde_json::Value>, LedgerError> {
    // Recording it again corrects it (and restores an archived one) but keeps its tags unless new ones
    // are given, as `create flow` does.
    let mut environment = environment;
    if environment.tags.is_empty()
        && let Some(existing) = self::environment(ledger, org, &environment.name).await?
    {
        environment.tags = existing.record.tags;
    }
    for included in &environment.included_environments {
        let Some(found) = self::environment(ledger, org, included).await? else {
            return Err(LedgerError::NotFound(format!(
                "included environment {included:?} does not exist in org {org:?}: create it first"
            )));
        };
        if found.record.kind == "logical" {
            return Err(LedgerError::Invalid(format!(
                "{included:?} is a logical environment: a logical environment includes physical ones only"
            )));
        }
    }
    let body = serde_json::to_value(&environment).map_err(|err| LedgerError::Invalid(err.to_string()))?;
    ledger.append_record(org, RecordKind::Environment, &environment.name, body).await
}
