//! `verdict bundle build|inspect`.

use anyhow::anyhow;
use serde_json::json;
use verdict_bundle::registry::{Credentials, RegistryError};
use verdict_bundle::{BuildError, BuildOptions, BundleError, Origin, SourceDir};
use verdict_core::ExitStatus;

use crate::cli::{BundleTrust, ValidateOutput};
use crate::cli_bundle::{BundleBuildArgs, BundleCommand, BundleInspectArgs, BundlePullArgs, BundlePushArgs};
use crate::error::{CliError, CliResult};
use crate::render::{counted, print_json, say};

/// Runs `bundle …`.
pub fn run(command: BundleCommand, trust: &BundleTrust) -> CliResult {
    match command {
        BundleCommand::Build(args) => build(&args, trust),
        BundleCommand::Inspect(args) => inspect(&args),
        BundleCommand::Push(args) => push(&args),
        BundleCommand::Pull(args) => pull(&args, trust),
        BundleCommand::Sign(args) => sign(&args),
        BundleCommand::Verify(args) => {
            if trust.bundle_policy.is_none() {
                return Err(CliError::invalid(anyhow!("bundle verify needs --bundle-policy FILE")));
            }
            let reference = args.reference.strip_prefix("oci://").unwrap_or(&args.reference);
            let trusted = trusted_digest(reference, trust, &args.registry)?;
            say(format_args!("{reference}: trusted ({trusted})"));
            Ok(ExitStatus::Ok)
        }
    }
}

fn sign(args: &crate::cli_bundle::BundleSignArgs) -> CliResult {
    let pem = std::fs::read_to_string(&args.key)
        .map_err(|err| CliError::invalid(anyhow!("cannot read --key {}: {err}", args.key.display())))?;
    // cosign's encrypted keys take their password from COSIGN_PASSWORD, as cosign does (empty is a
    // password too).
    let password = std::env::var("COSIGN_PASSWORD").ok();
    let key = verdict_bundle::sign::SigningKey::from_pem_with_password(&pem, password.as_deref())
        .map_err(|err| CliError::invalid(anyhow!("--key {}: {err}", args.key.display())))?;
    let reference = args.reference.strip_prefix("oci://").unwrap_or(&args.reference);
    let layout = if args.legacy_tag {
        verdict_bundle::registry::SignatureLayout::LegacyTag
    } else {
        verdict_bundle::registry::SignatureLayout::Referrer
    };
    let signed = crate::commands::ledger::runtime()?
        .block_on(verdict_bundle::registry::sign(reference, &key, &credentials(&args.registry), layout))
        .map_err(registry_error)?;
    let how = match layout {
        verdict_bundle::registry::SignatureLayout::Referrer => "a Sigstore bundle referrer",
        verdict_bundle::registry::SignatureLayout::LegacyTag => "cosign's .sig tag",
    };
    say(format_args!("signed {signed} ({how})"));
    Ok(ExitStatus::Ok)
}

/// The manifest digest `reference` may be used at: checked against the bundle policy (signatures by
/// the verifier `verify image` uses), or — with `--insecure-unsigned` only — whatever the registry holds.
pub fn trusted_digest(
    reference: &str,
    trust: &BundleTrust,
    registry: &crate::cli_bundle::BundleRegistryArgs,
) -> Result<String, CliError> {
    let Some(policy_file) = &trust.bundle_policy else {
        if !trust.insecure_unsigned {
            return Err(CliError::invalid(anyhow!(
                "{reference}: a bundle from a registry is used only after its signatures are checked: give \
                 --bundle-policy FILE (or --insecure-unsigned to skip the check)"
            )));
        }
        tracing::warn!("--insecure-unsigned: the signatures of {reference} are not checked");
        return Ok(String::new());
    };
    let file = policy_file.display().to_string();
    let source = std::fs::read_to_string(policy_file)
        .map_err(|err| CliError::invalid(anyhow!("cannot read --bundle-policy {file}: {err}")))?;
    let policy = verdict_imagepolicy::load_image_policy(&file, &source).map_err(|diagnostics| {
        let rendered: Vec<String> = diagnostics.iter().map(|d| d.render(&source)).collect();
        CliError::invalid(anyhow!("the bundle policy does not load:\n{}", rendered.join("\n")))
    })?;
    let verifier =
        verdict_sigstore::BundleVerifier::new(trust.trusted_root.as_deref()).map_err(CliError::invalid)?;
    let options = verdict_images::FetchOptions {
        credentials: match (&registry.registry_username, &registry.registry_password) {
            (Some(username), Some(password)) => {
                verdict_images::Credentials::Basic { username: username.clone(), password: password.clone() }
            }
            _ => verdict_images::Credentials::Anonymous,
        },
        ..verdict_images::FetchOptions::default()
    };
    let trusted = crate::commands::ledger::runtime()?
        .block_on(verdict_bundle::trust::verify_signatures(reference, &policy, &verifier, &options))
        .map_err(registry_error)?;
    Ok(trusted.digest)
}

