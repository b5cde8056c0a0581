//! Command-line arguments, kept apart from the logic that acts on them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// verdict: policy-as-code compliance for local, CI and admission.
#[derive(Debug, Parser)]
#[command(name = "verdict", version = crate::build_info::VERSION, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug, -vvv trace); VERDICT_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count, help_heading = GLOBAL)]
    pub verbose: u8,

    /// Print nothing on success except what was asked for (`-o json`, a fingerprint); errors, warnings
    /// and denials still print.
    #[arg(short, long, global = true, help_heading = GLOBAL)]
    pub quiet: bool,

    /// Where the evidence ledger is.
    #[command(flatten)]
    pub ledger: LedgerOptions,

    /// Which signatures a policy bundle from a registry needs.
    #[command(flatten)]
    pub bundle_trust: BundleTrust,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The help heading of the options every command takes, kept apart from each command's own.
pub const GLOBAL: &str = "Global options";

/// Which signatures a bundle from a registry needs before any policy in it is used (`oci://REF` in any
/// policy argument, `bundle pull`, `bundle verify`).
#[derive(Debug, Clone, Args)]
pub struct BundleTrust {
    /// The bundle policy: an image policy (docs/image-policy.md) whose rules name the bundle repositories
    /// and the keys or keyless identities that must have signed them.
    #[arg(long, global = true, value_name = "FILE", help_heading = GLOBAL)]
    pub bundle_policy: Option<PathBuf>,
    /// Use bundles from registries without checking their signatures (a warning says so).
    #[arg(long, global = true, conflicts_with = "bundle_policy", help_heading = GLOBAL)]
    pub insecure_unsigned: bool,
    /// Sigstore's trusted_root.json for keyless bundle signatures (default: the embedded production root).
    #[arg(long = "bundle-trusted-root", global = true, value_name = "FILE", help_heading = GLOBAL)]
    pub trusted_root: Option<PathBuf>,
}

/// The ledger every evidence command uses.
///
/// Their environment variables are read after parsing ([`LedgerOptions::fill_from_env`]), not by clap:
/// clap counts a value from the environment as typed, and shows `--db <URL|PATH>` in the usage line of
/// every error as if the user had to give it.
#[derive(Debug, Clone, Args)]
pub struct LedgerOptions {
    /// The ledger: a file path (SQLite), a sqlite:// URL or a postgres:// URL. Default: ledger.db in
    /// verdict's data directory ($XDG_DATA_HOME/verdict or ~/.local/share/verdict). [env: VERDICT_DB]
    #[arg(long, global = true, value_name = "URL|PATH", help_heading = GLOBAL)]
    pub db: Option<String>,

    /// The organisation whose evidence is read and written. [env: VERDICT_ORG] [default: default]
    #[arg(long = "org", id = "org", global = true, value_name = "ORG", help_heading = GLOBAL)]
    pub org_flag: Option<String>,

    /// The organisation (from --org, else VERDICT_ORG, else `default`); set by `fill_from_env`.
    #[arg(skip)]
    pub org: String,

    /// A `verdict server` to use instead of a local ledger (http:// or https:// URL). [env: VERDICT_HOST]
    #[arg(long, global = true, value_name = "URL", help_heading = GLOBAL)]
    pub host: Option<String>,

    /// The API token for --host (created with `verdict server token create`). [env: VERDICT_API_TOKEN]
    #[arg(long, global = true, value_name = "TOKEN", help_heading = GLOBAL)]
    pub api_token: Option<String>,

    /// Print what a write would record and send nothing. [env: VERDICT_DRY_RUN]
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub dry_run: bool,

    /// Whether this command records something, and so may create a missing embedded ledger (set from
    /// the command, not a flag): a read on a mistyped `--db` must not silently create an empty ledger.
    #[arg(skip)]
    pub may_create: bool,
}

