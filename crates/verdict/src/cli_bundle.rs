//! Arguments of `verdict bundle …`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::cli::ValidateOutput;

/// `verdict bundle …`
#[derive(Debug, Subcommand)]
pub enum BundleCommand {
    /// Build a policy bundle from named sources: every policy validated, the bundle's own tests run,
    /// packed reproducibly (the same inputs give the same bytes) with a manifest of origins and digests.
    Build(BundleBuildArgs),
    /// Check a bundle file against its manifest and list its sources, their origins and files.
    Inspect(BundleInspectArgs),
}

/// Arguments of `verdict bundle build`.
#[derive(Debug, Args)]
pub struct BundleBuildArgs {
    /// A source: `NAME=DIR` (repeatable). NAME files it in the bundle (`security/pod.yaml`); a DIR inside
    /// a git checkout records the remote and commit, read without a `git` binary.
    #[arg(long = "source", value_name = "NAME=DIR", required = true, value_parser = parse_source)]
    pub sources: Vec<(String, PathBuf)>,
    /// Where to write the bundle.
    #[arg(short = 'o', long = "output-file", value_name = "FILE")]
    pub output_file: PathBuf,
    /// Do not run the bundle's Rego tests and `kyverno test` suites.
    #[arg(long)]
    pub skip_tests: bool,
    /// The budget of each Rego test.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = crate::cli::parse_duration)]
    pub test_timeout: std::time::Duration,
    /// text: a summary; json: the digest, the manifest and the test count (or every problem).
    #[arg(long, value_enum, default_value_t = ValidateOutput::Text)]
    pub format: ValidateOutput,
}

/// Arguments of `verdict bundle inspect`.
#[derive(Debug, Args)]
pub struct BundleInspectArgs {
    /// The bundle file.
    #[arg(value_name = "FILE")]
    pub bundle: PathBuf,
    /// text: sources, origins and files; json: the digest and the manifest.
    #[arg(long, value_enum, default_value_t = ValidateOutput::Text)]
    pub format: ValidateOutput,
}

/// Parses `NAME=DIR`.
fn parse_source(text: &str) -> Result<(String, PathBuf), String> {
    match text.split_once('=') {
        Some((name, dir)) if !name.is_empty() && !dir.is_empty() => Ok((name.to_owned(), PathBuf::from(dir))),
        _ => Err(format!("`{text}` is not NAME=DIR (e.g. security=../security-policy)")),
    }
}
