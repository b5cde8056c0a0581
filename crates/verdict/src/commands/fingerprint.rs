//! `verdict fingerprint`: an artifact's SHA-256, computed as Kosli computes it.

use verdict_core::ExitStatus;
use verdict_evidence::{dir_fingerprint, file_fingerprint};

use crate::cli::{ArtifactType, FingerprintArgs};
use crate::error::{CliError, CliResult};

/// Prints the fingerprint alone on stdout, so `$(verdict fingerprint …)` can be used in scripts.
pub fn run(args: &FingerprintArgs) -> CliResult {
    let digest = match args.artifact_type {
        ArtifactType::File => {
            if !args.excludes.is_empty() {
                return Err(CliError::invalid(anyhow::anyhow!(
                    "--exclude applies to --artifact-type dir only"
                )));
            }
            file_fingerprint(&args.path)
        }
        ArtifactType::Dir => dir_fingerprint(&args.path, &args.excludes),
    }
    .map_err(CliError::invalid)?;
    anstream::println!("{digest}");
    Ok(ExitStatus::Ok)
}