impl LedgerOptions {
    /// Fills every option not given on the command line from its environment variable. A variable set to
    /// the empty string counts as unset, as in Kosli's CLI: CI systems set undefined variables to ""
    /// (`VERDICT_HOST=` must not mean a server at "").
    pub fn fill_from_env(&mut self, env: impl Fn(&str) -> Option<String>) {
        let env = |name: &str| env(name).filter(|value| !value.is_empty());
        self.db = self.db.take().or_else(|| env("VERDICT_DB"));
        self.host = self.host.take().or_else(|| env("VERDICT_HOST"));
        self.api_token = self.api_token.take().or_else(|| env("VERDICT_API_TOKEN"));
        self.org =
            self.org_flag.clone().or_else(|| env("VERDICT_ORG")).unwrap_or_else(|| "default".to_owned());
        // clap's reading of a boolean variable: anything but a "no" word turns the flag on.
        self.dry_run |= env("VERDICT_DRY_RUN").is_some_and(|value| {
            !matches!(value.trim().to_ascii_lowercase().as_str(), "0" | "n" | "no" | "f" | "false" | "off")
        });
    }
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate and evaluate environment policies.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Evaluate Rego policies (Kosli's `evaluate` contract).
    #[command(subcommand)]
    Evaluate(EvaluateCommand),
    /// Inspect the evidence ledger.
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// Record a flow, an environment, an environment policy or a custom attestation type.
    #[command(subcommand)]
    Create(CreateCommand),
    /// Begin a trail.
    #[command(subcommand)]
    Begin(BeginCommand),
    /// Record evidence in a trail.
    #[command(subcommand)]
    Attest(AttestCommand),
    /// List flows, trails, artifacts, environments, policies or snapshots.
    #[command(subcommand)]
    List(ListCommand),
    /// Show one trail, flow, environment, policy or snapshot.
    #[command(subcommand)]
    Get(GetCommand),
    /// Find every flow, trail, artifact and environment that mentions a fingerprint or commit (a prefix
    /// of 4+ hex digits is enough), like `kosli search`.
    Search(SearchArgs),
    /// Change a flow's or an environment's tags (each change is a ledger entry).
    #[command(subcommand)]
    Tag(TagCommand),
    /// Archive a flow or an environment: hidden from lists, kept in the ledger, refused as the target of
    /// new evidence (recording it again with `create` restores it).
    #[command(subcommand)]
    Archive(ArchiveCommand),
    /// Record a realistic flow in a ledger (a temporary one unless --db is given), evaluate a Rego policy
    /// over its trails, and explain every step.
    Demo,
    /// Report what runs in an environment.
    #[command(subcommand)]
    Snapshot(crate::cli_env::SnapshotCommand),
    /// Compare snapshots.
    #[command(subcommand)]
    Diff(crate::cli_env::DiffCommand),
    /// Show an environment's history.
    #[command(subcommand)]
    Log(crate::cli_env::LogCommand),
    /// Attach an environment policy to environments (their latest snapshots are re-evaluated).
    AttachPolicy(crate::cli_env::AttachPolicyArgs),
    /// Detach an environment policy from environments (their latest snapshots are re-evaluated).
    DetachPolicy(crate::cli_env::AttachPolicyArgs),
    /// Decide whether an artifact may run, or whether an environment is compliant (exit 0 / 1).
    #[command(subcommand)]
    Assert(crate::cli_env::AssertCommand),
    /// Allow-list a third-party artifact in an environment.
    #[command(subcommand)]
    Allow(crate::cli_env::AllowCommand),
    /// Verify signatures (Sigstore bundles) offline against a trusted root.
    #[command(subcommand)]
    Verify(crate::cli_env::VerifyCommand),
    /// Serve the ledger over HTTP (REST API under /api/v1) for CI jobs to share; manage its API tokens.
    Server(ServerArgs),
    /// Print an artifact's SHA-256 fingerprint (Kosli's algorithm), alone on stdout.
    Fingerprint(FingerprintArgs),
    /// The Kubernetes admission webhook: serve it, or decide one AdmissionReview offline.
    #[command(subcommand)]
    Admission(crate::cli_admission::AdmissionCommand),
    /// Apply Kyverno policies to resource manifests, as the cluster would (exit 1 when an enforced
    /// rule fails).
    Apply(crate::cli_kyverno::ApplyArgs),
    /// Run `kyverno test` suites (kyverno-test.yaml files) and check every expected result.
    Test(crate::cli_kyverno::TestArgs),
    /// Policy bundles: every policy from several sources, validated, tested, packed reproducibly.
    #[command(subcommand)]
    Bundle(crate::cli_bundle::BundleCommand),
    /// Print a shell completion script (`verdict completions bash > /etc/bash_completion.d/verdict`).
    Completions(CompletionsArgs),
    /// Measure evaluation speed in-process (for docs/benchmarks.md); hidden from the main help.
    #[command(subcommand, hide = true)]
    Bench(BenchCommand),
}

impl Command {
    /// Whether the command records something in the ledger (and so may create a missing embedded one).
    pub fn records(&self) -> bool {
        match self {
            Command::Create(_)
            | Command::Begin(_)
            | Command::Attest(_)
            | Command::Snapshot(_)
            | Command::AttachPolicy(_)
            | Command::DetachPolicy(_)
            | Command::Allow(_)
            | Command::Tag(_)
            | Command::Archive(_)
            | Command::Demo
            | Command::Server(_)
            | Command::Bench(_) => true,
            Command::Assert(crate::cli_env::AssertCommand::Artifact(args)) => args.record,
            Command::Policy(_)
            | Command::Evaluate(_)
            | Command::Ledger(_)
            | Command::List(_)
            | Command::Get(_)
            | Command::Diff(_)
            | Command::Log(_)
            | Command::Assert(_)
            | Command::Verify(_)
            | Command::Admission(_)
            | Command::Apply(_)
            | Command::Test(_)
            | Command::Fingerprint(_)
            | Command::Completions(_)
            | Command::Bundle(_)
            | Command::Search(_) => false,
        }
    }
}

/// Arguments of `verdict completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Arguments of `verdict bench bundle`.
#[derive(Debug, Args)]
pub struct BenchBundleArgs {
    /// What to verify, as for `verify bundle`.
    #[command(flatten)]
    pub verify: crate::cli_env::VerifyBundleArgs,
    /// Verifications timed.
    #[arg(long, default_value_t = 2000)]
    pub iterations: usize,
}

/// Arguments of `verdict bench snapshot`.
#[derive(Debug, Args)]
pub struct BenchSnapshotArgs {
    /// Running artifacts in the snapshot.
    #[arg(long, default_value_t = 10_000)]
    pub artifacts: usize,
    /// Only build the ledger (with `--db`) and stop before the snapshot, so the report can be timed
    /// again and again on copies of it with `--prepared`.
    #[arg(long, conflicts_with = "prepared")]
    pub setup_only: bool,
    /// `--db` already holds a ledger built by `--setup-only` with the same `--artifacts`: time only the
    /// snapshot report.
    #[arg(long)]
    pub prepared: bool,
}

/// Arguments of `verdict bench server`.
#[derive(Debug, Args)]
pub struct BenchServerArgs {
    /// Concurrent client counts to measure, one run each.
    #[arg(long, value_delimiter = ',', default_value = "1,8,32")]
    pub clients: Vec<usize>,
    /// Attestations recorded per run.
    #[arg(long, default_value_t = 3000)]
    pub attestations: usize,
    /// `get trail` requests timed.
    #[arg(long, default_value_t = 1000)]
    pub reads: usize,
}

/// `verdict bench …`
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Time `evaluate input`'s in-process work (input parsing, then the policy's allow and violations)
    /// over many iterations; prints JSON statistics in microseconds.
    Rego(BenchRegoArgs),
    /// Start an in-process `verdict server` on --db (default: a temporary SQLite file) and measure, over
    /// HTTP: attestations ingested per second with 1, 8 and 32 concurrent clients, and `get trail`
    /// latency for a trail of 100 attestations. Prints JSON.
    Server(BenchServerArgs),
    /// Build a ledger with N artifacts (each in its own trail with 5 attestations) and 3 policies attached
    /// to an environment, then time reporting a snapshot of all N running (store + evaluation). Prints JSON.
    Snapshot(BenchSnapshotArgs),
    /// Time `verify bundle`'s in-process work (the verifier built once, then the bundle parsed and verified
    /// each iteration); prints JSON statistics in microseconds.
    Bundle(BenchBundleArgs),
    /// Time appends to the ledger store (no HTTP) with concurrent writers, then `verify` over the whole
    /// chain; prints JSON. Uses `--db` (make it a fresh database).
    Ledger(BenchLedgerArgs),
    /// Load a running admission webhook (loopback only) with AdmissionReviews at fixed rates, open loop;
    /// report p50/p95/p99 latency and the achieved rate per step.
    Admission(BenchAdmissionArgs),
    /// Apply every Kyverno policy under --policies to generated Pods and Deployments, in-process, the
    /// classic and the CEL ones apart; report the mean cost per rule evaluation and per resource. JSON.
    Apply(BenchApplyArgs),
}

