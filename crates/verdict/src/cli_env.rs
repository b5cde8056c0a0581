//! Command-line arguments of the environment commands (environments, policies, snapshots, assert), kept
//! apart from the logic in `commands::environments`.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use crate::cli::{ArtifactType, EvalOutput, RegistryArgs};

/// Environment types, as Kosli spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EnvironmentType {
    /// A Kubernetes cluster (snapshots from pods).
    #[value(name = "K8S")]
    K8s,
    /// A Docker host.
    #[value(name = "docker")]
    Docker,
    /// Files on servers (snapshots from paths).
    #[value(name = "server")]
    Server,
    /// The union of other environments.
    #[value(name = "logical")]
    Logical,
}

impl EnvironmentType {
    /// The name stored in the ledger.
    pub fn as_str(self) -> &'static str {
        match self {
            EnvironmentType::K8s => "K8S",
            EnvironmentType::Docker => "docker",
            EnvironmentType::Server => "server",
            EnvironmentType::Logical => "logical",
        }
    }
}

/// Arguments of `verdict create environment`.
#[derive(Debug, Args)]
pub struct CreateEnvironmentArgs {
    /// The environment's name.
    pub name: String,
    /// What kind of environment it is.
    #[arg(long = "type", value_enum)]
    pub kind: EnvironmentType,
    /// Free text.
    #[arg(long, default_value = "")]
    pub description: String,
    /// For --type logical: the physical environments it is the union of.
    #[arg(long, value_delimiter = ',', value_name = "ENV,...")]
    pub included_environments: Vec<String>,
}

/// Arguments of `verdict create policy`.
#[derive(Debug, Args)]
pub struct CreatePolicyArgs {
    /// The policy's name (recording it again makes the next version).
    pub name: String,
    /// The environment policy (YAML v1), validated before it is recorded.
    pub file: PathBuf,
    /// Free text about the policy.
    #[arg(long, default_value = "")]
    pub description: String,
    /// Free text about this version.
    #[arg(long, default_value = "")]
    pub comment: String,
}

/// Arguments of `verdict get environment`.
#[derive(Debug, Args)]
pub struct GetEnvironmentArgs {
    /// The environment.
    pub name: String,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = EvalOutput::Table)]
    pub output: EvalOutput,
}

/// Arguments of `verdict get policy`.
#[derive(Debug, Args)]
pub struct GetPolicyArgs {
    /// The policy.
    pub name: String,
    /// A version (default: the latest).
    #[arg(long = "policy-version", value_name = "N")]
    pub policy_version: Option<u64>,
    /// Output format (table prints the YAML).
    #[arg(short, long, value_enum, default_value_t = EvalOutput::Table)]
    pub output: EvalOutput,
}

/// Arguments of `verdict get snapshot`.
#[derive(Debug, Args)]
pub struct GetSnapshotArgs {
    /// `ENV` (latest), `ENV#N` (number N) or `ENV~N` (N before the latest).
    pub snapshot: String,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = EvalOutput::Table)]
    pub output: EvalOutput,
}

/// Arguments of `verdict list snapshots` and `log environment`.
#[derive(Debug, Args)]
pub struct EnvironmentListArgs {
    /// The environment.
    pub environment: String,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = EvalOutput::Table)]
    pub output: EvalOutput,
}

/// Arguments of `attach-policy` and `detach-policy`.
#[derive(Debug, Args)]
pub struct AttachPolicyArgs {
    /// The policy.
    pub name: String,
    /// The environments (repeatable or comma-separated).
    #[arg(long = "environment", short = 'e', required = true, value_delimiter = ',', value_name = "ENV")]
    pub environments: Vec<String>,
}

/// `verdict snapshot …`
#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Report the files or directories running on a server: each path matching the globs.
    Server(SnapshotServerArgs),
    /// Report artifacts listed in a paths file (Kosli's format; YAML, JSON or TOML).
    Paths(SnapshotPathsArgs),
    /// Report the images running in Kubernetes pods (from the cluster's API, or `kubectl get pods -A -o json` output).
    K8s(SnapshotK8sArgs),
    /// Report the images of the containers running on this Docker host (the Docker Engine API over its
    /// Unix socket), for `--type docker` environments.
    Docker(SnapshotDockerArgs),
}

