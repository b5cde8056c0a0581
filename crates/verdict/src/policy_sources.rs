//! Policy arguments that name a bundle (`oci://REF[@sha256:…][#PATH]`, `FILE.tar[#PATH]`) become paths
//! inside the bundle, unpacked in the cache, before a command runs: every command that reads policy files
//! reads bundles the same way, and relative references between policy files keep working. A bundle
//! from a registry is used only after its signatures pass `--bundle-policy` (or with
//! `--insecure-unsigned`, which warns); its digest and the source commit of each file used are kept for
//! the decisions that name them.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::anyhow;
use verdict_bundle::BundleError;
use verdict_bundle::registry::Credentials;
use verdict_bundle::resolve::{BundleArg, Location, PolicyProvenance, Unpacked};

use crate::cli::{BundleTrust, Command, EvaluateCommand, PolicyCommand};
use crate::error::CliError;

/// Every policy path taken from a bundle in this run, with where it came from.
static USED: Mutex<Vec<(PathBuf, PolicyProvenance)>> = Mutex::new(Vec::new());

/// Where `path` (a policy file used in this run) came from, when it came from a bundle.
pub fn provenance_of(path: &Path) -> Option<PolicyProvenance> {
    let used = USED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    used.iter().find(|(root, _)| path.starts_with(root)).map(|(_, provenance)| provenance.clone())
}

/// The properties that name the bundle `path` came from, for reports (PolicyReport result properties,
/// JUnit suite properties, SARIF rule properties); empty when it came from no bundle.
pub fn bundle_properties(path: &Path) -> std::collections::BTreeMap<String, String> {
    let Some(provenance) = provenance_of(path) else { return Default::default() };
    let mut properties = std::collections::BTreeMap::from([
        ("verdict.dev/bundle-digest".to_owned(), provenance.bundle_digest),
        ("verdict.dev/bundle-source".to_owned(), provenance.source),
    ]);
    if let Some(reference) = provenance.reference {
        properties.insert("verdict.dev/bundle-reference".to_owned(), reference);
    }
    if let Some(commit) = provenance.commit {
        properties.insert("verdict.dev/source-commit".to_owned(), commit);
    }
    properties
}

/// One line naming where a bundle's policy came from: `bundle sha256:… (REFERENCE), source NAME at
/// commit C`.
pub fn describe(provenance: &PolicyProvenance) -> String {
    let mut line = format!("bundle {}", provenance.bundle_digest);
    if let Some(reference) = &provenance.reference {
        line.push_str(&format!(" ({reference})"));
    }
    line.push_str(&format!(", source {}", provenance.source));
    if let Some(commit) = &provenance.commit {
        line.push_str(&format!(" at commit {commit}"));
    }
    line
}

/// The default modes of the bundles used in this run, per enforcement point.
static MODES: Mutex<Vec<std::collections::BTreeMap<String, String>>> = Mutex::new(Vec::new());

/// The mode the bundles used in this run set for `point` (`local`, `ci`, `admission`); when several set
/// one, the strictest (enforce over warn over audit).
pub fn bundle_mode(point: &str) -> Option<String> {
    let modes = MODES.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    modes
        .iter()
        .filter_map(|modes| modes.get(point))
        .max_by_key(|mode| verdict_bundle::manifest::MODES.iter().position(|m| m == mode))
        .cloned()
}

/// The default modes of every bundle unpacked in this run, by bundle digest.
static MODES_BY_BUNDLE: Mutex<
    std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
> = Mutex::new(std::collections::BTreeMap::new());

/// The mode for `point` set by the manifest of the bundle `path` was taken from, and that bundle's digest.
pub fn bundle_mode_of(path: &Path, point: &str) -> Option<(String, String)> {
    let digest = provenance_of(path)?.bundle_digest;
    let modes = MODES_BY_BUNDLE.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    modes.get(&digest)?.get(point).map(|mode| (mode.clone(), digest.clone()))
}

