//! `verdict bundle build|inspect`.

use anyhow::anyhow;
use serde_json::json;
use verdict_bundle::{BuildError, BuildOptions, BundleError, Origin, SourceDir};
use verdict_core::ExitStatus;

use crate::cli::ValidateOutput;
use crate::cli_bundle::{BundleBuildArgs, BundleCommand, BundleInspectArgs};
use crate::error::{CliError, CliResult};
use crate::render::{counted, print_json, say};

/// Runs `bundle …`.
pub fn run(command: BundleCommand) -> CliResult {
    match command {
        BundleCommand::Build(args) => build(&args),
        BundleCommand::Inspect(args) => inspect(&args),
    }
}

fn build(args: &BundleBuildArgs) -> CliResult {
    let sources: Vec<SourceDir> =
        args.sources.iter().map(|(name, dir)| SourceDir { name: name.clone(), dir: dir.clone() }).collect();
    let options = BuildOptions { run_tests: !args.skip_tests, test_timeout: args.test_timeout };
    let report = match verdict_bundle::build(&sources, &options) {
        Ok(report) => report,
        Err(BuildError::Invalid(problems)) => {
            if args.format == ValidateOutput::Json {
                print_json(&json!({"built": false, "problems": problems}))?;
            }
            for problem in &problems {
                anstream::eprintln!("error: {problem}");
            }
            return Err(CliError::invalid(anyhow!("{}", BuildError::Invalid(problems))));
        }
        Err(BuildError::TestsFailed { failures, passed }) => {
            if args.format == ValidateOutput::Json {
                print_json(&json!({"built": false, "tests_passed": passed, "test_failures": failures}))?;
            }
            for failure in &failures {
                anstream::eprintln!("FAIL {} {}: {}", failure.file, failure.test, failure.message);
            }
            anstream::eprintln!(
                "{} failed, {passed} passed; no bundle was written (fix the tests, or --skip-tests)",
                counted(failures.len(), "test", "tests")
            );
            return Ok(ExitStatus::Denied);
        }
        Err(BuildError::Usage(message)) => return Err(CliError::invalid(anyhow!("{message}"))),
        Err(err @ BuildError::Archive(_)) => return Err(CliError::invalid(err)),
    };
    std::fs::write(&args.output_file, &report.bytes)
        .map_err(|err| CliError::invalid(anyhow!("cannot write {}: {err}", args.output_file.display())))?;
    let files: usize = report.manifest.sources.iter().map(|s| s.files.len()).sum();
    match args.format {
        ValidateOutput::Json => print_json(&json!({
            "built": true,
            "file": args.output_file,
            "digest": report.digest,
            "size": report.bytes.len(),
            "tests_passed": report.tests_passed,
            "tests_run": !args.skip_tests,
            "manifest": report.manifest,
        }))?,
        ValidateOutput::Text => {
            say(format_args!(
                "built {} ({}): {}, {}; {}",
                args.output_file.display(),
                report.digest,
                counted(report.manifest.sources.len(), "source", "sources"),
                counted(files, "file", "files"),
                if args.skip_tests {
                    "tests skipped".to_owned()
                } else {
                    format!("{} passed", counted(report.tests_passed, "test", "tests"))
                }
            ));
            print_sources(&report.manifest);
        }
    }
    Ok(ExitStatus::Ok)
}

fn print_sources(manifest: &verdict_bundle::BundleManifest) {
    for source in &manifest.sources {
        let origin = match &source.origin {
            Origin::Git { url, commit, path } => format!(
                "git {}{} at {}",
                url.as_deref().unwrap_or("(no remote)"),
                if path.is_empty() { String::new() } else { format!(" /{path}") },
                commit.get(..12).unwrap_or(commit)
            ),
            Origin::Directory { sha256 } => {
                format!("directory, content sha256:{}", sha256.get(..12).unwrap_or(sha256))
            }
        };
        say(format_args!("  {}: {origin}", source.name));
        for file in &source.files {
            say(format_args!(
                "    {}/{}  {:?}  {}",
                source.name,
                file.path,
                file.kind,
                file.sha256.get(..12).unwrap_or(&file.sha256)
            ));
        }
    }
}

fn inspect(args: &BundleInspectArgs) -> CliResult {
    let bytes = std::fs::read(&args.bundle)
        .map_err(|err| CliError::invalid(anyhow!("cannot read {}: {err}", args.bundle.display())))?;
    let bundle = verdict_bundle::read_bundle(&bytes).map_err(|err| {
        let message = anyhow!("{}: {err}", args.bundle.display());
        match err {
            BundleError::Malformed(_) => CliError::invalid(message),
            // An altered bundle is a decision, not a usage error: do not use it.
            BundleError::Tampered(_) => CliError { status: ExitStatus::Denied, error: message },
        }
    })?;
    match args.format {
        ValidateOutput::Json => print_json(&json!({"digest": bundle.digest, "manifest": bundle.manifest}))?,
        ValidateOutput::Text => {
            say(format_args!(
                "{} ({}): every file matches its manifest",
                args.bundle.display(),
                bundle.digest
            ));
            print_sources(&bundle.manifest);
        }
    }
    Ok(ExitStatus::Ok)
}
