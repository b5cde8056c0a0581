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