/// The enforcement point this run is: `ci` when the `CI` variable says so (GitHub Actions, GitLab CI,
/// CircleCI, Jenkins' plugins and most others set `CI=true`), else `local`.
pub fn enforcement_point() -> &'static str {
    let ci = std::env::var("CI").is_ok_and(|value| {
        !matches!(value.trim().to_ascii_lowercase().as_str(), "" | "0" | "false" | "no" | "off")
    });
    if ci { "ci" } else { "local" }
}

/// The `oci://REF:TAG#PATH` the webhook's configuration came from, when it came from a registry tag
/// (what `admission serve --bundle-poll` asks again), and the digest of the bundle it was resolved to.
static ADMISSION_ORIGIN: Mutex<Option<(String, String)>> = Mutex::new(None);

/// See [`ADMISSION_ORIGIN`].
pub fn admission_origin() -> Option<(String, String)> {
    ADMISSION_ORIGIN.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
}

/// Resolves `original` (an `oci://` argument) again: asks the registry, checks the signatures, unpacks
/// a new digest into the cache. Returns the path and the bundle's digest.
pub fn re_resolve(
    original: &str,
    trust: &BundleTrust,
) -> Result<(PathBuf, String, Option<PolicyProvenance>), CliError> {
    let resolver = Resolver { trust, cache: verdict_bundle::resolve::cache_dir(), last_digest: None };
    let Some(arg) = verdict_bundle::resolve::parse_arg(original) else {
        return Err(CliError::invalid(anyhow!("{original} is not a bundle reference")));
    };
    let (unpacked, reference) = resolver.unpack(&arg)?;
    let path = unpacked.path_of(arg.inner.as_deref()).map_err(bundle_error)?;
    let provenance = unpacked.provenance(arg.inner.as_deref(), reference.as_deref());
    // Asked again on every poll of a running webhook: remembered once per path, not once per poll.
    if let Some(provenance) = &provenance {
        let mut used = USED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !used.iter().any(|(known, _)| *known == path) {
            used.push((path.clone(), provenance.clone()));
        }
    }
    Ok((path, unpacked.digest, provenance))
}

/// A `bundle build --source NAME=…` value that names a bundle (`oci://REF`, `FILE.tar`): checked as any
/// bundle argument (a registry's signatures against `--bundle-policy`), unpacked, and described for the
/// new bundle's manifest. `None` when `value` is a directory.
pub fn bundle_source(
    value: &Path,
    trust: &BundleTrust,
) -> Result<Option<(PathBuf, verdict_bundle::build::NestedBundle)>, CliError> {
    let Some(text) = value.to_str() else { return Ok(None) };
    let Some(arg) = verdict_bundle::resolve::parse_arg(text) else { return Ok(None) };
    if arg.inner.is_some() {
        return Err(CliError::invalid(anyhow!(
            "--source {text}: a bundle is a source whole; drop the #PATH"
        )));
    }
    if let Location::File(file) = &arg.location
        && !file.is_file()
    {
        return Err(CliError::invalid(anyhow!("bundle file {}: no such file", file.display())));
    }
    let resolver = Resolver { trust, cache: verdict_bundle::resolve::cache_dir(), last_digest: None };
    let (unpacked, reference) = resolver.unpack(&arg)?;
    let reference = match (reference, &arg.location) {
        (Some(reference), _) => format!("oci://{reference}"),
        (None, Location::File(file)) => file.display().to_string(),
        (None, Location::Registry(reference)) => format!("oci://{reference}"),
    };
    let nested = verdict_bundle::build::NestedBundle {
        reference,
        digest: unpacked.digest.clone(),
        manifest: unpacked.manifest.clone(),
    };
    Ok(Some((unpacked.root, nested)))
}

/// The admission form of a policy file's provenance: the bundle digest, its reference, and the commit
/// of the source the file came from.
pub fn admission_bundle(
    provenance: Option<PolicyProvenance>,
) -> Option<verdict_admission::decision::PolicyBundle> {
    provenance.map(|p| verdict_admission::decision::PolicyBundle {
        digest: p.bundle_digest,
        reference: p.reference,
        commits: p.commit.map(|commit| [(p.source, commit)].into_iter().collect()).unwrap_or_default(),
    })
}