/// Arguments of `verdict bench apply`.
#[derive(Debug, Args)]
pub struct BenchApplyArgs {
    /// A directory of Kyverno policies (searched recursively; files that do not load are skipped and
    /// counted).
    #[arg(long, value_name = "DIR")]
    pub policies: PathBuf,
    /// How many resources to generate (alternately Pods and Deployments, half of them compliant).
    #[arg(long, default_value_t = 1000)]
    pub resources: usize,
    /// Timed passes over every (policy, resource).
    #[arg(long, default_value_t = 3)]
    pub iterations: usize,
    /// Also write the generated resources here (multi-document YAML as JSON), for timing `verdict apply`
    /// as a whole process.
    #[arg(long, value_name = "FILE")]
    pub write_resources: Option<PathBuf>,
}

/// Arguments of `verdict bench admission`.
#[derive(Debug, Args)]
pub struct BenchAdmissionArgs {
    /// The webhook's base URL (`https://127.0.0.1:8443`); only loopback addresses are accepted.
    #[arg(long)]
    pub url: String,
    /// An image the reviews' Deployment runs; repeat to cycle through several (one image: after the
    /// first request every answer is a cache hit, the warm case).
    #[arg(long = "image", value_name = "IMAGE", required = true)]
    pub images: Vec<String>,
    /// Requests per second, one step each (at most 5000).
    #[arg(long, value_delimiter = ',', default_value = "100,500,1000")]
    pub rates: Vec<f64>,
    /// How long each step sends (at most 60).
    #[arg(long, default_value_t = 5.0)]
    pub seconds: f64,
    /// Requests sent at 50/s before the steps, to warm the cache and the connections (not reported).
    #[arg(long, default_value_t = 50)]
    pub warm_up: usize,
    /// Trust this CA certificate (PEM) for an HTTPS webhook, instead of the system roots.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<std::path::PathBuf>,
    /// table: a Markdown table; json: one object per step.
    #[arg(short, long, value_enum, default_value_t = EvalOutput::Table)]
    pub output: EvalOutput,
}

/// Arguments of `verdict bench ledger`.
#[derive(Debug, Args)]
pub struct BenchLedgerArgs {
    /// Attestations to append in total.
    #[arg(long, default_value_t = 10_000)]
    pub appends: usize,
    /// Concurrent writers.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
}

/// Arguments of `verdict bench rego`.
#[derive(Debug, Args)]
pub struct BenchRegoArgs {
    /// The Rego policy.
    #[arg(short, long, value_name = "FILE")]
    pub policy: PathBuf,

    /// The JSON input document.
    #[arg(long, value_name = "FILE")]
    pub input_file: PathBuf,

    /// Policy parameters as inline JSON or @file.
    #[arg(long, value_name = "JSON|@FILE")]
    pub params: Option<String>,

