//! Arguments of `verdict apply` and `verdict test`: Kyverno policies on manifests, and `kyverno test`
//! suites (the flags a Kyverno user reaches for, under the same names).

use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// How failures are treated by `verdict apply`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ApplyMode {
    /// Report failures and exit 0 (local development).
    Warn,
    /// Any failure or error exits 1, whatever the policy's own action (CI).
    Enforce,
}

/// Output formats of `verdict apply`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ApplyOutput {
    /// One row per (policy, rule, resource) and a summary.
    Table,
    /// Every result and the summary as JSON.
    Json,
    /// `wgpolicyk8s.io/v1alpha2` PolicyReport / ClusterPolicyReport objects in a `v1` List (for `kubectl apply -f -`).
    PolicyReport,
    /// JUnit XML (a suite per policy).
    Junit,
    /// SARIF 2.1.0.
    Sarif,
}

/// The admission operation resources are judged under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OperationArg {
    /// A new resource.
    Create,
    /// A changed resource (compared with itself, as Kyverno's CLI does).
    Update,
    /// A deleted resource.
    Delete,
}

/// Arguments of `verdict apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Kyverno policy files or directories (ClusterPolicy / Policy YAML, multi-document; `-` reads stdin).
    #[arg(required = true, value_name = "POLICY_PATH")]
    pub policies: Vec<PathBuf>,
    /// Resource manifests: a file or directory (repeatable; `-` reads stdin).
    #[arg(long = "resource", short = 'r', required = true, value_name = "FILE")]
    pub resources: Vec<PathBuf>,
    /// A values file (`cli.kyverno.io/v1alpha1` Values): context data, request fields, namespace labels.
    #[arg(long = "values", visible_alias = "values-file", short = 'f', value_name = "FILE")]
    pub values: Option<PathBuf>,
    /// A user info file (`cli.kyverno.io/v1alpha1` UserInfo): the requester's username, groups, roles.
    #[arg(long, visible_alias = "userinfo", value_name = "FILE")]
    pub user_info: Option<PathBuf>,
    /// The operation the resources are judged under.
    #[arg(long, value_enum, default_value_t = OperationArg::Create)]
    pub operation: OperationArg,
    /// warn: report failures, exit 0; enforce: any failure exits 1. Default: each policy's own
    /// failure action (Enforce fails the run, Audit reports).
    #[arg(long, value_enum)]
    pub mode: Option<ApplyMode>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = ApplyOutput::Table)]
    pub output: ApplyOutput,
}

/// Output formats of `verdict test`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TestOutput {
    /// Every row, then `Test Summary: N tests passed and M tests failed`.
    Table,
    /// Every test file with its rows.
    Json,
    /// JUnit XML (a suite per test file, a case per row).
    Junit,
}

/// Arguments of `verdict test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// Directories searched recursively for test files, or test files.
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// The test file name to look for.
    #[arg(long, default_value = "kyverno-test.yaml")]
    pub file_name: String,
    /// Only the rows whose policy, rule and resource match: `"policy=p, rule=r, resource=x"` (wildcards allowed).
    #[arg(long, value_name = "SELECTOR")]
    pub test_case_selector: Option<String>,
    /// Show each row's message.
    #[arg(long)]
    pub detailed_results: bool,
    /// Show only the rows that failed.
    #[arg(long)]
    pub fail_only: bool,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = TestOutput::Table)]
    pub output: TestOutput,
}
