//! `verdict verify image`: an image's signatures and attestations, fetched from its registry, judged by
//! an image policy. Exit 0 satisfied, 1 not (with every reason), 2 bad policy or arguments, 3 registry
//! unreachable, failing or too slow — never success.

use anyhow::anyhow;
use serde_json::json;
use verdict_core::ExitStatus;
use verdict_imagepolicy::{ImageReference, load_image_policy};
use verdict_images::{Credentials, FetchOptions, ImageError, credentials_for, verify_image};
use verdict_rego::Limits;
use verdict_sigstore::BundleVerifier;

use super::ledger::runtime;
use crate::cli::EvalOutput;
use crate::cli_env::VerifyImageArgs;
use crate::error::{CliError, CliResult};

fn credentials(args: &VerifyImageArgs, registry: &str) -> Result<Credentials, CliError> {
    if let (Some(username), Some(password)) = (&args.registry_username, &args.registry_password) {
        return Ok(Credentials::Basic { username: username.clone(), password: password.clone() });
    }
    if let Some(token) = &args.registry_token {
        return Ok(Credentials::Bearer(token.clone()));
    }
    credentials_for(registry, args.docker_config.as_deref())
        .map_err(|err| CliError::invalid(anyhow!("{err}")))
}

/// Runs `verify image`.
pub fn run(args: &VerifyImageArgs) -> CliResult {
    let file = args.policy.display().to_string();
    let source = std::fs::read_to_string(&args.policy)
        .map_err(|err| CliError::invalid(anyhow!("cannot read --policy {file}: {err}")))?;
    let policy = load_image_policy(&file, &source).map_err(|diagnostics| {
        let rendered: Vec<String> = diagnostics.iter().map(|d| d.render(&source)).collect();
        CliError::invalid(anyhow!("the image policy does not load:\n{}", rendered.join("\n")))
    })?;
    let image = ImageReference::parse(&args.image).map_err(CliError::invalid)?;
    let verifier = BundleVerifier::new(args.trusted_root.as_deref()).map_err(CliError::invalid)?;
    let options = FetchOptions {
        credentials: credentials(args, &image.registry)?,
        request_timeout: args.timeout,
        budget: args.budget,
    };
    let outcome = runtime()?.block_on(verify_image(&image, &policy, &verifier, &options, &Limits::default()));
    let (decision, fetched) = match outcome {
        Ok(result) => result,
        Err(ImageError::InvalidReference(message)) => return Err(CliError::invalid(anyhow!("{message}"))),
        Err(err @ ImageError::Unavailable { .. }) => {
            if args.output == EvalOutput::Json {
                crate::render::print_json(
                    &json!({"image": args.image, "allowed": false, "reasons": [err.to_string()]}),
                )?;
            }
            return Err(CliError::unavailable(anyhow!("{err} (not verified)")));
        }
        Err(err) => {
            // No such image, or content that does not match its digest: not verified.
            if args.output == EvalOutput::Json {
                crate::render::print_json(
                    &json!({"image": args.image, "allowed": false, "reasons": [err.to_string()]}),
                )?;
            } else {
                anstream::println!("NOT VERIFIED: {err}");
            }
            return Ok(ExitStatus::Denied);
        }
    };
    match args.output {
        EvalOutput::Json => {
            let mut value =
                serde_json::to_value(&decision).map_err(|err| CliError::invalid(anyhow!("{err}")))?;
            let signatures: Vec<_> = fetched
                .signatures
                .iter()
                .map(|c| json!({"origin": c.origin, "log_index": c.log_index, "refused": c.refuse}))
                .collect();
            let attestations: Vec<_> = fetched
                .attestations
                .iter()
                .map(|a| {
                    json!({
                        "origin": a.envelope.origin,
                        "predicateType": a.predicate_type,
                        "subject_digests": a.subject_digests,
                        "subject_matches_image": a.subject_digests.contains(&fetched.digest),
                        "log_index": a.envelope.log_index,
                    })
                })
                .collect();
            value["signatures_found"] = json!(signatures);
            value["attestations_found"] = json!(attestations);
            value["skipped"] = json!(fetched.skipped);
            if let Some(bundle) = crate::policy_sources::provenance_of(&args.policy) {
                value["bundle"] = json!(bundle);
            }
            crate::render::print_json(&value)?;
        }
        EvalOutput::Table => {
            let verdict = if decision.allowed { "VERIFIED" } else { "NOT VERIFIED" };
            anstream::println!("{verdict}: {} ({})", decision.image, decision.digest);
            for rule in &decision.rules {
                anstream::println!(
                    "  rule {}: {}",
                    rule.rule,
                    if rule.satisfied { "satisfied" } else { "not satisfied" }
                );
                if let Some(signatures) = &rule.signatures {
                    for signer in &signatures.satisfied {
                        let who = match (&signer.identity, &signer.issuer) {
                            (Some(identity), Some(issuer)) => format!("{identity} (issuer {issuer})"),
                            _ => signer.attestor.clone(),
                        };
                        anstream::println!("    signed by {who}");
                    }
                }
                for attestation in rule.attestations.iter().filter(|a| a.satisfied) {
                    anstream::println!(
                        "    attestation {} ({}) verified",
                        attestation.name,
                        attestation.predicate_type
                    );
                }
            }
            for reason in &decision.reasons {
                anstream::println!("  - {reason}");
            }
            for skipped in &fetched.skipped {
                anstream::println!("  (skipped {skipped})");
            }
            if let Some(bundle) = crate::policy_sources::provenance_of(&args.policy) {
                anstream::println!("  policy from {}", crate::policy_sources::describe(&bundle));
            }
        }
    }
    Ok(if decision.allowed { ExitStatus::Ok } else { ExitStatus::Denied })
}
