//! `verdict fingerprint`: an artifact's SHA-256, computed as Kosli computes it.

use std::path::Path;

use anyhow::anyhow;
use verdict_core::ExitStatus;
use verdict_evidence::{OciError, RegistryCredentials, dir_fingerprint, file_fingerprint, oci_fingerprint};

use crate::cli::{ArtifactType, FingerprintArgs, RegistryArgs};
use crate::error::{CliError, CliResult};

/// Prints the fingerprint alone on stdout, so `$(verdict fingerprint …)` can be used in scripts; with
/// `-o json`, an object saying what was fingerprinted and how.
pub fn run(args: &FingerprintArgs) -> CliResult {
    let digest = fingerprint(&args.path, args.artifact_type, &args.excludes, &args.registry)?;
    match args.output {
        crate::cli::ValidateOutput::Text => anstream::println!("{digest}"),
        crate::cli::ValidateOutput::Json => crate::render::print_json(&serde_json::json!({
            "fingerprint": digest,
            "artifact_type": format!("{:?}", args.artifact_type).to_lowercase(),
            "artifact": args.path.to_string_lossy(),
            "excludes": args.excludes,
        }))?,
    }
    Ok(ExitStatus::Ok)
}

/// The fingerprint of `path` as an artifact of `kind` (for oci, `path` is the image reference).
pub fn fingerprint(
    path: &Path,
    kind: ArtifactType,
    excludes: &[String],
    registry: &RegistryArgs,
) -> Result<String, CliError> {
    if !excludes.is_empty() && kind != ArtifactType::Dir {
        return Err(CliError::invalid(anyhow!("--exclude applies to --artifact-type dir only")));
    }
    match kind {
        ArtifactType::File => file_fingerprint(path).map_err(CliError::invalid),
        ArtifactType::Dir => dir_fingerprint(path, excludes).map_err(CliError::invalid),
        ArtifactType::Docker => {
            use verdict_evidence::docker_engine::{DigestSource, DockerEngine, DockerError};
            let reference = path.to_string_lossy();
            let engine = DockerEngine::new(registry.docker_host.as_deref()).map_err(CliError::invalid)?;
            let digest = super::ledger::runtime()?.block_on(engine.image_digest(&reference)).map_err(
                |err| match err {
                    DockerError::Invalid(_) => CliError::invalid(err),
                    DockerError::Unavailable { .. } => CliError::unavailable(err),
                },
            )?;
            if digest.source == DigestSource::ImageId {
                tracing::warn!(
                    "image {reference} has no repository digest (never pushed or pulled): its fingerprint is its image ID, which differs from the registry digest `-t oci` gives once it is pushed"
                );
            }
            Ok(digest.fingerprint)
        }
        ArtifactType::Oci => {
            let credentials = match (&registry.registry_username, &registry.registry_password) {
                (Some(username), Some(password)) => {
                    Some(RegistryCredentials { username: username.clone(), password: password.clone() })
                }
                _ => None,
            };
            let reference = path.to_string_lossy();
            super::ledger::runtime()?.block_on(oci_fingerprint(&reference, credentials.as_ref())).map_err(
                |err| match err {
                    OciError::InvalidReference { .. }
                    | OciError::NotFound { .. }
                    | OciError::Unauthorized { .. } => CliError::invalid(err),
                    OciError::Unavailable { .. }
                    | OciError::DigestMismatch { .. }
                    | OciError::Tampered { .. } => CliError::unavailable(err),
                },
            )
        }
    }
}

/// The full fingerprint a `--fingerprint` value names: all 64 hex digits as given (no ledger needed, so
/// a dry run or a first report works offline), or a unique prefix of at least 12 resolved against the
/// ledger, as git resolves abbreviated commits.
pub fn resolve(text: &str, options: &crate::cli::LedgerOptions) -> Result<String, CliError> {
    let text = text.trim();
    if text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Ok(text.to_owned());
    }
    super::ledger::with_ledger(options, async |ledger| {
        verdict_enforce::resolve_fingerprint(ledger, &options.org, text).await
    })
}

/// Resolves an optional `--fingerprint` (see [`resolve`]).
pub fn resolve_optional(
    text: Option<String>,
    options: &crate::cli::LedgerOptions,
) -> Result<Option<String>, CliError> {
    text.map(|text| resolve(&text, options)).transpose()
}

/// The fingerprint an evidence command was given: `--fingerprint`, or PATH fingerprinted as
/// `--artifact-type` says.
pub fn given_fingerprint(
    fingerprint: Option<&String>,
    path: Option<&Path>,
    kind: Option<ArtifactType>,
    excludes: &[String],
    registry: &RegistryArgs,
    options: &crate::cli::LedgerOptions,
) -> Result<String, CliError> {
    match (fingerprint, path, kind) {
        (Some(fingerprint), _, _) => resolve(fingerprint, options),
        (None, Some(path), Some(kind)) => self::fingerprint(path, kind, excludes, registry),
        _ => {
            Err(CliError::invalid(anyhow!("give the artifact's PATH with --artifact-type, or --fingerprint")))
        }
    }
}
