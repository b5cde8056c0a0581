//! `verdict bench snapshot`: a snapshot of many running artifacts reported and evaluated end to end
//! through the store (the `snapshot` command's work without the file system), on `--db` or a temporary
//! SQLite file. The ledger it builds is left in place with `--db`, so `assert artifact` can be timed
//! against it as a whole process.

use std::time::Instant;

use anyhow::anyhow;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use verdict_core::ExitStatus;
use verdict_ledger::records::{Environment, PolicyRecord, RunningArtifact};
use verdict_ledger::{Artifact, Attestation, Flow, Ledger, LedgerError, SqlLedger, Trail};

use super::ledger::{ledger_error, runtime};
use crate::cli::{BenchSnapshotArgs, LedgerOptions};
use crate::error::{CliError, CliResult};

const POLICIES: [&str; 3] = [
    "_schema: https://kosli.com/schemas/policy/environment/v1\nartifacts:\n  provenance:\n    required: true\n",
    "_schema: https://kosli.com/schemas/policy/environment/v1\nartifacts:\n  trail-compliance:\n    required: true\n",
    "_schema: https://kosli.com/schemas/policy/environment/v1\nartifacts:\n  attestations:\n    - name: unit-tests\n      type: generic\n    - name: security-scan\n      type: generic\n      if: ${{ flow.tags.risk-level == \"high\" }}\n",
];

#[derive(Serialize)]
struct SnapshotStats {
    artifacts: usize,
    ledger_entries: i64,
    setup_seconds: f64,
    report_seconds: f64,
    status: String,
    non_compliant: usize,
}

fn fingerprint(i: usize) -> String {
    hex::encode(Sha256::digest(format!("artifact-{i}").as_bytes()))
}

async fn build(ledger: &SqlLedger, org: &str, count: usize) -> Result<(), LedgerError> {
    let tags = [("risk-level".to_owned(), "high".to_owned())].into_iter().collect();
    ledger
        .put_flow(
            org,
            Flow { name: "bench".into(), description: String::new(), tags, template: None, archived: false },
        )
        .await?;
    let mut tasks = Vec::new();
    let writers = 32;
    for writer in 0..writers {
        let ledger = ledger.clone();
        let org = org.to_owned();
        tasks.push(tokio::spawn(async move {
            for i in (writer..count).step_by(writers) {
                let trail = format!("t{i}");
                let t = Trail {
                    name: trail.clone(),
                    flow: "bench".into(),
                    description: String::new(),
                    commit: None,
                    origin_url: None,
                    user_data: None,
                    template: None,
                };
                ledger.begin_trail(&org, t).await?;
                let fp = fingerprint(i);
                let artifact = Artifact {
                    fingerprint: fp.clone(),
                    name: "app".into(),
                    filename: None,
                    flow: "bench".into(),
                    trail: trail.clone(),
                    commit: None,
                    build_url: None,
                    annotations: Default::default(),
                };
                ledger.report_artifact(&org, artifact).await?;
                // Every 10th artifact fails its scan, so the deny path is exercised too.
                for (name, ok) in [
                    ("unit-tests", true),
                    ("security-scan", i % 10 != 0),
                    ("lint", true),
                    ("pr", true),
                    ("sbom", true),
                ] {
                    let attestation = Attestation {
                        name: format!("app.{name}"),
                        kind: "generic".into(),
                        flow: "bench".into(),
                        trail: trail.clone(),
                        fingerprint: None,
                        is_compliant: ok,
                        payload: Some(json!({"summary": {"checked": 120}})),
                        user_data: None,
                        attachments: Vec::new(),
                    };
                    ledger.attest(&org, attestation).await?;
                }
            }
            Ok::<(), LedgerError>(())
        }));
    }
    for task in tasks {
        task.await.map_err(|err| LedgerError::Invalid(format!("writer failed: {err}")))??;
    }
    verdict_enforce::create_environment(
        ledger,
        org,
        Environment {
            name: "prod".into(),
            kind: "K8S".into(),
            description: String::new(),
            included_environments: Vec::new(),
            tags: Default::default(),
            archived: false,
        },
    )
    .await?;
    for (i, source) in POLICIES.iter().enumerate() {
        let name = format!("policy-{i}");
        let record = PolicyRecord {
            name: name.clone(),
            source: (*source).to_owned(),
            description: String::new(),
            comment: String::new(),
        };
        verdict_enforce::create_policy(ledger, org, record, &name).await?;
        verdict_enforce::policies::attach_policy(ledger, org, &name, "prod", true).await?;
    }
    Ok(())
}

/// Flushes the SQLite files the setup wrote, so the timed report does not pay for the setup's pending
/// write-back (its own commits wait for the disk). Best effort: a URL or a missing file is left alone.
fn flush_to_disk(location: &str) {
    let path = location.strip_prefix("sqlite://").unwrap_or(location);
    let path = path.split('?').next().unwrap_or(path);
    for suffix in ["", "-wal"] {
        if let Ok(file) = std::fs::File::open(format!("{path}{suffix}")) {
            let _ = file.sync_all();
        }
    }
}

/// Runs `bench snapshot`.
pub fn run(args: &BenchSnapshotArgs, options: &LedgerOptions) -> CliResult {
    if (args.prepared || args.setup_only) && options.db.is_none() {
        return Err(CliError::invalid(anyhow!("--prepared and --setup-only need --db")));
    }
    let temporary = tempfile::tempdir()
        .map_err(|err| CliError::invalid(anyhow!("cannot create a temporary directory: {err}")))?;
    let location = match &options.db {
        Some(db) => db.clone(),
        None => temporary.path().join("bench.db").display().to_string(),
    };
    let org = options.org.clone();
    let stats = runtime()?
        .block_on(async {
            let ledger = SqlLedger::open(&location).await?;
            let started = Instant::now();
            if !args.prepared {
                build(&ledger, &org, args.artifacts).await?;
            }
            let setup_seconds = started.elapsed().as_secs_f64();
            // The report runs as `verdict snapshot` would: a new process opening a ledger that others
            // wrote (closing checkpoints SQLite's write-ahead log into the database file).
            ledger.close().await;
            flush_to_disk(&location);
            if args.setup_only {
                return Ok(None);
            }
            let ledger = SqlLedger::open(&location).await?;
            let running: Vec<RunningArtifact> = (0..args.artifacts)
                .map(|i| RunningArtifact {
                    name: format!("registry.example/app-{i}:1.0"),
                    fingerprint: fingerprint(i),
                    instances: 2,
                    started_at: None,
                    pods: Vec::new(),
                })
                .collect();
            let started = Instant::now();
            let outcome = verdict_enforce::report_snapshot(&ledger, &org, "prod", running).await?;
            let report_seconds = started.elapsed().as_secs_f64();
            let report = ledger.verify().await?;
            ledger.close().await;
            Ok::<_, LedgerError>(Some(SnapshotStats {
                artifacts: args.artifacts,
                ledger_entries: report.count,
                setup_seconds,
                report_seconds,
                non_compliant: outcome.evaluation.artifacts.iter().filter(|a| !a.decision.compliant).count(),
                status: outcome.evaluation.status,
            }))
        })
        .map_err(ledger_error)?;
    if let Some(stats) = stats {
        crate::render::print_json(&stats)?;
    }
    Ok(ExitStatus::Ok)
}
