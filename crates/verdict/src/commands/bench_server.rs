//! `verdict bench server`: the ledger server measured over real HTTP on loopback. The server runs on its
//! own runtime in this process; clients use the same HTTP client the CLI uses, so the numbers include
//! JSON encoding, auth lookups, the database commit and the response.

use std::time::Instant;

use anyhow::anyhow;
use serde::Serialize;
use verdict_client::HttpLedger;
use verdict_core::ExitStatus;
use verdict_ledger::{Attestation, Flow, Ledger, LedgerError, Role, SqlLedger, Trail};
use verdict_server::{DEFAULT_MAX_BODY_BYTES, ServerConfig};

use super::ledger::{ledger_error, runtime};
use crate::cli::{BenchServerArgs, LedgerOptions};
use crate::error::{CliError, CliResult};

#[derive(Serialize)]
struct IngestRun {
    clients: usize,
    attestations: usize,
    seconds: f64,
    attestations_per_second: f64,
}

#[derive(Serialize)]
struct ServerStats {
    database: &'static str,
    ingest: Vec<IngestRun>,
    get_trail_attestations: usize,
    get_trail_requests: usize,
    get_trail_p50_ms: f64,
    get_trail_p99_ms: f64,
    get_trail_max_ms: f64,
}

fn attestation(trail: &str, name: String) -> Attestation {
    Attestation {
        name,
        kind: "generic".to_owned(),
        flow: "bench".to_owned(),
        trail: trail.to_owned(),
        fingerprint: None,
        is_compliant: true,
        payload: Some(serde_json::json!({"summary": {"total": 120, "failures": 0}})),
        user_data: None,
        attachments: Vec::new(),
    }
}

async fn ingest(
    client: &HttpLedger,
    org: &str,
    trail: &str,
    clients: usize,
    total: usize,
) -> Result<IngestRun, LedgerError> {
    let trail = trail.to_owned();
    client
        .begin_trail(
            org,
            Trail {
                name: trail.clone(),
                flow: "bench".to_owned(),
                description: String::new(),
                commit: None,
                origin_url: None,
                user_data: None,
                template: None,
            },
        )
        .await?;
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(clients);
    for writer in 0..clients {
        let client = client.clone();
        let (org, trail) = (org.to_owned(), trail.clone());
        let count = total / clients + usize::from(writer < total % clients);
        tasks.push(tokio::spawn(async move {
            for i in 0..count {
                client.attest(&org, attestation(&trail, format!("check-{writer}-{i}"))).await?;
            }
            Ok::<(), LedgerError>(())
        }));
    }
    for task in tasks {
        task.await.map_err(|err| LedgerError::Invalid(format!("client failed: {err}")))??;
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(IngestRun { clients, attestations: total, seconds, attestations_per_second: total as f64 / seconds })
}

/// Runs `bench server`.
pub fn run(args: &BenchServerArgs, options: &LedgerOptions) -> CliResult {
    let temporary = tempfile::tempdir()
        .map_err(|err| CliError::invalid(anyhow!("cannot create a temporary directory: {err}")))?;
    let location = match &options.db {
        Some(db) => db.clone(),
        None => temporary.path().join("bench.db").display().to_string(),
    };
    // The server gets its own runtime (and threads), as it would in its own process.
    let server_runtime = runtime()?;
    let (ledger, token) = server_runtime
        .block_on(async {
            let ledger = SqlLedger::open(&location).await?;
            let (_, token) = ledger.create_token("bench", Role::Write, "verdict bench server").await?;
            Ok::<_, LedgerError>((ledger, token))
        })
        .map_err(ledger_error)?;
    let database = match ledger.backend() {
        verdict_ledger::Backend::Sqlite => "sqlite",
        verdict_ledger::Backend::Postgres => "postgres",
    };
    let (address_tx, address_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let config = ServerConfig { listen: ([127, 0, 0, 1], 0).into(), max_body_bytes: DEFAULT_MAX_BODY_BYTES };
    let server = server_runtime.spawn(verdict_server::serve_until(
        ledger,
        config,
        move |address| {
            let _ = address_tx.send(address);
        },
        async move {
            let _ = stop_rx.await;
        },
    ));
    let address = address_rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .map_err(|_| CliError::unavailable(anyhow!("the benchmark server did not start")))?;
    let client = HttpLedger::new(&format!("http://{address}"), Some(token)).map_err(ledger_error)?;

    let stats = runtime()?
        .block_on(async {
            let org = "bench";
            client
                .put_flow(
                    org,
                    Flow {
                        name: "bench".to_owned(),
                        description: String::new(),
                        tags: Default::default(),
                        template: None,
                        archived: false,
                    },
                )
                .await?;
            let mut ingest_runs = Vec::new();
            for &clients in &args.clients {
                let trail = format!("ingest-{clients}");
                ingest_runs.push(ingest(&client, org, &trail, clients.max(1), args.attestations).await?);
            }
            // A trail with 100 attestations, read back as the enriched document.
            let trail = "read-100";
            ingest(&client, org, trail, 1, 100).await?;
            let mut samples = Vec::with_capacity(args.reads);
            for _ in 0..args.reads.max(1) {
                let started = Instant::now();
                client.trail_document(org, "bench", trail).await?;
                samples.push(started.elapsed().as_secs_f64() * 1e3);
            }
            samples.sort_by(f64::total_cmp);
            let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
            let attestations = client.attestations(org, "bench", trail).await?.len();
            Ok::<_, LedgerError>(ServerStats {
                database,
                ingest: ingest_runs,
                get_trail_attestations: attestations,
                get_trail_requests: samples.len(),
                get_trail_p50_ms: at(0.5),
                get_trail_p99_ms: at(0.99),
                get_trail_max_ms: samples[samples.len() - 1],
            })
        })
        .map_err(ledger_error)?;
    let _ = stop_tx.send(());
    let _ = server_runtime.block_on(server);
    crate::render::print_json(&stats)?;
    Ok(ExitStatus::Ok)
}
