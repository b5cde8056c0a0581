//! `verdict bench admission`: a bounded load generator against a running webhook on this machine —
//! the open-loop steps of `verdict_admission::load`, reported as a table or JSON.

use std::net::IpAddr;
use std::time::Duration;

use anyhow::anyhow;
use verdict_admission::load::{MAX_RATE, MAX_SECONDS, TABLE_HEADER, run_step};
use verdict_core::ExitStatus;

use super::ledger::runtime;
use crate::cli::{BenchAdmissionArgs, EvalOutput};
use crate::error::{CliError, CliResult};

/// Whether `url` names this machine: load is never sent anywhere else.
fn loopback(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else { return false };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

/// Runs the warm-up and then one step per rate.
pub fn run(args: &BenchAdmissionArgs) -> CliResult {
    let url = reqwest::Url::parse(&args.url)
        .map_err(|err| CliError::invalid(anyhow!("--url {:?} is not a URL: {err}", args.url)))?;
    if !matches!(url.scheme(), "http" | "https") || !loopback(&url) {
        return Err(CliError::invalid(anyhow!(
            "--url {}: bench admission sends load only to a webhook on this machine (http(s)://127.0.0.1, [::1] or localhost)",
            args.url
        )));
    }
    if let Some(rate) = args.rates.iter().find(|rate| !(**rate > 0.0 && **rate <= MAX_RATE)) {
        return Err(CliError::invalid(anyhow!("--rates: {rate} is not between 0 and {MAX_RATE} requests/s")));
    }
    if !(args.seconds > 0.0 && args.seconds <= MAX_SECONDS) {
        return Err(CliError::invalid(anyhow!(
            "--seconds: {} is not between 0 and {MAX_SECONDS}",
            args.seconds
        )));
    }
    let mut client = reqwest::Client::builder().timeout(Duration::from_secs(30));
    if let Some(file) = &args.ca_cert {
        let pem = std::fs::read(file)
            .map_err(|err| CliError::invalid(anyhow!("cannot read --ca-cert {}: {err}", file.display())))?;
        let certificate = reqwest::Certificate::from_pem(&pem).map_err(|err| {
            CliError::invalid(anyhow!("--ca-cert {}: not a PEM certificate: {err}", file.display()))
        })?;
        client = client.tls_certs_only([certificate]);
    }
    let client =
        client.build().map_err(|err| CliError::invalid(anyhow!("cannot build the HTTP client: {err}")))?;
    let cycle = |count: usize| -> Vec<String> { args.images.iter().cycle().take(count).cloned().collect() };
    let base = url.as_str().trim_end_matches('/').to_owned();
    let steps = runtime()?.block_on(async {
        if args.warm_up > 0 {
            let warm = run_step(&client, &base, "warm-up", 50.0, &cycle(args.warm_up)).await;
            if warm.errors == warm.sent {
                return Err(CliError::unavailable(anyhow!(
                    "the webhook at {base} answered none of {} warm-up reviews",
                    warm.sent
                )));
            }
        }
        let mut steps = Vec::new();
        for rate in &args.rates {
            let requests = ((rate * args.seconds).round() as usize).max(1);
            let label = if args.images.len() == 1 { "warm" } else { "cycle" };
            steps.push(run_step(&client, &base, label, *rate, &cycle(requests)).await);
        }
        Ok(steps)
    })?;
    match args.output {
        EvalOutput::Json => crate::render::print_json(&serde_json::json!({ "url": base, "steps": steps }))?,
        EvalOutput::Table => {
            anstream::println!("{TABLE_HEADER}");
            for step in &steps {
                anstream::println!("{}", step.table_row());
            }
        }
    }
    Ok(ExitStatus::Ok)
}