/// Arguments of `verdict snapshot docker`.
#[derive(Debug, Args)]
pub struct SnapshotDockerArgs {
    /// The environment.
    pub environment: String,
    /// The Docker Engine (default: DOCKER_HOST, else unix:///var/run/docker.sock).
    #[arg(long, value_name = "unix:///PATH")]
    pub docker_host: Option<String>,
    /// Record the snapshot even when no container runs; without it, finding none is an error (exit 2)
    /// and nothing is recorded.
    #[arg(long)]
    pub allow_empty: bool,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = EvalOutput::Table)]
    pub output: EvalOutput,
}

/// Arguments of `verdict snapshot server`.
#[derive(Debug, Args)]
pub struct SnapshotServerArgs {
    /// The environment.
    pub environment: String,
    /// Glob patterns of the artifacts' paths (comma-separated or repeated).
    #[arg(long, required = true, value_delimiter = ',', value_name = "GLOB")]
    pub paths: Vec<String>,
    /// Paths to leave out of directory fingerprints.
    #[arg(short = 'x', long = "exclude", value_delimiter = ',', value_name = "GLOB")]
    pub excludes: Vec<String>,
    /// Record the snapshot even when nothing is found (an environment where nothing runs); without it,
    /// finding nothing is an error (exit 2) and nothing is recorded.
    #[arg(long)]
    pub allow_empty: bool,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = EvalOutput::Table)]
    pub output: EvalOutput,
}

/// Arguments of `verdict snapshot paths`.
#[derive(Debug, Args)]
pub struct SnapshotPathsArgs {
    /// The environment.
    pub environment: String,
    /// The paths file: `version: 1` and `artifacts: {NAME: {path, exclude: [...]}}` (.yml, .yaml, .json, .toml).
    #[arg(long, value_name = "FILE")]
    pub paths_file: PathBuf,
    /// Record the snapshot even when nothing is found (an environment where nothing runs); without it,
    /// finding nothing is an error (exit 2) and nothing is recorded.
    #[arg(long)]
    pub allow_empty: bool,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = EvalOutput::Table)]
    pub output: EvalOutput,
}

/// Arguments of `verdict snapshot k8s`.
#[derive(Debug, Args)]
pub struct SnapshotK8sArgs {
    /// The environment.
    pub environment: String,
    /// `kubectl get pods -A -o json` output to read instead of the Kubernetes API.
    #[arg(long, value_name = "FILE", conflicts_with = "kubeconfig")]
    pub pods_file: Option<PathBuf>,
    /// The kubeconfig whose current context names the cluster (default: $KUBECONFIG, else
    /// ~/.kube/config). Every kind of user works: tokens, client certificates, exec plugins (EKS, GKE, …).
    #[arg(long, value_name = "FILE", conflicts_with = "in_cluster")]
    pub kubeconfig: Option<PathBuf>,
    /// Use the pod's own service account (when verdict runs inside the cluster as a reporter).
    #[arg(long, conflicts_with = "pods_file")]
    pub in_cluster: bool,
    /// Report again every DURATION (e.g. 60s) until stopped, like Kosli's Kubernetes reporter; a failed
    /// round is logged and records nothing.
    #[arg(long, value_name = "DURATION", value_parser = crate::cli::parse_duration, conflicts_with = "pods_file")]
    pub every: Option<std::time::Duration>,
    /// With --every: stop after this many rounds.
    #[arg(long, value_name = "N", requires = "every")]
    pub max_reports: Option<u64>,
    /// Only these namespaces.
    #[arg(long, value_delimiter = ',', conflicts_with = "exclude_namespaces")]
    pub namespaces: Vec<String>,
    /// All namespaces but these.
    #[arg(long, value_delimiter = ',')]
    pub exclude_namespaces: Vec<String>,
    /// Record the snapshot even when nothing is found (an environment where nothing runs); without it,
    /// finding nothing is an error (exit 2) and nothing is recorded.
    #[arg(long)]
    pub allow_empty: bool,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = EvalOutput::Table)]
    pub output: EvalOutput,
}

/// `verdict diff …`
#[derive(Debug, Subcommand)]
pub enum DiffCommand {
    /// What changed between two snapshots (`ENV#N`, `ENV~N`, `ENV`).
    Snapshots(DiffSnapshotsArgs),
}

/// Arguments of `verdict diff snapshots`.
#[derive(Debug, Args)]
pub struct DiffSnapshotsArgs {
    /// The first snapshot.
    pub first: String,
    /// The second snapshot.
    pub second: String,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = EvalOutput::Table)]
    pub output: EvalOutput,
}