    /// Timed iterations.
    #[arg(long, default_value_t = 1000)]
    pub iterations: usize,

    /// Untimed iterations first.
    #[arg(long, default_value_t = 50)]
    pub warmup: usize,

    /// Also time stock regorus on the same policy and input (prepared engine cloned, input set,
    /// `allow` then `violations`), interleaved with verdict's iterations, and print both.
    #[arg(long)]
    pub compare_stock: bool,

    /// Time the isolated path (evaluation handed to a worker thread, a hard in-process bound) instead
    /// of the calling-thread path every command uses.
    #[arg(long)]
    pub isolated: bool,
}

/// `verdict evaluate …`
#[derive(Debug, Subcommand)]
pub enum EvaluateCommand {
    /// Evaluate a Rego policy against a JSON input document: exit 0 allowed, 1 denied (0 with
    /// --no-assert), 2 on any error.
    Input(EvaluateInputArgs),
    /// Evaluate a Rego policy against one trail of the ledger (`input.trail`).
    Trail(EvaluateTrailArgs),
    /// Evaluate a Rego policy against several trails of a flow (`input.trails`, in argument order).
    Trails(EvaluateTrailsArgs),
}

/// Arguments of `verdict evaluate trail`.
#[derive(Debug, Args)]
pub struct EvaluateTrailArgs {
    /// The trail.
    pub name: String,
    /// The flow.
    #[arg(long)]
    pub flow: String,
    #[command(flatten)]
    pub rego: RegoArgs,
}

/// Arguments of `verdict evaluate trails`.
#[derive(Debug, Args)]
pub struct EvaluateTrailsArgs {
    /// The trails.
    #[arg(required = true)]
    pub names: Vec<String>,
    /// The flow.
    #[arg(long)]
    pub flow: String,
    #[command(flatten)]
    pub rego: RegoArgs,
}

/// Arguments of `verdict evaluate input`.
#[derive(Debug, Args)]
pub struct EvaluateInputArgs {
    /// The input document (a JSON object); read from stdin when omitted.
    #[arg(long, value_name = "FILE")]
    pub input_file: Option<PathBuf>,

    #[command(flatten)]
    pub rego: RegoArgs,
}

/// The flags every `evaluate` command shares (Kosli's names).
#[derive(Debug, Args)]
pub struct RegoArgs {
    /// The Rego policy file (`package policy`, with an `allow` rule).
    #[arg(short, long, value_name = "FILE")]
    pub policy: PathBuf,

    /// Policy parameters as inline JSON or @file; available to the policy as `data.params`.
    #[arg(long, value_name = "JSON|@FILE")]
    pub params: Option<String>,

    /// Include the input (and params) in the JSON output.
    #[arg(long)]
    pub show_input: bool,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t = EvalOutput::Table)]
    pub output: EvalOutput,

    /// Exit 1 when the policy denies (the default).
    #[arg(long, conflicts_with = "no_assert")]
    pub assert: bool,

    /// Exit 0 even when the policy denies (errors still exit 2).
    #[arg(long)]
    pub no_assert: bool,

    /// Wall-clock budget for the evaluation, e.g. 500ms, 5s, 1m.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub timeout: std::time::Duration,

    /// Memory the process may allocate while the policy evaluates, e.g. 256MiB, 1GiB.
    #[arg(long, value_name = "SIZE", default_value = "1GiB", value_parser = parse_size)]
    pub max_memory: u64,
}

/// Parses `1048576`, `512KiB`, `256MiB`, `1GiB` (and `K`, `M`, `G`, `KB`, `MB`, `GB` as the same binary units).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 =
        number.parse().map_err(|_| format!("`{text}` is not a size (write e.g. 256MiB or 1GiB)"))?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => return Err(format!("unknown size unit `{other}` in `{text}`: use KiB, MiB or GiB")),
    };
    match number.checked_mul(factor) {
        Some(0) | None => Err(format!("`{text}` is not a usable memory limit")),
        Some(bytes) => Ok(bytes),
    }
}

/// Parses `500ms`, `5s`, `2m` or a plain number of seconds (see [`verdict_core::duration`]).
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    verdict_core::duration::parse_duration(text)
}

/// `verdict policy …`
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Check environment policy files; exit 0 when all are valid, 2 otherwise.
    Validate(ValidateArgs),
    /// Evaluate every artifact of an evidence document against environment policies; exit 0 when all are
    /// compliant, 1 when any is not, 2 on invalid input.
    Eval(EvalArgs),
    /// Check Rego policies for decisions that can go wrong (an allow that holds when evidence is absent,
    /// a permissive default, unsupported builtins…); exit 1 on any error-severity finding.
    Lint(LintArgs),
    /// Run the `test_*` rules of `*_test.rego` files, like `opa test`; exit 1 on any failure.
    Test(TestArgs),
}

/// Arguments of `verdict policy lint`.
#[derive(Debug, Args)]
pub struct LintArgs {
    /// Rego policy files.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t = ValidateOutput::Text)]
    pub output: ValidateOutput,
}