/// Rewrites every policy argument of `command` that names a bundle.
pub fn resolve_command(command: &mut Command, trust: &BundleTrust) -> Result<(), CliError> {
    let mut resolver = Resolver { trust, cache: verdict_bundle::resolve::cache_dir(), last_digest: None };
    // The webhook's configuration from a registry tag: remember where it came from, for --bundle-poll.
    if let Command::Admission(crate::cli_admission::AdmissionCommand::Serve(args)) = &mut *command
        && let Some(config) = args.judge.config.as_ref().and_then(|c| c.to_str()).map(str::to_owned)
        && let Some(BundleArg { location: Location::Registry(reference), .. }) =
            verdict_bundle::resolve::parse_arg(&config)
        && !reference.contains('@')
    {
        let mut path = PathBuf::from(&config);
        resolver.path(&mut path)?;
        let digest = resolver.last_digest.clone().unwrap_or_default();
        *ADMISSION_ORIGIN.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some((config, digest));
        args.judge.config = Some(path);
    }
    let mut one = |path: &mut PathBuf| resolver.path(path);
    match command {
        Command::Policy(PolicyCommand::Validate(args)) => args.files.iter_mut().try_for_each(&mut one),
        Command::Policy(PolicyCommand::Eval(args)) => args.policies.iter_mut().try_for_each(&mut one),
        Command::Policy(PolicyCommand::Lint(args)) => args.files.iter_mut().try_for_each(&mut one),
        Command::Policy(PolicyCommand::Test(args)) => args.paths.iter_mut().try_for_each(&mut one),
        Command::Evaluate(EvaluateCommand::Input(args)) => one(&mut args.rego.policy),
        Command::Evaluate(EvaluateCommand::Trail(args)) => one(&mut args.rego.policy),
        Command::Evaluate(EvaluateCommand::Trails(args)) => one(&mut args.rego.policy),
        Command::Assert(crate::cli_env::AssertCommand::Artifact(args)) => {
            args.policies.iter_mut().try_for_each(|value| {
                let mut path = PathBuf::from(value.as_str());
                one(&mut path)?;
                *value = path.display().to_string();
                Ok(())
            })
        }
        Command::Verify(crate::cli_env::VerifyCommand::Image(args)) => one(&mut args.policy),
        Command::Apply(args) => args.policies.iter_mut().try_for_each(&mut one),
        Command::Test(args) => args.dirs.iter_mut().try_for_each(&mut one),
        Command::Create(crate::cli::CreateCommand::Policy(args)) => one(&mut args.file),
        Command::Admission(command) => {
            use crate::cli_admission::AdmissionCommand as A;
            let judge = match command {
                A::Validate(args) => return one(&mut args.config),
                A::Serve(args) => &mut args.judge,
                A::Review(args) => &mut args.judge,
                A::Replay(args) => &mut args.judge,
                A::Manifests(_) => return Ok(()),
            };
            judge.config.iter_mut().chain(judge.policy.iter_mut()).try_for_each(&mut one)
        }
        _ => Ok(()),
    }
}

struct Resolver<'a> {
    trust: &'a BundleTrust,
    cache: PathBuf,
    /// The digest of the bundle the last argument resolved to.
    last_digest: Option<String>,
}