/// `verdict log …`
#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// An environment's history: snapshots, policy attachments, allow-listings.
    Environment(EnvironmentListArgs),
}

/// `verdict assert …`
#[derive(Debug, Subcommand)]
pub enum AssertCommand {
    /// May this artifact run? Exit 0 compliant, 1 not, with every reason.
    Artifact(Box<AssertArtifactArgs>),
    /// Is everything running in an environment compliant? Exit 0 only when it is.
    Snapshot(AssertSnapshotArgs),
}

/// Arguments of `verdict assert artifact`.
#[derive(Debug, Args)]
pub struct AssertArtifactArgs {
    /// The artifact to fingerprint (with --artifact-type); or give --fingerprint.
    #[arg(value_name = "PATH", required_unless_present = "fingerprint", requires = "artifact_type")]
    pub path: Option<PathBuf>,
    /// What PATH is.
    #[arg(short = 't', long, value_enum)]
    pub artifact_type: Option<ArtifactType>,
    /// The artifact's SHA-256, or a unique prefix of at least 12 hex digits.
    #[arg(long, conflicts_with = "path")]
    pub fingerprint: Option<String>,
    /// Judge by the policies attached to this environment.
    #[arg(long, short = 'e', conflicts_with = "policies")]
    pub environment: Option<String>,
    /// Judge by these policies: names of policies stored with `create policy` (their latest version), as
    /// in Kosli (`--policy has-approval,has-been-integration-tested`), or environment policy files — a
    /// value naming an existing file is read as that file. Repeatable or comma-separated.
    #[arg(long = "policy", value_delimiter = ',', value_name = "NAME|FILE")]
    pub policies: Vec<String>,
    /// Only evidence from this flow.
    #[arg(long)]
    pub flow: Option<String>,
    /// The artifact's name for policy expressions (`artifact.name`); default: the name it was reported with.
    #[arg(long)]
    pub name: Option<String>,
    /// Record the decision (policy versions, evidence digest, outcome) in the ledger.
    #[arg(long)]
    pub record: bool,
    /// Paths to leave out of a directory fingerprint.
    #[arg(short = 'x', long = "exclude", value_delimiter = ',', value_name = "GLOB")]
    pub excludes: Vec<String>,
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = EvalOutput::Table)]
    pub output: EvalOutput,
}

/// Arguments of `verdict assert snapshot`.
#[derive(Debug, Args)]
pub struct AssertSnapshotArgs {
    /// `ENV` (latest), `ENV#N` or `ENV~N`.
    pub snapshot: String,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = EvalOutput::Table)]
    pub output: EvalOutput,
}

/// `verdict allow …`
#[derive(Debug, Subcommand)]
pub enum AllowCommand {
    /// Allow a third-party artifact in one environment, whatever its policies say.
    Artifact(AllowArtifactArgs),
}

/// Arguments of `verdict allow artifact`.
#[derive(Debug, Args)]
pub struct AllowArtifactArgs {
    /// The artifact's SHA-256, or a unique prefix of at least 12 hex digits.
    #[arg(long)]
    pub fingerprint: String,
    /// The environment.
    #[arg(long, short = 'e')]
    pub environment: String,
    /// Why (shown in every decision about it).
    #[arg(long)]
    pub reason: String,
}

/// Arguments of `verdict attest junit`.
#[derive(Debug, Args)]
pub struct AttestJunitArgs {
    #[command(flatten)]
    pub common: crate::cli::AttestCommon,
    /// The directory holding the JUnit XML files (searched recursively).
    #[arg(long, value_name = "DIR")]
    pub results_dir: PathBuf,
}

/// Arguments of `verdict attest snyk`.
#[derive(Debug, Args)]
pub struct AttestSnykArgs {
    #[command(flatten)]
    pub common: crate::cli::AttestCommon,
    /// The scan's SARIF file (`snyk test --sarif-file-output=FILE`).
    #[arg(long, value_name = "FILE")]
    pub scan_results: PathBuf,
}

/// The `--fail-on` levels of `attest sarif`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOnLevel {
    /// Only `error` results fail.
    Error,
    /// `warning` and `error` results fail.
    Warning,
    /// `note`, `warning` and `error` results fail.
    Note,
}