/// Arguments of `verdict policy test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// Rego files, or directories searched recursively for `*.rego`.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Run only the tests whose full name (`data.pkg.test_x`) matches this regular expression.
    #[arg(short, long, value_name = "REGEX")]
    pub run: Option<String>,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t = ValidateOutput::Text)]
    pub output: ValidateOutput,

    /// Wall-clock budget for each test.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub timeout: std::time::Duration,

    /// Memory the process may allocate while tests evaluate, e.g. 256MiB, 1GiB.
    #[arg(long, value_name = "SIZE", default_value = "1GiB", value_parser = parse_size)]
    pub max_memory: u64,
}

/// Arguments of `verdict policy validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Policy files (YAML, environment policy v1).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t = ValidateOutput::Text)]
    pub output: ValidateOutput,
}

/// Output formats of `policy validate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ValidateOutput {
    /// Human-readable, with source lines and carets.
    Text,
    /// One JSON document on stdout.
    Json,
}

/// Arguments of `verdict policy eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// A policy file; repeat to require several policies (all must be satisfied).
    #[arg(short, long = "policy", required = true, value_name = "FILE")]
    pub policies: Vec<PathBuf>,

    /// The evidence document (JSON, see docs/evidence-format.md); `-` reads stdin.
    #[arg(short, long, value_name = "FILE")]
    pub evidence: PathBuf,

    /// Accept an evidence document with no artifacts as compliant; without it, judging nothing exits 1.
    #[arg(long)]
    pub allow_empty: bool,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t = EvalOutput::Table)]
    pub output: EvalOutput,
}

/// Output formats of `policy eval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EvalOutput {
    /// One row per artifact, with every failed rule.
    Table,
    /// The full decision document on stdout.
    Json,
}

/// Arguments of `verdict fingerprint`.
#[derive(Debug, Args)]
pub struct FingerprintArgs {
    /// The artifact: a file, a directory, or an image reference (`registry/repo:tag`) for oci.
    #[arg(value_name = "PATH")]
    pub path: PathBuf,

    /// What the path is.
    #[arg(short = 't', long, value_enum, value_name = "TYPE")]
    pub artifact_type: ArtifactType,

    /// Paths to leave out of a directory fingerprint (globs relative to it); comma-separated or repeated.
    /// `ROOT/.kosli_ignore` adds more.
    #[arg(short = 'x', long = "exclude", value_name = "GLOB", value_delimiter = ',')]
    pub excludes: Vec<String>,

    #[command(flatten)]
    pub registry: RegistryArgs,

    /// text: the fingerprint alone (for `$(…)`); json: what was fingerprinted, how, and the result.
    #[arg(short, long, value_enum, default_value_t = ValidateOutput::Text)]
    pub output: ValidateOutput,
}

/// Registry credentials for `--artifact-type oci`.
#[derive(Debug, Clone, Args)]
pub struct RegistryArgs {
    /// User name for the image's registry (anonymous without it).
    #[arg(long, env = "VERDICT_REGISTRY_USERNAME", requires = "registry_password")]
    pub registry_username: Option<String>,
    /// Password or token for the image's registry.
    #[arg(long, env = "VERDICT_REGISTRY_PASSWORD", hide_env_values = true, requires = "registry_username")]
    pub registry_password: Option<String>,
    /// The Docker Engine for `--artifact-type docker` (default: DOCKER_HOST, else
    /// unix:///var/run/docker.sock).
    #[arg(long, value_name = "unix:///PATH")]
    pub docker_host: Option<String>,
}

/// Artifact types `fingerprint` understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ArtifactType {
    /// A single file: the SHA-256 of its content.
    File,
    /// A directory tree.
    Dir,
    /// A container image in a registry: the SHA-256 of its manifest (index for multi-platform images).
    Oci,
    /// An image in the local Docker Engine (by name, `name:tag` or ID): its repository digest (the same as
    /// `oci` once pushed), else its image ID.
    Docker,
}

/// `verdict ledger …`
#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Recompute the hash chain: exit 0 with the head hash and entry count, or 1 naming the first entry
    /// that was modified, deleted or reordered.
    Verify(LedgerVerifyArgs),
}

/// Arguments of `verdict ledger verify`.
#[derive(Debug, Args)]
pub struct LedgerVerifyArgs {
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = ValidateOutput::Text)]
    pub output: ValidateOutput,
}

/// `verdict create …`
#[derive(Debug, Subcommand)]
pub enum CreateCommand {
    /// Record a flow (recording it again with the same name records a correction).
    Flow(CreateFlowArgs),
    /// Record an environment (where software runs).
    Environment(crate::cli_env::CreateEnvironmentArgs),
    /// Record an environment policy (the same name again makes the next version).
    Policy(crate::cli_env::CreatePolicyArgs),
    /// Record a custom attestation type: a JSON Schema and jq rules (the same name again makes the next version).
    AttestationType(crate::cli_env::CreateAttestationTypeArgs),
}

/// Arguments of `verdict create flow`.
#[derive(Debug, Args)]
pub struct CreateFlowArgs {
    /// The flow's name.
    pub name: String,
    /// Free text (kept as it is when not given again).
    #[arg(long)]
    pub description: Option<String>,
    /// A tag `key=value` (repeatable); environment policies read it as `flow.tags.<key>`. Re-running
    /// `create flow` adds or updates these and keeps every other tag; remove tags with `verdict tag flow`.
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub tags: Vec<(String, String)>,
    /// The flow's trail template (Kosli's YAML format).
    #[arg(long, value_name = "FILE")]
    pub template_file: Option<PathBuf>,
}

