//! `verdict`: the command-line edge. Parses arguments, runs a command from the library crates, prints its
//! output and exits with the documented code (0 ok, 1 denied, 2 invalid input, 3 unavailable).

mod build_info;
mod cli;
mod cli_admission;
mod cli_bundle;
mod cli_env;
mod cli_kyverno;
mod commands;
mod error;
mod input;
mod ledger_backend;
mod policy_sources;
mod render;

use std::os::fd::AsFd;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use crate::cli::{Cli, Command};

/// The process's stderr as it was at start-up (see the Rego watchdog's handler).
static REAL_STDERR: std::sync::OnceLock<Option<std::fs::File>> = std::sync::OnceLock::new();

fn main() -> ExitCode {
    // One TLS crypto provider for every rustls user (reqwest now; the webhook server later), chosen
    // before any of them starts: with none or two installed, rustls panics at first use.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    install_panic_hook();
    let mut cli = parse_arguments();
    render::set_quiet(cli.quiet);
    render::set_verbose(cli.verbose > 0);
    cli.ledger.may_create = cli.command.records() && !cli.ledger.dry_run;
    // A Rego evaluation stuck in one long builtin call past its budget cannot be preempted on the
    // calling thread: the command fails with the timeout rather than hang (never an allow).
    // Written to a copy of stderr taken now: `evaluate` silences fd 2 while the engine runs.
    let _ = REAL_STDERR.set(std::io::stderr().as_fd().try_clone_to_owned().ok().map(std::fs::File::from));
    // A long-running server keeps serving: its requests have their own deadline, the overrun is logged.
    let serving = matches!(&cli.command, Command::Server(_))
        || matches!(&cli.command, Command::Admission(cli_admission::AdmissionCommand::Serve(_)));
    if !serving {
        verdict_rego::watchdog::set_overrun_handler(|budget| {
            let message = format!(
                "Error: the policy evaluation exceeded its time budget of {budget:?} (inside one builtin call)\n"
            );
            match REAL_STDERR.get() {
                Some(Some(stderr)) => {
                    let _ = std::io::Write::write_all(&mut &*stderr, message.as_bytes());
                }
                _ => anstream::eprint!("{message}"),
            }
            std::process::exit(i32::from(verdict_core::ExitStatus::Invalid.code()));
        });
    }
    let json_logs = matches!(&cli.command, Command::Server(args) if args.log_format == cli::LogFormat::Json);
    init_logging(cli.verbose, json_logs, serving);
    let outcome =
        policy_sources::resolve_command(&mut cli.command, &cli.bundle_trust).and_then(|()| {
            match cli.command {
                Command::Policy(command) => commands::policy::run(command),
                Command::Evaluate(command) => commands::evaluate::run(command, &cli.ledger),
                Command::Bench(command) => commands::bench::run(command, &cli.ledger),
                Command::Fingerprint(args) => commands::fingerprint::run(&args),
                Command::Ledger(command) => commands::ledger::run(command, &cli.ledger),
                Command::Create(command) => commands::evidence::create(command, &cli.ledger),
                Command::Begin(command) => commands::evidence::begin(command, &cli.ledger),
                Command::Attest(command) => commands::evidence::attest(command, &cli.ledger),
                Command::List(command) => commands::evidence::list(command, &cli.ledger),
                Command::Get(command) => commands::evidence::get(command, &cli.ledger),
                Command::Tag(command) => commands::evidence::tag(command, &cli.ledger),
                Command::Bundle(command) => commands::bundle::run(command, &cli.bundle_trust),
                Command::Archive(command) => commands::environments::archive(command, &cli.ledger),
                Command::Search(args) => commands::lookup::search(&args, &cli.ledger),
                Command::Demo => commands::demo::run(&cli.ledger),
                Command::Server(args) => commands::server::run(args, &cli.ledger),
                Command::Snapshot(command) => commands::environments::snapshot(command, &cli.ledger),
                Command::Diff(command) => commands::environments::diff(command, &cli.ledger),
                Command::Log(command) => commands::environments::log(command, &cli.ledger),
                Command::AttachPolicy(args) => commands::environments::attach(&args, true, &cli.ledger),
                Command::DetachPolicy(args) => commands::environments::attach(&args, false, &cli.ledger),
                Command::Assert(command) => commands::assert::run(command, &cli.ledger),
                Command::Allow(command) => commands::environments::allow(command, &cli.ledger),
                Command::Verify(command) => commands::verify::run(command),
                Command::Admission(command) => {
                    commands::admission::run(command, &cli.ledger, &cli.bundle_trust)
                }
                Command::Apply(args) => commands::kyverno::apply(&args),
                Command::Test(args) => commands::kyverno::test(&args),
                Command::Completions(args) => {
                    clap_complete::generate(
                        args.shell,
                        &mut command_line(),
                        "verdict",
                        &mut std::io::stdout(),
                    );
                    Ok(verdict_core::ExitStatus::Ok)
                }
            }
        });
    match outcome {
        Ok(status) => ExitCode::from(status.code()),
        // The reader of stdout went away (`| head`): end quietly; what was written stands.
        Err(err) if is_broken_pipe(&err.error) => ExitCode::SUCCESS,
        Err(err) => {
            // Kosli's CLI prints "Error: …"; scripts ported from it may grep for that.
            anstream::eprintln!("{}Error:{} {err}", render::ERROR.render(), render::ERROR.render_reset());
            ExitCode::from(err.status.code())
        }
    }
}