impl Resolver<'_> {
    fn path(&mut self, path: &mut PathBuf) -> Result<(), CliError> {
        let Some(text) = path.to_str() else { return Ok(()) };
        let Some(arg) = verdict_bundle::resolve::parse_arg(text) else { return Ok(()) };
        // A real file or directory of that name that is not a bundle file is left alone.
        if let Location::File(file) = &arg.location
            && !file.is_file()
        {
            return Err(CliError::invalid(anyhow!("bundle file {}: no such file", file.display())));
        }
        let (unpacked, reference) = self.unpack(&arg)?;
        let resolved = unpacked.path_of(arg.inner.as_deref()).map_err(bundle_error)?;
        self.last_digest = Some(unpacked.digest.clone());
        if !unpacked.manifest.modes.is_empty() {
            MODES
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(unpacked.manifest.modes.clone());
        }
        if let Some(provenance) = unpacked.provenance(arg.inner.as_deref(), reference.as_deref()) {
            USED.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push((resolved.clone(), provenance));
        } else {
            // The whole bundle: each source under its own directory.
            for source in &unpacked.manifest.sources {
                if let Some(provenance) = unpacked.provenance(Some(&source.name), reference.as_deref()) {
                    USED.lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push((unpacked.root.join(&source.name), provenance));
                }
            }
        }
        tracing::info!("{text} is {}", resolved.display());
        *path = resolved;
        Ok(())
    }

    fn unpack(&self, arg: &BundleArg) -> Result<(Unpacked, Option<String>), CliError> {
        let unpacked = self.unpack_location(arg)?;
        MODES_BY_BUNDLE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(unpacked.0.digest.clone(), unpacked.0.manifest.modes.clone());
        Ok(unpacked)
    }

    fn unpack_location(&self, arg: &BundleArg) -> Result<(Unpacked, Option<String>), CliError> {
        match &arg.location {
            // A bundle file is the user's own file, as any policy file is: its digests are checked; it
            // carries no signature.
            Location::File(file) => {
                Ok((verdict_bundle::resolve::unpack_file(file, &self.cache).map_err(bundle_error)?, None))
            }
            Location::Registry(reference) => Ok((self.unpack_registry(reference)?, Some(reference.clone()))),
        }
    }

    fn unpack_registry(&self, reference: &str) -> Result<Unpacked, CliError> {
        let policy_text = match &self.trust.bundle_policy {
            Some(file) => Some(std::fs::read_to_string(file).map_err(|err| {
                CliError::invalid(anyhow!("cannot read --bundle-policy {}: {err}", file.display()))
            })?),
            None if self.trust.insecure_unsigned => None,
            None => {
                return Err(CliError::invalid(anyhow!(
                    "{reference}: a bundle from a registry is used only after its signatures are checked: give \
                     --bundle-policy FILE (or --insecure-unsigned to skip the check)"
                )));
            }
        };
        let key = verdict_bundle::resolve::trust_key(policy_text.as_deref());
        // A pinned reference already pulled and trusted under the same policy: no network needed.
        if let Some((_, pinned)) = reference.split_once('@')
            && let Some(bundle_digest) = manifest_index(&self.cache, pinned)
            && let Some(unpacked) = verdict_bundle::resolve::cached_trusted(&self.cache, &bundle_digest, &key)
        {
            return Ok(unpacked);
        }
        let registry =
            crate::cli_bundle::BundleRegistryArgs { registry_username: None, registry_password: None };
        let trusted = crate::commands::bundle::trusted_digest(reference, self.trust, &registry)?;
        let pull_by = crate::commands::bundle::pinned(reference, &trusted);
        let pulled = crate::commands::ledger::runtime()?
            .block_on(verdict_bundle::registry::pull(&pull_by, &Credentials::default()))
            .map_err(crate::commands::bundle::registry_error)?;
        let unpacked =
            verdict_bundle::resolve::unpack_into_cache(&pulled.bundle, &self.cache).map_err(bundle_error)?;
        verdict_bundle::resolve::mark_trusted(&unpacked, &key);
        remember_manifest(&self.cache, &pulled.manifest_digest, &unpacked.digest);
        Ok(unpacked)
    }
}

fn bundle_error(err: BundleError) -> CliError {
    match err {
        BundleError::Malformed(_) => CliError::invalid(err),
        BundleError::Tampered(_) => CliError { status: verdict_core::ExitStatus::Denied, error: err.into() },
    }
}

/// The bundle digest a manifest digest was pulled as (the cache's index).
fn manifest_index(cache: &Path, manifest_digest: &str) -> Option<String> {
    let text =
        std::fs::read_to_string(cache.join("manifests").join(manifest_digest.replace(':', "-"))).ok()?;
    Some(text.trim().to_owned())
}

fn remember_manifest(cache: &Path, manifest_digest: &str, bundle_digest: &str) {
    let dir = cache.join("manifests");
    if std::fs::create_dir_all(&dir).is_ok() {
        let _ = std::fs::write(dir.join(manifest_digest.replace(':', "-")), bundle_digest);
    }
}