/// `verdict begin …`
#[derive(Debug, Subcommand)]
pub enum BeginCommand {
    /// Begin a trail of an existing flow.
    Trail(BeginTrailArgs),
}

/// Arguments of `verdict begin trail`.
#[derive(Debug, Args)]
pub struct BeginTrailArgs {
    /// The trail's name (often the commit SHA).
    pub name: String,
    /// The flow.
    #[arg(long)]
    pub flow: String,
    /// Free text.
    #[arg(long, default_value = "")]
    pub description: String,
    /// The git commit the trail is about.
    #[arg(long)]
    pub commit: Option<String>,
    /// Where the trail comes from (a CI run URL).
    #[arg(long)]
    pub origin_url: Option<String>,
    /// A JSON file of extra data.
    #[arg(long, value_name = "FILE")]
    pub user_data: Option<PathBuf>,
    /// The trail's own template (Kosli's YAML format), overriding the flow's.
    #[arg(long, value_name = "FILE")]
    pub template_file: Option<PathBuf>,
}

/// `verdict attest …`
#[derive(Debug, Subcommand)]
pub enum AttestCommand {
    /// Report an artifact (by its fingerprint) in a trail.
    Artifact(AttestArtifactArgs),
    /// Record a generic attestation on a trail or one of its artifacts.
    Generic(AttestGenericArgs),
    /// Record JUnit test results (every *.xml below --results-dir); compliant iff nothing failed or errored.
    Junit(crate::cli_env::AttestJunitArgs),
    /// Record a Snyk scan (SARIF 2.1.0); compliant iff it has no finding.
    Snyk(crate::cli_env::AttestSnykArgs),
    /// Record any scanner's SARIF 2.1.0 results; compliant unless a result reaches --fail-on.
    Sarif(crate::cli_env::AttestSarifArgs),
    /// Record a decision about a control (for `decision` rules with `for_control`).
    Decision(crate::cli_env::AttestDecisionArgs),
    /// Override the compliance of the latest attestation of a name (the original stays in the ledger).
    Override(crate::cli_env::AttestOverrideArgs),
    /// Record the pull requests containing a commit (GitHub, GitLab, Bitbucket or Azure DevOps); compliant
    /// iff there is one.
    #[command(subcommand)]
    Pullrequest(crate::cli_env::PullRequestCommand),
    /// Record the Jira issues a commit's message or branch names; compliant iff at least one is named and
    /// every one exists in Jira.
    Jira(crate::cli_env::AttestJiraArgs),
    /// Record a SonarQube (Cloud) scan's quality gate; compliant iff the gate passed.
    Sonar(crate::cli_env::AttestSonarArgs),
    /// Record data of a custom attestation type: validated by its schema, compliant iff every jq rule is true.
    Custom(crate::cli_env::AttestCustomArgs),
}

/// What every attestation command takes: where it goes and what comes with it.
#[derive(Debug, Args)]
pub struct AttestCommon {
    /// The attestation's name in the template.
    #[arg(long)]
    pub name: String,
    #[command(flatten)]
    pub target: TrailTarget,
    /// The artifact the attestation is about (its fingerprint, or a unique prefix of at least 12 hex
    /// digits); without it, it is about the trail.
    #[arg(long)]
    pub fingerprint: Option<String>,
    /// A JSON file of extra data.
    #[arg(long, value_name = "FILE")]
    pub user_data: Option<PathBuf>,
    /// Files to store with the attestation, content-addressed (comma-separated or repeated).
    #[arg(long, value_name = "PATH,...", value_delimiter = ',')]
    pub attachments: Vec<PathBuf>,
    /// text: one line naming the ledger entry; json: the recorded attestation with its entry.
    #[arg(short, long, value_enum, default_value_t = ValidateOutput::Text)]
    pub output: ValidateOutput,
}

/// Where an attestation or artifact goes.
#[derive(Debug, Args)]
pub struct TrailTarget {
    /// The flow.
    #[arg(long)]
    pub flow: String,
    /// The trail.
    #[arg(long)]
    pub trail: String,
}

/// Arguments of `verdict attest artifact`.
#[derive(Debug, Args)]
pub struct AttestArtifactArgs {
    /// The artifact to fingerprint (with --artifact-type); or give --fingerprint.
    #[arg(value_name = "PATH", required_unless_present = "fingerprint", requires = "artifact_type")]
    pub path: Option<PathBuf>,
    /// What PATH is.
    #[arg(short = 't', long, value_enum)]
    pub artifact_type: Option<ArtifactType>,
    /// The artifact's SHA-256 (or a unique prefix of at least 12 hex digits of one already in the
    /// ledger), instead of a PATH to fingerprint.
    #[arg(long, conflicts_with = "path")]
    pub fingerprint: Option<String>,
    /// The artifact's name in the trail template.
    #[arg(long)]
    pub name: String,
    #[command(flatten)]
    pub target: TrailTarget,
    /// The commit the artifact was built from.
    #[arg(long)]
    pub commit: Option<String>,
    /// The build that produced it.
    #[arg(long)]
    pub build_url: Option<String>,
    /// An annotation `key=value` (repeatable).
    #[arg(long = "annotate", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub annotations: Vec<(String, String)>,
    /// Paths to leave out of a directory fingerprint.
    #[arg(short = 'x', long = "exclude", value_name = "GLOB", value_delimiter = ',')]
    pub excludes: Vec<String>,
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// text: one line naming the ledger entry; json: the recorded artifact with its entry.
    #[arg(short, long, value_enum, default_value_t = ValidateOutput::Text)]
    pub output: ValidateOutput,
}

