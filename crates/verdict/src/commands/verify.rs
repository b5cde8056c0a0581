//! `verdict verify bundle`: a Sigstore bundle checked offline against a trusted root and a signer
//! (`verify image` is in `verify_image`).

use anyhow::anyhow;
use serde_json::json;
use verdict_core::ExitStatus;
use verdict_sigstore::{BundleVerifier, Matcher, Signer, Subject};

use crate::cli::EvalOutput;
use crate::cli_env::{VerifyBundleArgs, VerifyCommand};
use crate::error::{CliError, CliResult};

/// Runs `verify bundle` or `verify image`.
pub fn run(command: VerifyCommand) -> CliResult {
    match command {
        VerifyCommand::Bundle(args) => bundle(&args),
        VerifyCommand::Image(args) => super::verify_image::run(&args),
    }
}

fn matcher(exact: Option<&String>, regexp: Option<&String>, what: &str) -> Result<Matcher, CliError> {
    match (exact, regexp) {
        (Some(text), _) => Ok(Matcher::Exact(text.clone())),
        (None, Some(pattern)) => Matcher::regex(pattern, |p| {
            tracing::warn!("--{what}-regexp {p:?} is not anchored (^…$): it matches anywhere in the value");
        })
        .map_err(CliError::invalid),
        (None, None) => Err(CliError::invalid(anyhow!("give --{what} or --{what}-regexp"))),
    }
}

/// The signer `verify bundle`'s arguments name.
fn signer(args: &VerifyBundleArgs) -> Result<Signer, CliError> {
    if args.insecure_ignore_tlog && args.key.is_none() {
        return Err(CliError::invalid(anyhow!(
            "--insecure-ignore-tlog needs --key: keyless signatures always need the transparency log"
        )));
    }
    Ok(match &args.key {
        Some(path) => Signer::Key {
            public_key: std::fs::read_to_string(path)
                .map_err(|err| CliError::invalid(anyhow!("cannot read --key {}: {err}", path.display())))?,
            ignore_tlog: args.insecure_ignore_tlog,
        },
        None => Signer::Keyless {
            identity: matcher(
                args.certificate_identity.as_ref(),
                args.certificate_identity_regexp.as_ref(),
                "certificate-identity",
            )?,
            issuer: matcher(
                args.certificate_oidc_issuer.as_ref(),
                args.certificate_oidc_issuer_regexp.as_ref(),
                "certificate-oidc-issuer",
            )?,
        },
    })
}

/// Runs `bench bundle`: verifications per second with one verifier reused.
pub fn bench(args: &crate::cli::BenchBundleArgs) -> CliResult {
    let verify = &args.verify;
    let signer = signer(verify)?;
    let subject = Subject::from_argument(&verify.artifact).map_err(CliError::invalid)?;
    let path = verify.bundle.display().to_string();
    let json = std::fs::read_to_string(&verify.bundle)
        .map_err(|err| CliError::invalid(anyhow!("cannot read bundle {path}: {err}")))?;
    let started = std::time::Instant::now();
    let verifier = BundleVerifier::new(verify.trusted_root.as_deref()).map_err(CliError::invalid)?;
    let build_us = started.elapsed().as_secs_f64() * 1e6;
    let mut samples = Vec::with_capacity(args.iterations);
    for _ in 0..args.iterations.max(1) {
        let started = std::time::Instant::now();
        let outcome = verifier.verify(&path, &json, &subject, &signer).map_err(CliError::invalid)?;
        samples.push(started.elapsed().as_secs_f64() * 1e6);
        if let Err(reason) = outcome {
            return Err(CliError::invalid(anyhow!("the bundle does not verify: {reason}")));
        }
    }
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    let mean = samples.iter().sum::<f64>() / samples.len() as f64;
    crate::render::print_json(&json!({
        "iterations": samples.len(),
        "verifier_build_us": build_us,
        "median_us": at(0.5),
        "p99_us": at(0.99),
        "mean_us": mean,
        "verifications_per_second": 1e6 / mean,
    }))?;
    Ok(ExitStatus::Ok)
}

fn bundle(args: &VerifyBundleArgs) -> CliResult {
    let signer = signer(args)?;
    let subject = Subject::from_argument(&args.artifact).map_err(CliError::invalid)?;
    let path = args.bundle.display().to_string();
    let json = std::fs::read_to_string(&args.bundle)
        .map_err(|err| CliError::invalid(anyhow!("cannot read bundle {path}: {err}")))?;
    let verifier = BundleVerifier::new(args.trusted_root.as_deref()).map_err(CliError::invalid)?;
    // A bundle that is not a bundle, or not of a known version, is not verified (exit 1), like any
    // other failure of the thing being checked; only the caller's own arguments are exit 2.
    let outcome = match verifier.verify(&path, &json, &subject, &signer) {
        Ok(outcome) => outcome,
        Err(verdict_sigstore::SigstoreError::Bundle { message, .. }) => {
            Err(format!("invalid bundle: {message}"))
        }
        Err(other) => return Err(CliError::invalid(other)),
    };
    match (&outcome, args.output) {
        (Ok(verified), EvalOutput::Json) => {
            crate::render::print_json(&json!({"verified": true, "details": verified}))?
        }
        (Err(reason), EvalOutput::Json) => {
            crate::render::print_json(&json!({"verified": false, "reason": reason}))?
        }
        (Ok(verified), EvalOutput::Table) => {
            let who = match (&verified.identity, &verified.issuer) {
                (Some(identity), Some(issuer)) => format!("{identity} (issuer {issuer})"),
                _ => "the given key".to_owned(),
            };
            anstream::println!("VERIFIED: {} signed by {who}", args.artifact);
            if let Some(time) = &verified.integrated_time {
                anstream::println!("  transparency log time: {time}");
            }
        }
        (Err(reason), EvalOutput::Table) => anstream::println!("NOT VERIFIED: {reason}"),
    }
    Ok(if outcome.is_ok() { ExitStatus::Ok } else { ExitStatus::Denied })
}
