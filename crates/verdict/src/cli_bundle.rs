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
    /// Check a bundle (a file, or `oci://REF` in a registry) against its manifest and list its sources,
    /// their origins and files.
    Inspect(BundleInspectArgs),
    /// Push a bundle file to an OCI registry as an artifact (its own artifactType; any OCI 1.1 registry,
    /// with or without the referrers API); prints the manifest digest that pins it.
    Push(BundlePushArgs),
    /// Pull a bundle (`REF:tag` or `REF@sha256:…`) once its signatures pass `--bundle-policy` (or with
    /// `--insecure-unsigned`), check every digest down to each file, and unpack it into a directory (or
    /// save the bundle file).
    Pull(BundlePullArgs),
    /// Sign a pushed bundle with a key, as cosign signs an image: a Sigstore bundle attached as an OCI
    /// referrer (or cosign 2's `.sig` tag with `--legacy-tag`).
    Sign(BundleSignArgs),
    /// Check a pushed bundle's signatures against `--bundle-policy`: exit 0 trusted, 1 not (every reason).
    Verify(BundleVerifyArgs),
}

/// Arguments of `verdict bundle sign`.
#[derive(Debug, Args)]
pub struct BundleSignArgs {
    /// The pushed bundle: `registry/repository:tag` or `…@sha256:…`.
    #[arg(value_name = "REF")]
    pub reference: String,
    /// The private key, ECDSA P-256: PKCS#8 PEM, or cosign's encrypted key (`cosign generate-key-pair`)
    /// with its password in COSIGN_PASSWORD.
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// Write cosign 2's simple-signing manifest under the `sha256-HEX.sig` tag instead of a Sigstore
    /// bundle referrer (for cosign 2.x, which does not read referrers).
    #[arg(long)]
    pub legacy_tag: bool,
    #[command(flatten)]
    pub registry: BundleRegistryArgs,
}

/// Arguments of `verdict bundle verify`.
#[derive(Debug, Args)]
pub struct BundleVerifyArgs {
    /// The pushed bundle.
    #[arg(value_name = "REF")]
    pub reference: String,
    #[command(flatten)]
    pub registry: BundleRegistryArgs,
}

/// Registry credentials for `bundle push|pull|inspect`.
#[derive(Debug, Clone, Args)]
pub struct BundleRegistryArgs {
    /// User name for the registry (anonymous without it).
    #[arg(long, env = "VERDICT_REGISTRY_USERNAME", requires = "registry_password")]
    pub registry_username: Option<String>,
    /// Password or token for the registry.
    #[arg(long, env = "VERDICT_REGISTRY_PASSWORD", hide_env_values = true, requires = "registry_username")]
    pub registry_password: Option<String>,
}

/// Arguments of `verdict bundle push`.
#[derive(Debug, Args)]
pub struct BundlePushArgs {
    /// The bundle file (from `bundle build`).
    #[arg(value_name = "FILE")]
    pub bundle: PathBuf,
    /// Where to push it: `registry/repository:tag` (an `oci://` prefix is accepted).
    #[arg(value_name = "REF")]
    pub reference: String,
    #[command(flatten)]
    pub registry: BundleRegistryArgs,
    /// text: the pinned reference; json: reference, manifest digest and bundle digest.
    #[arg(long, value_enum, default_value_t = ValidateOutput::Text)]
    pub format: ValidateOutput,
}

/// Arguments of `verdict bundle pull`.
#[derive(Debug, Args)]
pub struct BundlePullArgs {
    /// `registry/repository:tag` or `…@sha256:DIGEST` (an `oci://` prefix is accepted).
    #[arg(value_name = "REF")]
    pub reference: String,
    /// Unpack into this directory: `manifest.json` and `SOURCE/PATH` for every file (it must not exist
    /// or be empty).
    #[arg(short = 'o', long = "output-dir", value_name = "DIR", required_unless_present = "file")]
    pub output_dir: Option<PathBuf>,
    /// Save the bundle file here instead of (or as well as) unpacking it.
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    #[command(flatten)]
    pub registry: BundleRegistryArgs,
    /// text: what was pulled; json: reference, digests and manifest.
    #[arg(long, value_enum, default_value_t = ValidateOutput::Text)]
    pub format: ValidateOutput,
}

/// Arguments of `verdict bundle build`.
#[derive(Debug, Args)]
pub struct BundleBuildArgs {
    /// A source: `NAME=DIR` (repeatable). NAME files it in the bundle (`security/pod.yaml`); a DIR inside
    /// a git checkout records the remote and commit, read without a `git` binary. `NAME=oci://REF` or
    /// `NAME=FILE.tar` takes another bundle whole (`NAME/ITS-SOURCE/PATH`), its signatures checked
    /// against `--bundle-policy` and its sources' origins kept.
    #[arg(long = "source", value_name = "NAME=DIR|BUNDLE", required = true, value_parser = parse_source)]
    pub sources: Vec<(String, PathBuf)>,
    /// Where to write the bundle.
    #[arg(short = 'o', long = "output-file", value_name = "FILE", required_unless_present = "push")]
    pub output_file: Option<PathBuf>,
    /// Push the bundle to this registry reference (`registry/repository:tag`) once built.
    #[arg(long, value_name = "REF")]
    pub push: Option<String>,
    #[command(flatten)]
    pub registry: BundleRegistryArgs,
    /// Do not run the bundle's Rego tests and `kyverno test` suites.
    #[arg(long)]
    pub skip_tests: bool,
    /// The default mode of an enforcement point using the bundle: `local=warn`, `ci=enforce`,
    /// `admission=enforce` (repeatable; modes audit, warn, enforce). A command's own `--mode` wins.
    #[arg(long = "mode", value_name = "POINT=MODE", value_parser = crate::cli::parse_key_value)]
    pub modes: Vec<(String, String)>,
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
    /// The bundle: a file, or `oci://REF` in a registry.
    #[arg(value_name = "FILE|oci://REF")]
    pub bundle: String,
    #[command(flatten)]
    pub registry: BundleRegistryArgs,
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
