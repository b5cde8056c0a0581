//! `verdict admission serve|review`: the admission webhook and its offline twin, both on
//! `verdict-admission`'s decision, so a review decided here is decided the same at the cluster.

use std::sync::Arc;

use anyhow::anyhow;
use verdict_admission::{
    Mode, PolicyJudge, RegistryAccess, ReloadingCertificate, Settings, WebhookConfig, answer, decide,
    parse_review,
};
use verdict_core::ExitStatus;
use verdict_imagepolicy::load_image_policy;
use verdict_rego::Limits;
use verdict_sigstore::BundleVerifier;

use super::ledger::runtime;
use crate::cli::EvalOutput;
use crate::cli_admission::{AdmissionCommand, AdmissionReviewArgs, AdmissionServeArgs, JudgeArgs, ModeArg};
use crate::error::{CliError, CliResult};

/// Runs `admission serve` or `admission review`.
pub fn run(command: AdmissionCommand) -> CliResult {
    match command {
        AdmissionCommand::Serve(args) => serve(&args),
        AdmissionCommand::Review(args) => review(&args),
    }
}

/// The judge and settings the flags describe; the policy and trust root are loaded (and refused with
/// file:line:column) before anything is served.
fn judge(args: &JudgeArgs) -> Result<(PolicyJudge, Settings), CliError> {
    let file = args.policy.display().to_string();
    let source = std::fs::read_to_string(&args.policy)
        .map_err(|err| CliError::invalid(anyhow!("cannot read --policy {file}: {err}")))?;
    let policy = load_image_policy(&file, &source).map_err(|diagnostics| {
        let rendered: Vec<String> = diagnostics.iter().map(|d| d.render(&source)).collect();
        CliError::invalid(anyhow!("the image policy does not load:\n{}", rendered.join("\n")))
    })?;
    let verifier = BundleVerifier::new(args.trusted_root.as_deref()).map_err(CliError::invalid)?;
    let access = RegistryAccess {
        docker_config: args.docker_config.clone(),
        request_timeout: args.registry_timeout,
        budget: args.budget,
    };
    let mode = match args.mode {
        ModeArg::Audit => Mode::Audit,
        ModeArg::Warn => Mode::Warn,
        ModeArg::Enforce => Mode::Enforce,
    };
    let settings = Settings { mode, budget: args.budget, exempt_namespaces: args.exempt_namespaces.clone() };
    Ok((PolicyJudge::new(policy, verifier, access, Limits::default()), settings))
}

fn serve(args: &AdmissionServeArgs) -> CliResult {
    let (judge, settings) = judge(&args.judge)?;
    let max_body_bytes = usize::try_from(args.max_body_bytes)
        .map_err(|_| CliError::invalid(anyhow!("--max-body-bytes is too large for this machine")))?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(ReloadingCertificate::load(cert, key).map_err(CliError::invalid)?),
        _ => None,
    };
    tracing::info!(
        mode = ?settings.mode,
        budget = ?settings.budget,
        exempt = ?settings.exempt_namespaces,
        "admission webhook configured; images no rule matches are denied unless the policy says noMatch: allow"
    );
    let scheme = if tls.is_some() { "https" } else { "http" };
    let config = WebhookConfig { listen: args.listen, tls, max_body_bytes, settings };
    runtime()?
        .block_on(verdict_admission::serve(config, Arc::new(judge), |address| {
            // The one line on stdout: scripts (and tests) read the bound address from it.
            anstream::println!("verdict admission webhook listening on {scheme}://{address}");
        }))
        .map_err(|err| CliError::unavailable(anyhow!("cannot serve on {}: {err}", args.listen)))?;
    Ok(ExitStatus::Ok)
}

fn review(args: &AdmissionReviewArgs) -> CliResult {
    let body = if args.review.as_os_str() == "-" {
        let mut buffer = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut buffer)
            .map_err(|err| CliError::invalid(anyhow!("cannot read the review from stdin: {err}")))?;
        buffer
    } else {
        std::fs::read(&args.review)
            .map_err(|err| CliError::invalid(anyhow!("cannot read {}: {err}", args.review.display())))?
    };
    let request =
        parse_review(&body).map_err(|err| CliError::invalid(anyhow!("{}: {err}", args.review.display())))?;
    let (judge, settings) = judge(&args.judge)?;
    let decision = runtime()?.block_on(decide(&request, &judge, &settings));
    match args.output {
        EvalOutput::Json => crate::render::print_json(&serde_json::json!({
            "decision": decision,
            "review": answer(&request, &decision),
        }))?,
        EvalOutput::Table => {
            let verdict = if decision.admitted { "ADMITTED" } else { "DENIED" };
            anstream::println!(
                "{verdict}: {} {}/{} ({}, mode {:?})",
                decision.kind,
                decision.namespace.as_deref().unwrap_or("-"),
                decision.name,
                decision.operation,
                decision.mode
            );
            for image in &decision.images {
                let outcome = if image.allowed { "ok" } else { "FAILED" };
                anstream::println!("  {outcome}  {}  ({})", image.image, image.path);
            }
            for reason in &decision.reasons {
                anstream::println!("  • {reason}");
            }
        }
    }
    Ok(if decision.admitted { ExitStatus::Ok } else { ExitStatus::Denied })
}
