//! `verdict ledger verify`: recompute the hash chain of the evidence ledger.

use std::path::PathBuf;

use anyhow::anyhow;
use verdict_client::HttpLedger;
use verdict_core::ExitStatus;
use verdict_ledger::{Ledger, LedgerError, SqlLedger};

use crate::ledger_backend::CliLedger;

use crate::cli::{LedgerCommand, LedgerOptions, LedgerVerifyArgs, ValidateOutput};
use crate::error::{CliError, CliResult};

/// Runs a `ledger` subcommand.
pub fn run(command: LedgerCommand, options: &LedgerOptions) -> CliResult {
    match command {
        LedgerCommand::Verify(args) => verify(&args, options),
    }
}

/// Opens the ledger the options name — the server `--host` names, else the database `--db` names, else
/// the default embedded one — and runs `work` against it on an async runtime, closing it afterwards.
pub fn with_ledger<T>(
    options: &LedgerOptions,
    work: impl AsyncFnOnce(&CliLedger) -> Result<T, LedgerError>,
) -> Result<T, CliError> {
    verdict_ledger::model::validate_name("org", &options.org)
        .map_err(|message| CliError::invalid(anyhow!("--org / VERDICT_ORG: {message}")))?;
    let ledger = match (&options.host, &options.db) {
        (Some(_), Some(_)) => {
            return Err(CliError::invalid(anyhow!(
                "both --host (VERDICT_HOST) and --db (VERDICT_DB) are set: use a server or a database, not both"
            )));
        }
        (Some(host), None) => {
            CliLedger::Remote(HttpLedger::new(host, options.api_token.clone()).map_err(ledger_error)?)
        }
        (None, _) => {
            let location = database_location(options)?;
            return with_sql_ledger(&location, options.may_create, async |ledger| {
                let ledger = CliLedger::Local(ledger.clone());
                work(&ledger).await
            });
        }
    };
    runtime()?.block_on(async { work(&ledger).await }).map_err(ledger_error)
}

/// The database `--db` names, or the default embedded one.
pub fn database_location(options: &LedgerOptions) -> Result<String, CliError> {
    match &options.db {
        Some(db) => Ok(db.clone()),
        None => default_location(),
    }
}

/// Opens the SQL ledger at `location` and runs `work` against it, closing the connections afterwards.
/// A missing embedded ledger is created only when `may_create` (the command records something), and
/// then said once; otherwise it is an error naming the path (a mistyped `--db` must not look empty).
pub fn with_sql_ledger<T>(
    location: &str,
    may_create: bool,
    work: impl AsyncFnOnce(&SqlLedger) -> Result<T, LedgerError>,
) -> Result<T, CliError> {
    let created = require_ledger(location, may_create)?;
    runtime()?
        .block_on(async {
            let ledger = SqlLedger::open(location).await?;
            if let Some(path) = &created {
                anstream::eprintln!("created a new ledger at {}", path.display());
            }
            let result = work(&ledger).await;
            ledger.close().await;
            result
        })
        .map_err(ledger_error)
}

/// Checks that the embedded ledger `location` names exists, or may be created: the path of a ledger
/// about to be created, if any.
pub fn require_ledger(location: &str, may_create: bool) -> Result<Option<PathBuf>, CliError> {
    let Some(path) = verdict_ledger::embedded_file(location) else { return Ok(None) };
    if path.exists() {
        return Ok(None);
    }
    if may_create {
        return Ok(Some(path));
    }
    Err(CliError::invalid(anyhow!(
        "no ledger at {}: check --db / VERDICT_DB (a command that records evidence creates it)",
        path.display()
    )))
}

/// The embedded ledger's default location, created if missing.
fn default_location() -> Result<String, CliError> {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/share")))
        .ok_or_else(|| CliError::invalid(anyhow!("cannot find a data directory: set --db or VERDICT_DB")))?;
    let dir = base.join("verdict");
    std::fs::create_dir_all(&dir)
        .map_err(|err| CliError::invalid(anyhow!("cannot create {}: {err}", dir.display())))?;
    Ok(dir.join("ledger.db").display().to_string())
}

/// Invalid requests and unknown references are invalid input (exit 2); a failing database is unavailable
/// (exit 3).
pub fn ledger_error(error: LedgerError) -> CliError {
    match error {
        LedgerError::InvalidLocation { .. }
        | LedgerError::Invalid(_)
        | LedgerError::NotFound(_)
        | LedgerError::AccessDenied(_) => CliError::invalid(error),
        other => CliError::unavailable(other),
    }
}

/// A multi-threaded async runtime for one command.
pub fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|err| CliError::unavailable(anyhow!("cannot start the async runtime: {err}")))
}

fn verify(args: &LedgerVerifyArgs, options: &LedgerOptions) -> CliResult {
    let report = with_ledger(options, async |ledger| match ledger {
        // A local ledger is read page by page here: a bar shows how far (a large ledger takes seconds).
        CliLedger::Local(sql) => {
            let mut progress: Option<crate::render::Progress> = None;
            let report = sql
                .verify_with_progress(|done, total| {
                    let bar = progress.get_or_insert_with(|| {
                        crate::render::Progress::new(usize::try_from(total).unwrap_or(0), "verifying")
                    });
                    bar.set(u64::try_from(done).unwrap_or(0));
                })
                .await;
            drop(progress);
            report
        }
        CliLedger::Remote(_) => Ledger::verify(ledger).await,
    })?;
    match args.output {
        ValidateOutput::Json => crate::render::print_json(&report)?,
        ValidateOutput::Text => match &report.problem {
            None => anstream::println!("verified {} entries; head {}", report.count, report.head_hash),
            Some(problem) => anstream::println!(
                "{}TAMPERED{}: {problem} ({} entries verified before it; last good hash {})",
                crate::render::ERROR.render(),
                crate::render::ERROR.render_reset(),
                report.count,
                report.head_hash
            ),
        },
    }
    Ok(if report.problem.is_none() { ExitStatus::Ok } else { ExitStatus::Denied })
}