/// Arguments of `verdict attest generic`.
#[derive(Debug, Args)]
pub struct AttestGenericArgs {
    /// The attestation's name in the template.
    #[arg(long)]
    pub name: String,
    #[command(flatten)]
    pub target: TrailTarget,
    /// The artifact the attestation is about (its fingerprint, or a unique prefix of at least 12 hex
    /// digits); without it, it is about the trail.
    #[arg(long)]
    pub fingerprint: Option<String>,
    /// Whether the evidence is compliant (`--compliant=false` records a failure).
    #[arg(long, action = clap::ArgAction::Set, num_args = 0..=1, default_value_t = true, default_missing_value = "true")]
    pub compliant: bool,
    /// A JSON file of extra data.
    #[arg(long, value_name = "FILE")]
    pub user_data: Option<PathBuf>,
    /// Files to store with the attestation, content-addressed (comma-separated or repeated).
    #[arg(long, value_name = "PATH,...", value_delimiter = ',')]
    pub attachments: Vec<PathBuf>,
    /// text: one line naming the ledger entry; json: the recorded attestation with its entry.
    #[arg(short, long, value_enum, default_value_t = ValidateOutput::Text)]
    pub output: ValidateOutput,
}

/// `verdict server …`
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ServerArgs {
    /// Manage API tokens instead of serving.
    #[command(subcommand)]
    pub command: Option<ServerCommand>,
    /// Address to listen on (port 0 picks a free port; the address is printed on stdout).
    #[arg(long, env = "VERDICT_LISTEN", default_value = "127.0.0.1:8190", value_name = "ADDR")]
    pub listen: std::net::SocketAddr,
    /// Largest request body accepted.
    #[arg(long, value_name = "SIZE", default_value = "16MiB", value_parser = parse_size)]
    pub max_body_bytes: u64,
    /// Log format on stderr: text, or json (one object per line, for log collectors).
    #[arg(long, value_enum, env = "VERDICT_LOG_FORMAT", default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// How the server writes its logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// `verdict server token …`
#[derive(Debug, Subcommand)]
pub enum ServerCommand {
    /// Manage the server's API tokens (directly in the database --db names).
    #[command(subcommand)]
    Token(TokenCommand),
}

/// `verdict server token …`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token bound to --org with a role; prints the token alone on stdout (it is not stored).
    Create(TokenCreateArgs),
    /// List tokens (ids, orgs, roles; never the tokens).
    List(ListArgs),
    /// Revoke a token by id (the part after `vdt_` up to the next `_`).
    Revoke(TokenRevokeArgs),
}

/// Arguments of `verdict server token create`.
#[derive(Debug, Args)]
pub struct TokenCreateArgs {
    /// What the token may do: read; write (also record evidence: flows, trails, artifacts, attestations,
    /// snapshots; CI's role); policy (also environments, policies, attachments, allow-lists, recorded
    /// decisions); admin (everything in the org). With --org '*' and admin: a server administrator, who
    /// may only verify the whole chain.
    #[arg(long, value_parser = parse_role)]
    pub role: verdict_ledger::Role,
    /// Free text to tell tokens apart (e.g. the CI job using it).
    #[arg(long, default_value = "")]
    pub description: String,
}

/// Arguments of `verdict server token revoke`.
#[derive(Debug, Args)]
pub struct TokenRevokeArgs {
    /// The token's id.
    pub id: String,
}

fn parse_role(text: &str) -> Result<verdict_ledger::Role, String> {
    text.parse()
}

/// `verdict list …`
#[derive(Debug, Subcommand)]
pub enum ListCommand {
    /// The organisation's flows (archived ones with --archived).
    Flows(ListArchivableArgs),
    /// A flow's trails.
    Trails(ListTrailsArgs),
    /// The artifacts reported in a trail.
    Artifacts(ListArtifactsArgs),
    /// The organisation's environments (archived ones with --archived).
    Environments(ListArchivableArgs),
    /// The organisation's environment policies (latest versions).
    Policies(ListArgs),
    /// An environment's snapshots.
    Snapshots(crate::cli_env::EnvironmentListArgs),
    /// The attestations of a trail, every version in recording order (the latest per name counts).
    Attestations(ListAttestationsArgs),
}

/// Arguments of `verdict list attestations`.
#[derive(Debug, Args)]
pub struct ListAttestationsArgs {
    #[command(flatten)]
    pub target: TrailTarget,
    /// Only the attestations about this artifact (fingerprint or a unique prefix of 12+ hex digits).
    #[arg(long)]
    pub fingerprint: Option<String>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = EvalOutput::Table)]
    pub output: EvalOutput,
}

/// Arguments of `verdict search`.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// A fingerprint or git commit, whole or its first 4+ hex digits.
    #[arg(value_name = "FINGERPRINT_OR_COMMIT")]
    pub search: String,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = EvalOutput::Table)]
    pub output: EvalOutput,
}