/// Arguments of `verdict attest sarif`.
#[derive(Debug, Args)]
pub struct AttestSarifArgs {
    #[command(flatten)]
    pub common: crate::cli::AttestCommon,
    /// The SARIF 2.1.0 file.
    #[arg(long, value_name = "FILE")]
    pub scan_results: PathBuf,
    /// The lowest level that makes the attestation non-compliant.
    #[arg(long, value_enum, default_value_t = FailOnLevel::Error)]
    pub fail_on: FailOnLevel,
}

/// Arguments of `verdict attest decision`.
#[derive(Debug, Args)]
pub struct AttestDecisionArgs {
    #[command(flatten)]
    pub common: crate::cli::AttestCommon,
    /// The control decided on (policies match it with `for_control`).
    #[arg(long)]
    pub control: String,
    /// The decision.
    #[arg(long, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub compliant: bool,
}

/// Arguments of `verdict attest override`.
#[derive(Debug, Args)]
pub struct AttestOverrideArgs {
    #[command(flatten)]
    pub common: crate::cli::AttestCommon,
    /// Why the compliance is overridden (recorded with the override).
    #[arg(long)]
    pub reason: String,
    /// The compliance the attestation should have.
    #[arg(long, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub new_compliance_status: bool,
}

/// Arguments of `verdict create attestation-type`.
#[derive(Debug, Args)]
pub struct CreateAttestationTypeArgs {
    /// The type's name (attestations of it have type `custom:NAME`).
    pub name: String,
    /// A JSON Schema file the attestation data must satisfy.
    #[arg(long, value_name = "FILE")]
    pub schema: PathBuf,
    /// A jq expression that must return true for the attestation to be compliant (repeatable).
    #[arg(long = "jq", value_name = "EXPR")]
    pub rules: Vec<String>,
    /// Free text.
    #[arg(long, default_value = "")]
    pub description: String,
}

/// Arguments of `verdict attest custom`.
#[derive(Debug, Args)]
pub struct AttestCustomArgs {
    #[command(flatten)]
    pub common: crate::cli::AttestCommon,
    /// The custom attestation type.
    #[arg(long = "type", value_name = "NAME")]
    pub type_name: String,
    /// The attestation data (JSON).
    #[arg(long, value_name = "FILE")]
    pub attestation_data: PathBuf,
}

/// `verdict attest pullrequest …`
#[derive(Debug, Subcommand)]
pub enum PullRequestCommand {
    /// Ask GitHub's API.
    Github(AttestGithubArgs),
    /// Ask GitLab's API.
    Gitlab(AttestGitlabArgs),
    /// Ask Bitbucket Cloud's API.
    Bitbucket(AttestBitbucketArgs),
    /// Ask Azure DevOps' API.
    Azure(AttestAzureArgs),
}

/// Arguments of `verdict attest pullrequest bitbucket`.
#[derive(Debug, Args)]
pub struct AttestBitbucketArgs {
    #[command(flatten)]
    pub pr: PullRequestArgs,
    /// The Bitbucket user the app password belongs to (with --bitbucket-password); without it,
    /// --bitbucket-access-token is used.
    #[arg(long, requires = "bitbucket_password")]
    pub bitbucket_username: Option<String>,
    /// An app password of --bitbucket-username.
    #[arg(long, env = "BITBUCKET_PASSWORD", hide_env_values = true)]
    pub bitbucket_password: Option<String>,
    /// A repository, project or workspace access token (instead of a user and app password).
    #[arg(
        long,
        env = "BITBUCKET_ACCESS_TOKEN",
        hide_env_values = true,
        required_unless_present = "bitbucket_username"
    )]
    pub bitbucket_access_token: Option<String>,
    /// The API URL.
    #[arg(long, default_value = "https://api.bitbucket.org")]
    pub bitbucket_base_url: String,
}

/// Arguments of `verdict attest pullrequest azure`.
#[derive(Debug, Args)]
pub struct AttestAzureArgs {
    #[command(flatten)]
    pub pr: PullRequestArgs,
    /// The Azure DevOps project (the repository is --repository).
    #[arg(long)]
    pub project: String,
    /// A personal access token that can read code.
    #[arg(long, env = "AZURE_TOKEN", hide_env_values = true)]
    pub azure_token: String,
    /// The organisation URL (`https://dev.azure.com/ORG`, or an Azure DevOps Server collection URL).
    #[arg(long)]
    pub azure_org_url: String,
}