fn credentials(args: &crate::cli_bundle::BundleRegistryArgs) -> Credentials {
    Credentials { basic: args.registry_username.clone().zip(args.registry_password.clone()) }
}

pub fn registry_error(err: RegistryError) -> CliError {
    match err {
        RegistryError::Invalid(_) | RegistryError::NotFound(_) => CliError::invalid(err),
        RegistryError::Unavailable(_) => CliError::unavailable(err),
        // What the registry served does not match its digests: a decision not to use it.
        RegistryError::Tampered(_) | RegistryError::Untrusted(_) => {
            CliError { status: ExitStatus::Denied, error: err.into() }
        }
    }
}

fn push(args: &BundlePushArgs) -> CliResult {
    let bytes = std::fs::read(&args.bundle)
        .map_err(|err| CliError::invalid(anyhow!("cannot read {}: {err}", args.bundle.display())))?;
    let reference = args.reference.strip_prefix("oci://").unwrap_or(&args.reference).to_owned();
    let manifest_digest = crate::commands::ledger::runtime()?
        .block_on(verdict_bundle::registry::push(&bytes, &reference, &credentials(&args.registry)))
        .map_err(registry_error)?;
    let repository = reference
        .rsplit_once(':')
        .filter(|(_, tag)| !tag.contains('/'))
        .map_or(reference.as_str(), |(r, _)| r);
    let pinned = format!("{repository}@{manifest_digest}");
    match args.format {
        ValidateOutput::Json => print_json(&json!({
            "reference": reference,
            "pinned": pinned,
            "manifest_digest": manifest_digest,
            "bundle_digest": verdict_bundle::archive::digest_of(&bytes),
        }))?,
        ValidateOutput::Text => say(format_args!("pushed {reference}: pin it as {pinned}")),
    }
    Ok(ExitStatus::Ok)
}

/// `reference` pinned to the verified `digest` (unchanged when nothing was verified): pull exactly what
/// was verified, so a tag moved in between cannot swap the content.
pub fn pinned(reference: &str, digest: &str) -> String {
    if digest.is_empty() {
        return reference.to_owned();
    }
    let repository = reference.split('@').next().unwrap_or(reference);
    let repository = repository
        .rsplit_once(':')
        .filter(|(_, tag)| !tag.contains('/'))
        .map_or(repository, |(repository, _)| repository);
    format!("{repository}@{digest}")
}

fn pull(args: &BundlePullArgs, trust: &BundleTrust) -> CliResult {
    let given = args.reference.strip_prefix("oci://").unwrap_or(&args.reference).to_owned();
    let trusted = trusted_digest(&given, trust, &args.registry)?;
    let reference = pinned(&given, &trusted);
    let pulled = crate::commands::ledger::runtime()?
        .block_on(verdict_bundle::registry::pull(&reference, &credentials(&args.registry)))
        .map_err(registry_error)?;
    if let Some(file) = &args.file {
        std::fs::write(file, &pulled.bytes)
            .map_err(|err| CliError::invalid(anyhow!("cannot write {}: {err}", file.display())))?;
    }
    if let Some(dir) = &args.output_dir {
        unpack(&pulled.bundle, dir)?;
    }
    match args.format {
        ValidateOutput::Json => print_json(&json!({
            "reference": reference,
            "manifest_digest": pulled.manifest_digest,
            "bundle_digest": pulled.bundle.digest,
            "manifest": pulled.bundle.manifest,
        }))?,
        ValidateOutput::Text => {
            say(format_args!(
                "pulled {reference} (manifest {}, bundle {}): every file matches its manifest",
                pulled.manifest_digest, pulled.bundle.digest
            ));
            print_sources(&pulled.bundle.manifest);
        }
    }
    Ok(ExitStatus::Ok)
}

/// Writes `manifest.json` and every file as `DIR/SOURCE/PATH`, into a directory that is new or empty
/// (files left from another bundle would be read as this one's).
fn unpack(bundle: &verdict_bundle::Bundle, dir: &std::path::Path) -> Result<(), CliError> {
    let io =
        |what: &std::path::Path, err: std::io::Error| CliError::invalid(anyhow!("{}: {err}", what.display()));
    if dir.exists() && std::fs::read_dir(dir).map_err(|err| io(dir, err))?.next().is_some() {
        return Err(CliError::invalid(anyhow!(
            "{} is not empty: unpack a bundle into a new directory",
            dir.display()
        )));
    }
    std::fs::create_dir_all(dir).map_err(|err| io(dir, err))?;
    let manifest =
        serde_json::to_vec_pretty(&bundle.manifest).map_err(|err| CliError::invalid(anyhow!("{err}")))?;
    std::fs::write(dir.join("manifest.json"), manifest).map_err(|err| io(dir, err))?;
    for (path, content) in &bundle.files {
        // Paths were checked when the bundle was read: relative, no `..`.
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|err| io(parent, err))?;
        }
        std::fs::write(&target, content).map_err(|err| io(&target, err))?;
    }
    Ok(())
}