/// Arguments of `verdict list artifacts`.
#[derive(Debug, Args)]
pub struct ListArtifactsArgs {
    /// The flow.
    #[arg(long)]
    pub flow: String,
    /// The trail.
    #[arg(long)]
    pub trail: String,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = EvalOutput::Table)]
    pub output: EvalOutput,
}

/// Arguments of `verdict list flows`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = EvalOutput::Table)]
    pub output: EvalOutput,
}

/// Arguments of `verdict list flows` and `list environments`.
#[derive(Debug, Args)]
pub struct ListArchivableArgs {
    /// Also list archived ones (marked in the table, `"archived": true` in JSON).
    #[arg(long)]
    pub archived: bool,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = EvalOutput::Table)]
    pub output: EvalOutput,
}

/// Arguments of `verdict list trails`.
#[derive(Debug, Args)]
pub struct ListTrailsArgs {
    /// The flow.
    #[arg(long)]
    pub flow: String,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = EvalOutput::Table)]
    pub output: EvalOutput,
}

/// Parses `key=value`.
pub fn parse_key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => Ok((key.trim().to_owned(), value.to_owned())),
        _ => Err(format!("`{text}` is not KEY=VALUE")),
    }
}

/// `verdict get …`
#[derive(Debug, Subcommand)]
pub enum GetCommand {
    /// A trail: its attestations, artifacts and compliance (docs/trail-document.md).
    Trail(GetTrailArgs),
    /// A flow: its description, tags, template and every tag change.
    Flow(GetFlowArgs),
    /// An artifact: every trail that reported it, its compliance and evidence there, and where it runs.
    Artifact(GetArtifactArgs),
    /// An attestation of a trail: its latest version in full, and how many it superseded.
    Attestation(GetAttestationArgs),
    /// An environment, with its attached policies.
    Environment(crate::cli_env::GetEnvironmentArgs),
    /// An environment policy (a version of it).
    Policy(crate::cli_env::GetPolicyArgs),
    /// A snapshot with its evaluation: `ENV`, `ENV#N` or `ENV~N`.
    Snapshot(crate::cli_env::GetSnapshotArgs),
}

/// Arguments of `verdict get flow`.
#[derive(Debug, Args)]
pub struct GetFlowArgs {
    /// The flow.
    pub name: String,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = EvalOutput::Table)]
    pub output: EvalOutput,
}

/// Arguments of `verdict get artifact`.
#[derive(Debug, Args)]
pub struct GetArtifactArgs {
    /// `FINGERPRINT` (or its first 12+ hex digits), `FLOW@FINGERPRINT`, `FLOW@NAME` (the artifact last
    /// reported under that template name) or `FLOW:COMMIT`.
    #[arg(value_name = "EXPRESSION")]
    pub expression: String,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = EvalOutput::Table)]
    pub output: EvalOutput,
}

/// Arguments of `verdict get attestation`.
#[derive(Debug, Args)]
pub struct GetAttestationArgs {
    /// The attestation's name in the template (`security-scan`, or `backend.unit-tests`).
    pub name: String,
    #[command(flatten)]
    pub target: TrailTarget,
    /// The artifact it is about (fingerprint or a unique prefix of 12+ hex digits); without it, the
    /// latest attestation of that name about the trail or any of its artifacts.
    #[arg(long)]
    pub fingerprint: Option<String>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = EvalOutput::Table)]
    pub output: EvalOutput,
}

/// `verdict tag …`
#[derive(Debug, Subcommand)]
pub enum TagCommand {
    /// Set or remove tags of a flow (policies read them as `flow.tags.<key>`).
    Flow(TagArgs),
    /// Set or remove tags of an environment (shown by `get environment` and in its JSON).
    Environment(TagArgs),
}

/// `verdict archive …`
#[derive(Debug, Subcommand)]
pub enum ArchiveCommand {
    /// Archive a flow: no new trails, artifacts or attestations; its evidence still counts.
    Flow(ArchiveArgs),
    /// Archive an environment: no new snapshots or allow-listings; its history stays readable.
    Environment(ArchiveArgs),
}

/// Arguments of `verdict archive flow|environment`.
#[derive(Debug, Args)]
pub struct ArchiveArgs {
    /// Its name.
    pub name: String,
}

/// Arguments of `verdict tag flow|environment`.
#[derive(Debug, Args)]
pub struct TagArgs {
    /// The flow or environment.
    pub name: String,
    /// A tag to add or change, `key=value` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub set: Vec<(String, String)>,
    /// A tag to remove (repeatable or comma-separated).
    #[arg(long = "unset", value_name = "KEY", value_delimiter = ',')]
    pub unset: Vec<String>,
}

/// Arguments of `verdict get trail`.
#[derive(Debug, Args)]
pub struct GetTrailArgs {
    /// The trail.
    pub name: String,
    /// The flow.
    #[arg(long)]
    pub flow: String,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = TrailOutput::Table)]
    pub output: TrailOutput,
}

/// Output formats of `get trail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TrailOutput {
    /// One row per attestation and artifact.
    Table,
    /// The trail document.
    Json,
    /// A Markdown summary for pull-request comments.
    Markdown,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// clap's own consistency checks (unique argument names, valid conflicts, …) over every subcommand;
    /// without this a clash only shows as a panic when that subcommand is run.
    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
