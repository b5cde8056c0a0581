//! `verdict bench rego`: in-process timing of a Rego evaluation, so it can be compared with other engines
//! in one run (benches/rego_vs_opa.py).

use std::time::Instant;

use anyhow::anyhow;
use serde::Serialize;
use verdict_core::ExitStatus;
use verdict_rego::Limits;

use super::evaluate::{load_policy, params};
use crate::cli::{BenchCommand, BenchRegoArgs};
use crate::error::{CliError, CliResult};

/// Runs a `bench` subcommand.
pub fn run(command: BenchCommand) -> CliResult {
    match command {
        BenchCommand::Rego(args) => rego(&args),
    }
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
}

fn rego(args: &BenchRegoArgs) -> CliResult {
    let mut policy = load_policy(&args.policy)?;
    let text = std::fs::read_to_string(&args.input_file).map_err(|err| {
        CliError::invalid(anyhow!("failed to read input file: {}: {err}", args.input_file.display()))
    })?;
    if let Some(params) = args.params.as_deref().map(params).transpose()? {
        policy = policy
            .with_params(regorus::Value::from(params))
            .map_err(|err| CliError::invalid(anyhow!("{err}")))?;
    }
    let limits = Limits::default();
    let once = || -> Result<verdict_rego::Decision, CliError> {
        let input = regorus::Value::from_json_str(&text)
            .map_err(|err| CliError::invalid(anyhow!("failed to parse input: {err}")))?;
        policy.evaluate(input, &limits).map_err(|err| CliError::invalid(anyhow!("{err}")))
    };
    for _ in 0..args.warmup {
        once()?;
    }
    let mut samples = Vec::with_capacity(args.iterations);
    let mut last = None;
    for _ in 0..args.iterations.max(1) {
        let started = Instant::now();
        last = Some(once()?);
        samples.push(started.elapsed().as_secs_f64() * 1e6);
    }
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    let decision = last.ok_or_else(|| CliError::invalid(anyhow!("no iteration ran")))?;
    let stats = Stats {
        iterations: samples.len(),
        min_us: samples[0],
        median_us: at(0.5),
        p99_us: at(0.99),
        mean_us: samples.iter().sum::<f64>() / samples.len() as f64,
        allow: decision.allow,
        violations: decision.violations.map_or(0, |v| v.len()),
    };
    crate::render::print_json(&stats)?;
    Ok(ExitStatus::Ok)
}
