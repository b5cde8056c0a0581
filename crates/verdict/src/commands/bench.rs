//! `verdict bench rego`: in-process timing of a Rego evaluation, so it can be compared with other engines
//! in one run (benches/rego_vs_opa.py).

use std::time::Instant;

use anyhow::anyhow;
use serde::Serialize;
use verdict_core::ExitStatus;
use verdict_rego::Limits;

use super::evaluate::{load_policy, params};
use super::ledger::{database_location, with_sql_ledger};
use crate::cli::{BenchCommand, BenchLedgerArgs, BenchRegoArgs, LedgerOptions};
use crate::error::{CliError, CliResult};

/// Runs a `bench` subcommand.
pub fn run(command: BenchCommand, options: &LedgerOptions) -> CliResult {
    match command {
        BenchCommand::Rego(args) => rego(&args),
        BenchCommand::Ledger(args) => ledger(&args, options),
        BenchCommand::Server(args) => super::bench_server::run(&args, options),
        BenchCommand::Snapshot(args) => super::bench_snapshot::run(&args, options),
        BenchCommand::Bundle(args) => super::verify::bench(&args),
        BenchCommand::Admission(args) => super::bench_admission::run(&args),
        BenchCommand::Apply(args) => super::bench_apply::run(&args),
    }
}

#[derive(Serialize)]
struct LedgerStats {
    appends: usize,
    concurrency: usize,
    append_seconds: f64,
    appends_per_second: f64,
    verified_entries: i64,
    verify_seconds: f64,
    entries_verified_per_second: f64,
}

fn ledger(args: &BenchLedgerArgs, options: &LedgerOptions) -> CliResult {
    let concurrency = args.concurrency.max(1);
    let location = database_location(options)?;
    let stats = with_sql_ledger(&location, true, async |ledger| {
        let started = Instant::now();
        let mut tasks = Vec::with_capacity(concurrency);
        for writer in 0..concurrency {
            let ledger = ledger.clone();
            let count = args.appends / concurrency + usize::from(writer < args.appends % concurrency);
            tasks.push(tokio::spawn(async move {
                for i in 0..count {
                    let body = serde_json::json!({"name": "unit-tests", "type": "junit", "is_compliant": true, "i": i, "writer": writer});
                    ledger.append("bench", "attestation", &format!("flow/trail-{writer}"), &body).await?;
                }
                Ok::<(), verdict_ledger::LedgerError>(())
            }));
        }
        for task in tasks {
            task.await
                .map_err(|err| verdict_ledger::LedgerError::Invalid(format!("writer failed: {err}")))??;
        }
        let append_seconds = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let report = ledger.verify().await?;
        let verify_seconds = started.elapsed().as_secs_f64();
        if let Some(problem) = report.problem {
            return Err(verdict_ledger::LedgerError::Invalid(format!(
                "the chain does not verify: {problem}"
            )));
        }
        Ok(LedgerStats {
            appends: args.appends,
            concurrency,
            append_seconds,
            appends_per_second: args.appends as f64 / append_seconds,
            verified_entries: report.count,
            verify_seconds,
            entries_verified_per_second: report.count as f64 / verify_seconds,
        })
    })?;
    crate::render::print_json(&stats)?;
    Ok(ExitStatus::Ok)
}

#[derive(Serialize)]
struct Stats {
    iterations: usize,
    min_us: f64,
    median_us: f64,
    p99_us: f64,
    mean_us: f64,
    allow: bool,
    violations: usize,
    /// Stock regorus on the same policy and input, timed in the same run (with `--compare-stock`).
    #[serde(skip_serializing_if = "Option::is_none")]
    stock: Option<Box<Stats>>,
}

impl Stats {
    fn of(mut samples: Vec<f64>, allow: bool, violations: usize) -> Stats {
        samples.sort_by(f64::total_cmp);
        let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
        Stats {
            iterations: samples.len(),
            min_us: samples[0],
            median_us: at(0.5),
            p99_us: at(0.99),
            mean_us: samples.iter().sum::<f64>() / samples.len() as f64,
            allow,
            violations,
            stock: None,
        }
    }
}

/// Stock regorus, prepared as verdict prepares it (policy and `data.params` added, analysis run once),
/// evaluated as a plain embedder would: clone, parse the input, `allow`, then `violations` when denied.
struct Stock {
    engine: regorus::Engine,
}

