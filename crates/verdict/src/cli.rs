//! Command-line arguments, kept apart from the logic that acts on them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// verdict: policy-as-code compliance for local, CI and admission.
#[derive(Debug, Parser)]
#[command(name = "verdict", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug, -vvv trace); VERDICT_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate and evaluate environment policies.
    #[command(subcommand)]
    Policy(PolicyCommand),
}

/// `verdict policy …`
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Check environment policy files; exit 0 when all are valid, 2 otherwise.
    Validate(ValidateArgs),
    /// Evaluate every artifact of an evidence document against environment policies; exit 0 when all are
    /// compliant, 1 when any is not, 2 on invalid input.
    Eval(EvalArgs),
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