/// Arguments of `verdict attest jira`.
#[derive(Debug, Args)]
pub struct AttestJiraArgs {
    #[command(flatten)]
    pub common: crate::cli::AttestCommon,
    /// Jira's URL (`https://ACME.atlassian.net`).
    #[arg(long)]
    pub jira_base_url: String,
    /// The Jira Cloud account the API token belongs to (with --jira-api-token).
    #[arg(long, requires = "jira_api_token")]
    pub jira_username: Option<String>,
    /// A Jira Cloud API token of --jira-username.
    #[arg(long, env = "JIRA_API_TOKEN", hide_env_values = true, requires = "jira_username")]
    pub jira_api_token: Option<String>,
    /// A Jira Data Center / Server personal access token (instead of a user and API token).
    #[arg(
        long,
        env = "JIRA_PAT",
        hide_env_values = true,
        conflicts_with = "jira_api_token",
        required_unless_present = "jira_api_token"
    )]
    pub jira_pat: Option<String>,
    /// The commit whose message is searched for issue keys (a SHA or prefix, a branch; default HEAD).
    #[arg(long)]
    pub commit: Option<String>,
    /// The git checkout to read (no `git` binary needed).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub repo_root: PathBuf,
    /// The branch name to search too (default: the branch checked out, if any; CI often checks out a
    /// detached HEAD, so pass it from the CI's variables).
    #[arg(long)]
    pub branch: Option<String>,
    /// Exit 1 when the attestation is not compliant (no key found, or an issue missing), after recording it.
    #[arg(long)]
    pub assert: bool,
}

/// Arguments of `verdict attest sonar`.
#[derive(Debug, Args)]
pub struct AttestSonarArgs {
    #[command(flatten)]
    pub common: crate::cli::AttestCommon,
    /// A SonarQube (Cloud) token that can read the project's analyses.
    #[arg(long, env = "SONAR_TOKEN", hide_env_values = true)]
    pub sonar_api_token: String,
    /// Where the scanner wrote report-task.txt (read unless --sonar-project-key is given).
    #[arg(long, value_name = "DIR", default_value = ".scannerwork")]
    pub sonar_working_dir: PathBuf,
    /// The project key: find the analysis by --sonar-revision instead of report-task.txt.
    #[arg(long, requires = "sonar_revision")]
    pub sonar_project_key: Option<String>,
    /// The commit the analysis was of (with --sonar-project-key).
    #[arg(long)]
    pub sonar_revision: Option<String>,
    /// The server (with --sonar-project-key; report-task.txt names its own).
    #[arg(long, default_value = "https://sonarcloud.io")]
    pub sonar_server_url: String,
    /// The branch analysed (with --sonar-project-key).
    #[arg(long)]
    pub branch_name: Option<String>,
    /// The pull request analysed (with --sonar-project-key).
    #[arg(long)]
    pub pull_request_id: Option<String>,
    /// How long to wait for a scan still being processed by the server.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = crate::cli::parse_duration)]
    pub sonar_wait: std::time::Duration,
    /// Exit 1 when the quality gate did not pass, after recording it.
    #[arg(long)]
    pub assert: bool,
}

/// What both providers take.
#[derive(Debug, Args)]
pub struct PullRequestArgs {
    #[command(flatten)]
    pub common: crate::cli::AttestCommon,
    /// The repository (`owner/name`; for GitLab the project path `group/project`).
    #[arg(long)]
    pub repository: String,
    /// The commit whose pull requests are recorded.
    #[arg(long)]
    pub commit: String,
    /// Exit 1 when no pull request contains the commit (after recording that).
    #[arg(long)]
    pub assert: bool,
}

/// Arguments of `verdict attest pullrequest github`.
#[derive(Debug, Args)]
pub struct AttestGithubArgs {
    #[command(flatten)]
    pub pr: PullRequestArgs,
    /// A GitHub token that can read the repository.
    #[arg(long, env = "GITHUB_TOKEN", hide_env_values = true)]
    pub github_token: String,
    /// The API URL (GitHub Enterprise: https://HOST/api/v3).
    #[arg(long, default_value = "https://api.github.com")]
    pub github_base_url: String,
}

/// Arguments of `verdict attest pullrequest gitlab`.
#[derive(Debug, Args)]
pub struct AttestGitlabArgs {
    #[command(flatten)]
    pub pr: PullRequestArgs,
    /// A GitLab token that can read the project.
    #[arg(long, env = "GITLAB_TOKEN", hide_env_values = true)]
    pub gitlab_token: String,
    /// The instance URL.
    #[arg(long, default_value = "https://gitlab.com")]
    pub gitlab_base_url: String,
}