impl Stock {
    fn new(source: &str, params: Option<&serde_json::Value>) -> Result<Stock, CliError> {
        let fail = |err: anyhow::Error| CliError::invalid(anyhow!("stock regorus: {err:#}"));
        let mut engine = regorus::Engine::new();
        engine.set_rego_v0(false);
        engine.add_policy("policy.rego".to_owned(), source.to_owned()).map_err(fail)?;
        if let Some(params) = params {
            let mut data = regorus::Value::new_object();
            if let Ok(map) = data.as_object_mut() {
                map.insert(regorus::Value::from("params"), regorus::Value::from(params.clone()));
            }
            engine.add_data(data).map_err(fail)?;
        }
        engine.eval_query("true".to_owned(), false).map_err(fail)?;
        Ok(Stock { engine })
    }

    fn evaluate(&self, text: &str) -> Result<(bool, usize), CliError> {
        let fail = |err: anyhow::Error| CliError::invalid(anyhow!("stock regorus: {err:#}"));
        let mut engine = self.engine.clone();
        engine.set_input(regorus::Value::from_json_str(text).map_err(fail)?);
        let allow =
            engine.eval_rule("data.policy.allow".to_owned()).map_err(fail)? == regorus::Value::from(true);
        if allow {
            return Ok((true, 0));
        }
        let violations = engine.eval_rule("data.policy.violations".to_owned()).map_err(fail)?;
        Ok((false, violations.as_set().map(|set| set.len()).unwrap_or(0)))
    }
}

fn rego(args: &BenchRegoArgs) -> CliResult {
    let mut policy = load_policy(&args.policy)?;
    let text = std::fs::read_to_string(&args.input_file).map_err(|err| {
        CliError::invalid(anyhow!("failed to read input file: {}: {err}", args.input_file.display()))
    })?;
    let parameters = args.params.as_deref().map(params).transpose()?;
    if let Some(parameters) = &parameters {
        policy = policy
            .with_params(regorus::Value::from(parameters.clone()))
            .map_err(|err| CliError::invalid(anyhow!("{err}")))?;
    }
    let stock = if args.compare_stock {
        let source = std::fs::read_to_string(&args.policy)
            .map_err(|err| CliError::invalid(anyhow!("failed to read {}: {err}", args.policy.display())))?;
        Some(Stock::new(&source, parameters.as_ref())?)
    } else {
        None
    };
    let limits = Limits::default();
    let once = || -> Result<verdict_rego::Decision, CliError> {
        let input = regorus::Value::from_json_str(&text)
            .map_err(|err| CliError::invalid(anyhow!("failed to parse input: {err}")))?;
        let decision = if args.isolated {
            policy.evaluate_isolated(input, &limits)
        } else {
            policy.evaluate(input, &limits)
        };
        decision.map_err(|err| CliError::invalid(anyhow!("{err}")))
    };
    for _ in 0..args.warmup {
        once()?;
        if let Some(stock) = &stock {
            stock.evaluate(&text)?;
        }
    }
    let mut samples = Vec::with_capacity(args.iterations);
    let mut stock_samples = Vec::with_capacity(args.iterations);
    let mut last = None;
    let mut stock_last = (false, 0);
    for _ in 0..args.iterations.max(1) {
        let started = Instant::now();
        last = Some(once()?);
        samples.push(started.elapsed().as_secs_f64() * 1e6);
        if let Some(stock) = &stock {
            let started = Instant::now();
            stock_last = stock.evaluate(&text)?;
            stock_samples.push(started.elapsed().as_secs_f64() * 1e6);
        }
    }
    let decision = last.ok_or_else(|| CliError::invalid(anyhow!("no iteration ran")))?;
    let violations = decision.violations.map_or(0, |v| v.len());
    let mut stats = Stats::of(samples, decision.allow, violations);
    if stock.is_some() {
        if stock_last != (decision.allow, violations) {
            return Err(CliError::invalid(anyhow!(
                "stock regorus decided differently: allow {} with {} violations",
                stock_last.0,
                stock_last.1
            )));
        }
        stats.stock = Some(Box::new(Stats::of(stock_samples, stock_last.0, stock_last.1)));
    }
    crate::render::print_json(&stats)?;
    Ok(ExitStatus::Ok)
}
