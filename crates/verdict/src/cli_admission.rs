//! Command-line arguments of `verdict admission`, kept apart from `commands::admission`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use crate::cli::{EvalOutput, parse_duration, parse_size};

/// `verdict admission …`
#[derive(Debug, Subcommand)]
pub enum AdmissionCommand {
    /// Serve the validating admission webhook (POST /validate; /healthz, /readyz) over HTTPS.
    Serve(AdmissionServeArgs),
    /// Check an AdmissionConfig file (every problem with file:line:column); exit 0 valid, 2 not.
    Validate(AdmissionValidateArgs),
    /// Judge the decisions a webhook recorded in the ledger (--db/--host, --org) again with a candidate
    /// configuration, and list what enforce would block: exit 0 nothing, 1 something.
    Replay(AdmissionReplayArgs),
    /// Print the Kubernetes objects that run the webhook (the kustomize base in deploy/kubernetes):
    /// Namespace, ServiceAccount, ConfigMap, Service, Deployment, PodDisruptionBudget,
    /// ValidatingWebhookConfiguration.
    Manifests(AdmissionManifestsArgs),
    /// Decide one AdmissionReview file offline, exactly as the webhook would, and print the answer.
    /// Exit 0 admitted, 1 denied, 2 not a valid review or bad flags.
    Review(AdmissionReviewArgs),
}

/// What the webhook does with a failed evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// Allow silently (the decision is still logged).
    Audit,
    /// Allow, with the reasons as warnings kubectl prints.
    Warn,
    /// Deny with every reason.
    Enforce,
}

/// Arguments of `verdict admission replay`.
#[derive(Debug, Args)]
pub struct AdmissionReplayArgs {
    /// How far back (e.g. 7d, 12h).
    #[arg(long, value_parser = parse_duration, default_value = "7d")]
    pub since: std::time::Duration,
    /// The candidate configuration. Decisions are read from --db/--host; the candidate's own
    /// `ledger.environment`, when set, is checked as the webhook would (on the ledger it names).
    #[command(flatten)]
    pub judge: JudgeArgs,
    /// Accept a window with no recorded decisions (exit 0) instead of refusing it: nothing replayed is
    /// not evidence that enforcing is safe.
    #[arg(long)]
    pub allow_empty: bool,
    /// table: what would be blocked; json: every replayed decision.
    #[arg(short, long, value_enum, default_value_t = EvalOutput::Table)]
    pub output: EvalOutput,
}

/// Arguments of `verdict admission manifests`.
#[derive(Debug, Args)]
pub struct AdmissionManifestsArgs {
    /// The namespace the webhook runs in (also exempt from it, so the cluster cannot lock itself out).
    #[arg(long, default_value = "verdict-system")]
    pub namespace: String,
}

/// Arguments of `verdict admission validate`.
#[derive(Debug, Args)]
pub struct AdmissionValidateArgs {
    /// The AdmissionConfig file.
    pub config: PathBuf,
}

/// How images are judged: an AdmissionConfig file, or the same settings as flags.
#[derive(Debug, Clone, Args)]
pub struct JudgeArgs {
    /// The AdmissionConfig file (docs/admission.md): policies, trust root, mode, budget, exempt
    /// namespaces, registry access, cache. Instead of the flags below.
    #[arg(long, value_name = "FILE", required_unless_present = "policy", conflicts_with_all = ["policy", "trusted_root", "docker_config", "mode", "budget", "registry_timeout", "exempt_namespaces"])]
    pub config: Option<PathBuf>,
    /// The image policy (YAML; see docs/image-policy.md). An image no rule matches is denied unless the
    /// policy says `noMatch: allow`.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Sigstore's trusted_root.json (default: the production root embedded in verdict).
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,
    /// Docker's config.json with registry credentials (default: $DOCKER_CONFIG/config.json, else
    /// ~/.docker/config.json; anonymous without one).
    #[arg(long, value_name = "FILE")]
    pub docker_config: Option<PathBuf>,
    /// audit, warn or enforce (default: the `admission` mode of the bundle the policy came from, else
    /// enforce).
    #[arg(long, value_enum)]
    pub mode: Option<ModeArg>,
    /// Answer within this, below the API server's timeoutSeconds: images not verified by then fail.
    #[arg(long, value_parser = parse_duration, default_value = "8s")]
    pub budget: std::time::Duration,
    /// Time limit of each registry request.
    #[arg(long, value_parser = parse_duration, default_value = "5s")]
    pub registry_timeout: std::time::Duration,
    /// Namespaces admitted without evaluation (comma-separated or repeated).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "kube-system,kube-public,kube-node-lease,verdict-system"
    )]
    pub exempt_namespaces: Vec<String>,
}

/// Arguments of `verdict admission serve`.
#[derive(Debug, Args)]
pub struct AdmissionServeArgs {
    #[command(flatten)]
    pub judge: JudgeArgs,
    /// Address to listen on (port 0 picks a free port; the first stdout line says which).
    #[arg(long, default_value = "0.0.0.0:8443")]
    pub listen: SocketAddr,
    /// The serving certificate (PEM chain); reloaded when the file changes.
    #[arg(long, value_name = "FILE", requires = "tls_key", required_unless_present = "insecure_http")]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP (local testing only: the API server calls webhooks over HTTPS).
    #[arg(long, conflicts_with_all = ["tls_cert", "tls_key"])]
    pub insecure_http: bool,
    /// The largest AdmissionReview accepted.
    #[arg(long, value_parser = parse_size, default_value = "3MiB")]
    pub max_body_bytes: u64,
    /// Print the effective configuration (JSON) and exit without serving.
    #[arg(long)]
    pub print_config: bool,
    /// Do not reload the configuration, policies, trust root and registry credentials when their files
    /// change (by default they are re-read every 2 seconds; one that does not load keeps the running one).
    #[arg(long)]
    pub no_reload: bool,
    /// With `--config oci://REF:TAG#PATH`: how often to ask the registry for a new bundle behind the tag.
    /// A new digest is verified (`--bundle-policy`) and loaded before it is switched to, atomically; one
    /// that fails either keeps the running bundle. 0 never asks.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = crate::cli::parse_duration)]
    pub bundle_poll: std::time::Duration,
}

/// Arguments of `verdict admission review`.
#[derive(Debug, Args)]
pub struct AdmissionReviewArgs {
    /// The AdmissionReview (JSON); `-` reads stdin.
    pub review: PathBuf,
    #[command(flatten)]
    pub judge: JudgeArgs,
    /// table: the outcome per image; json: the decision and the AdmissionReview answer.
    #[arg(short, long, value_enum, default_value_t = EvalOutput::Table)]
    pub output: EvalOutput,
}
