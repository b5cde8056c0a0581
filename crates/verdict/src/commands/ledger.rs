//! `verdict ledger verify`: recompute the hash chain of the evidence ledger.

use std::path::PathBuf;

use anyhow::anyhow;
use verdict_core::ExitStatus;
use verdict_ledger::{LedgerError, SqlLedger};

use crate::cli::{LedgerCommand, LedgerVerifyArgs, ValidateOutput};
use crate::error::{CliError, CliResult};

/// Runs a `ledger` subcommand.
pub fn run(command: LedgerCommand) -> CliResult {
    match command {
        LedgerCommand::Verify(args) => verify(&args),
    }
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

fn ledger_error(error: LedgerError) -> CliError {
    match error {
        LedgerError::InvalidLocation { .. } => CliError::invalid(error),
        other => CliError::unavailable(other),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|err| CliError::unavailable(anyhow!("cannot start the async runtime: {err}")))
}

fn verify(args: &LedgerVerifyArgs) -> CliResult {
    let location = match &args.db {
        Some(db) => db.clone(),
        None => default_location()?,
    };
    let report = runtime()?.block_on(async {
        let ledger = SqlLedger::open(&location).await?;
        let report = ledger.verify().await;
        ledger.close().await;
        report
    });
    let report = report.map_err(ledger_error)?;
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
