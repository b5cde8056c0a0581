//! `verdict server`: serve the ledger over HTTP; `verdict server token …`: manage its API tokens.

use anyhow::anyhow;
use comfy_table::{Table, presets};
use verdict_core::ExitStatus;
use verdict_ledger::SqlLedger;
use verdict_server::ServerConfig;

use super::ledger::{database_location, ledger_error, runtime, with_sql_ledger};
use crate::cli::{EvalOutput, LedgerOptions, ServerArgs, ServerCommand, TokenCommand};
use crate::error::{CliError, CliResult};

/// Runs `verdict server` or one of its subcommands.
pub fn run(args: ServerArgs, options: &LedgerOptions) -> CliResult {
    let location = database_location(options)?;
    match args.command {
        Some(ServerCommand::Token(command)) => token(command, &location, options),
        None => serve(&args, &location),
    }
}

fn serve(args: &ServerArgs, location: &str) -> CliResult {
    let max_body_bytes = usize::try_from(args.max_body_bytes)
        .map_err(|_| CliError::invalid(anyhow!("--max-body-bytes is too large for this machine")))?;
    let config = ServerConfig { listen: args.listen, max_body_bytes };
    runtime()?.block_on(async {
        let ledger = SqlLedger::open(location).await.map_err(ledger_error)?;
        tracing::info!(database = %redact(location), backend = ?ledger.backend(), "ledger open");
        verdict_server::serve(ledger, config, |address| {
            // The one line on stdout: scripts (and tests) read the bound address from it.
            anstream::println!("verdict server listening on http://{address}");
            tracing::info!(%address, "listening");
        })
        .await
        .map_err(|err| CliError::unavailable(anyhow!("cannot serve on {}: {err}", args.listen)))
    })?;
    Ok(ExitStatus::Ok)
}

/// A database URL without its password, for logs.
fn redact(location: &str) -> String {
    match (location.find("://"), location.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &location[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &location[..scheme + 3], &location[at..]),
                None => location.to_owned(),
            }
        }
        _ => location.to_owned(),
    }
}

fn token(command: TokenCommand, location: &str, options: &LedgerOptions) -> CliResult {
    match command {
        TokenCommand::Create(args) => {
            let (_, token) = with_sql_ledger(location, true, async |ledger| {
                ledger.create_token(&options.org, args.role, &args.description).await
            })?;
            // The token alone, so `TOKEN=$(verdict server token create …)` works.
            anstream::println!("{token}");
        }
        TokenCommand::List(args) => {
            let tokens = with_sql_ledger(location, false, async |ledger| ledger.tokens().await)?;
            match args.output {
                EvalOutput::Json => crate::render::print_json(&tokens)?,
                EvalOutput::Table => {
                    let mut table = Table::new();
                    table.load_preset(presets::NOTHING).set_header([
                        "ID",
                        "ORG",
                        "ROLE",
                        "CREATED",
                        "REVOKED",
                        "DESCRIPTION",
                    ]);
                    for token in tokens {
                        table.add_row([
                            token.id,
                            token.org,
                            token.role.to_string(),
                            token.created_at,
                            token.revoked_at.unwrap_or_default(),
                            token.description,
                        ]);
                    }
                    for line in table.to_string().lines() {
                        anstream::println!("{}", line.trim_end());
                    }
                }
            }
        }
        TokenCommand::Revoke(args) => {
            let revoked =
                with_sql_ledger(location, false, async |ledger| ledger.revoke_token(&args.id).await)?;
            anstream::println!("revoked token {} (org {}, role {})", revoked.id, revoked.org, revoked.role);
        }
    }
    Ok(ExitStatus::Ok)
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("postgres://u:secret@h:5/db"), "postgres://u:***@h:5/db");
        assert_eq!(redact("postgres://u@h:5/db"), "postgres://u@h:5/db");
        assert_eq!(redact("/tmp/ledger.db"), "/tmp/ledger.db");
    }
}