fn build(args: &BundleBuildArgs, trust: &BundleTrust) -> CliResult {
    let mut sources = Vec::with_capacity(args.sources.len());
    for (name, value) in &args.sources {
        let source = match crate::policy_sources::bundle_source(value, trust)? {
            Some((dir, bundle)) => SourceDir { name: name.clone(), dir, bundle: Some(bundle) },
            None => SourceDir { name: name.clone(), dir: value.clone(), bundle: None },
        };
        sources.push(source);
    }
    let options = BuildOptions {
        run_tests: !args.skip_tests,
        test_timeout: args.test_timeout,
        modes: args.modes.iter().cloned().collect(),
    };
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
    if let Some(file) = &args.output_file {
        std::fs::write(file, &report.bytes)
            .map_err(|err| CliError::invalid(anyhow!("cannot write {}: {err}", file.display())))?;
    }
    let pushed = match &args.push {
        Some(reference) => {
            let reference = reference.strip_prefix("oci://").unwrap_or(reference).to_owned();
            let manifest_digest = crate::commands::ledger::runtime()?
                .block_on(verdict_bundle::registry::push(
                    &report.bytes,
                    &reference,
                    &credentials(&args.registry),
                ))
                .map_err(registry_error)?;
            Some(pinned(&reference, &manifest_digest))
        }
        None => None,
    };
    let written = args.output_file.as_ref().map_or_else(|| "bundle".to_owned(), |f| f.display().to_string());
    let files: usize = report.manifest.sources.iter().map(|s| s.files.len()).sum();
    match args.format {
        ValidateOutput::Json => print_json(&json!({
            "built": true,
            "file": args.output_file,
            "pushed": pushed,
            "digest": report.digest,
            "size": report.bytes.len(),
            "tests_passed": report.tests_passed,
            "tests_run": !args.skip_tests,
            "manifest": report.manifest,
        }))?,
        ValidateOutput::Text => {
            say(format_args!(
                "built {written} ({}): {}, {}; {}",
                report.digest,
                counted(report.manifest.sources.len(), "source", "sources"),
                counted(files, "file", "files"),
                if args.skip_tests {
                    "tests skipped".to_owned()
                } else {
                    format!("{} passed", counted(report.tests_passed, "test", "tests"))
                }
            ));
            if let Some(pinned) = &pushed {
                say(format_args!("pushed: pin it as {pinned}"));
            }
            print_sources(&report.manifest);
        }
    }
    Ok(ExitStatus::Ok)
}

/// One line saying where a source came from (for a bundle, each of its sources follows, indented).
fn describe_origin(origin: &Origin) -> String {
    match origin {
        Origin::Git { url, commit, path } => format!(
            "git {}{} at {}",
            url.as_deref().unwrap_or("(no remote)"),
            if path.is_empty() { String::new() } else { format!(" /{path}") },
            commit.get(..12).unwrap_or(commit)
        ),
        Origin::Directory { sha256 } => {
            format!("directory, content sha256:{}", sha256.get(..12).unwrap_or(sha256))
        }
        Origin::Bundle { reference, digest, sources } => {
            let nested: Vec<String> =
                sources.iter().map(|s| format!("{}: {}", s.name, describe_origin(&s.origin))).collect();
            format!("bundle {reference} ({digest}) of {}", nested.join("; "))
        }
    }
}

fn print_sources(manifest: &verdict_bundle::BundleManifest) {
    for source in &manifest.sources {
        let origin = describe_origin(&source.origin);
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
    let bundle = match args.bundle.strip_prefix("oci://") {
        Some(reference) => {
            crate::commands::ledger::runtime()?
                .block_on(verdict_bundle::registry::pull(reference, &credentials(&args.registry)))
                .map_err(registry_error)?
                .bundle
        }
        None => {
            let bytes = std::fs::read(&args.bundle)
                .map_err(|err| CliError::invalid(anyhow!("cannot read {}: {err}", args.bundle)))?;
            verdict_bundle::read_bundle(&bytes).map_err(|err| {
                let message = anyhow!("{}: {err}", args.bundle);
                match err {
                    BundleError::Malformed(_) => CliError::invalid(message),
                    // An altered bundle is a decision, not a usage error: do not use it.
                    BundleError::Tampered(_) => CliError { status: ExitStatus::Denied, error: message },
                }
            })?
        }
    };
    match args.format {
        ValidateOutput::Json => print_json(&json!({"digest": bundle.digest, "manifest": bundle.manifest}))?,
        ValidateOutput::Text => {
            say(format_args!("{} ({}): every file matches its manifest", args.bundle, bundle.digest));
            print_sources(&bundle.manifest);
        }
    }
    Ok(ExitStatus::Ok)
}