/// `verdict verify …`
#[derive(Debug, Subcommand)]
pub enum VerifyCommand {
    /// Verify a Sigstore bundle (v0.1–v0.3, message signature or DSSE) for an artifact: exit 0 verified,
    /// 1 not verified (with the reason), 2 usage.
    Bundle(VerifyBundleArgs),
    /// Verify an image in its registry against an image policy: its signatures (cosign's legacy
    /// `.sig` tag and OCI 1.1 referrers with Sigstore bundles) and attestations. Exit 0 when it satisfies
    /// the policy, 1 when not (every reason printed), 2 for a bad policy or arguments, 3 when the
    /// registry is unreachable, fails or is too slow (still a failure).
    Image(VerifyImageArgs),
}

/// Arguments of `verdict verify image`.
#[derive(Debug, Args)]
pub struct VerifyImageArgs {
    /// The image: `[registry/]repository[:tag][@sha256:digest]`.
    #[arg(value_name = "IMAGE")]
    pub image: String,
    /// The image policy (YAML; see docs/image-policy.md).
    #[arg(long, value_name = "FILE")]
    pub policy: PathBuf,
    /// Sigstore's trusted_root.json (default: the production root embedded in verdict; nothing is fetched).
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,
    /// Registry user (default: from Docker's config.json).
    #[arg(long, env = "VERDICT_REGISTRY_USERNAME", requires = "registry_password")]
    pub registry_username: Option<String>,
    /// Registry password or access token.
    #[arg(long, env = "VERDICT_REGISTRY_PASSWORD", hide_env_values = true, requires = "registry_username")]
    pub registry_password: Option<String>,
    /// A bearer token for the registry, used as is.
    #[arg(
        long,
        env = "VERDICT_REGISTRY_TOKEN",
        hide_env_values = true,
        conflicts_with = "registry_username"
    )]
    pub registry_token: Option<String>,
    /// Docker's config.json to read credentials from (default: $DOCKER_CONFIG/config.json, else
    /// ~/.docker/config.json).
    #[arg(long, value_name = "FILE")]
    pub docker_config: Option<PathBuf>,
    /// Time limit of each registry request (e.g. 5s, 500ms).
    #[arg(long, value_parser = crate::cli::parse_duration, default_value = "10s")]
    pub timeout: std::time::Duration,
    /// Time limit for fetching everything.
    #[arg(long, value_parser = crate::cli::parse_duration, default_value = "30s")]
    pub budget: std::time::Duration,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = EvalOutput::Table)]
    pub output: EvalOutput,
}

/// Arguments of `verdict verify bundle`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("signer").required(true).args(["key", "certificate_identity", "certificate_identity_regexp"]))]
pub struct VerifyBundleArgs {
    /// The bundle (`*.sigstore.json`).
    #[arg(long, value_name = "FILE")]
    pub bundle: PathBuf,
    /// The signing certificate's identity (SAN), matched exactly.
    #[arg(long, conflicts_with_all = ["key", "certificate_identity_regexp"], requires = "issuer")]
    pub certificate_identity: Option<String>,
    /// The identity as a regular expression (cosign semantics: unanchored unless you write ^…$).
    #[arg(long, value_name = "RE", conflicts_with = "key", requires = "issuer")]
    pub certificate_identity_regexp: Option<String>,
    /// The OIDC issuer in the certificate, matched exactly.
    #[arg(long, group = "issuer", conflicts_with = "certificate_oidc_issuer_regexp")]
    pub certificate_oidc_issuer: Option<String>,
    /// The OIDC issuer as a regular expression.
    #[arg(long, value_name = "RE", group = "issuer")]
    pub certificate_oidc_issuer_regexp: Option<String>,
    /// A PEM public key, for bundles signed with a managed key instead of a certificate.
    #[arg(long, value_name = "FILE", conflicts_with = "issuer")]
    pub key: Option<PathBuf>,
    /// Accept a key-based signature that has no transparency-log entry (air-gapped signers, as cosign's
    /// flag of the same name). Keyless signatures always need the log.
    #[arg(long)]
    pub insecure_ignore_tlog: bool,
    /// Sigstore's trusted_root.json (default: the production root embedded in verdict; nothing is fetched).
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,
    /// The artifact: a file, or its digest `sha256:HEX`.
    #[arg(value_name = "FILE|sha256:HEX")]
    pub artifact: String,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = EvalOutput::Table)]
    pub output: EvalOutput,
}