/// Parses the command line, then fills the ledger options from their environment variables.
fn parse_arguments() -> Cli {
    let matches = command_line().get_matches();
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|err| err.exit());
    cli.ledger.fill_from_env(|name| std::env::var(name).ok());
    cli
}

/// The whole command line as clap sees it (also what `verdict completions` describes). An environment
/// variable set to the empty string counts as unset, as in Kosli's CLI: CI systems set undefined
/// variables to "". The server takes no client flags, so its help does not list them.
pub(crate) fn command_line() -> clap::Command {
    // A subcommand's own argument shadows a global one of the same id: the server's hidden copies keep
    // the client flags out of `server --help` (they still parse, and mean nothing there).
    ignore_empty_env(Cli::command()).mut_subcommand("server", |server| {
        server
            .arg(clap::Arg::new("host").long("host").hide(true))
            .arg(clap::Arg::new("api_token").long("api-token").hide(true))
            .arg(clap::Arg::new("dry_run").long("dry-run").action(clap::ArgAction::SetTrue).hide(true))
    })
}

/// Drops the environment fallback of every argument whose variable is set but empty.
fn ignore_empty_env(command: clap::Command) -> clap::Command {
    command
        .mut_args(|arg| {
            let empty = arg.get_env().and_then(std::env::var_os).is_some_and(|value| value.is_empty());
            if empty { arg.env(None) } else { arg }
        })
        .mut_subcommands(ignore_empty_env)
}

/// Logs go to stderr so stdout stays machine-readable; `VERDICT_LOG` (e.g. `debug`) or `-v` raise the level.
/// The server logs every request at info by default, as text or as one JSON object per line.
fn init_logging(verbose: u8, json: bool, server: bool) {
    let default = match verbose {
        0 if server => "info,sqlx=error",
        0 => "warn,sqlx=error",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("VERDICT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false);
    if json {
        builder.json().with_current_span(true).init();
    } else {
        builder.init();
    }
}

/// Panics inside the Rego engine are caught and reported as evaluation errors; keep the default hook's
/// message (and backtrace) for every other thread, where a panic is a bug in verdict.
fn install_panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if verdict_rego::watchdog::evaluating() {
            tracing::debug!("panic inside the Rego engine: {info}");
            return;
        }
        // `verdict … | head -1`: the reader went away; what was written stands, as with Unix tools.
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

/// Whether `err` comes from writing to a closed stdout (a pipe whose reader exited).
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || cause
                .downcast_ref::<serde_json::Error>()
                .is_some_and(|json| json.io_error_kind() == Some(std::io::ErrorKind::BrokenPipe))
    })
}
