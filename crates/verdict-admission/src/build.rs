//! The webhook's judge built from an [`AdmissionConfig`]: every policy file and the trust root loaded
//! (refused with `file:line:column`) before anything is served, policies grouped by the mode they fail
//! in. A library function, so the CLI's `serve`, `review`, `validate` and `replay` — and any other host
//! of the webhook — build the same judge from the same configuration.

use std::path::PathBuf;

use sha2::{Digest, Sha256};
use verdict_imagepolicy::{ImagePolicy, NoMatch, PolicyMode, load_image_policy};
use verdict_rego::Limits;
use verdict_sigstore::BundleVerifier;

use crate::cache::VerificationCache;
use crate::config::AdmissionConfig;
use crate::decision::{Mode, Settings};
use crate::judge::{PolicyJudge, RegistryAccess};
use crate::manifest::ManifestPolicies;

/// Why a configuration's judge cannot be built. Each names the file; policy errors carry every
/// diagnostic rendered with its line and column.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A file the configuration names cannot be read.
    #[error("cannot read the {what} {}: {message}", path.display())]
    Read {
        /// The image policy or trusted root.
        what: &'static str,
        /// Its path.
        path: PathBuf,
        /// The operating system's reason.
        message: String,
    },
    /// An image policy does not load.
    #[error("the image policy does not load:\n{0}")]
    Policy(String),
    /// The trust root does not load.
    #[error("{0}")]
    TrustRoot(String),
    /// A manifest (Kyverno) policy does not load.
    #[error("{0}")]
    Manifest(String),
}

/// The mode a policy's own `mode` stands for at admission.
fn admission_mode(mode: PolicyMode) -> Mode {
    match mode {
        PolicyMode::Audit => Mode::Audit,
        PolicyMode::Warn => Mode::Warn,
        PolicyMode::Enforce => Mode::Enforce,
    }
}

/// The judge and settings `config` describes. Policies are grouped by mode — the configuration's entry,
/// else the policy's own, else the configured mode — and the policies of a group are one policy whose
/// rules all apply. The cache key includes a digest of every policy, its mode and the trust root, so a
/// change of any invalidates at once.
pub fn build_judge(config: &AdmissionConfig) -> Result<(PolicyJudge, Settings), BuildError> {
    let mut groups: Vec<(Option<Mode>, ImagePolicy)> = Vec::new();
    let mut digest = Sha256::new();
    for entry in &config.policies {
        let file = entry.path.display().to_string();
        let source = std::fs::read_to_string(&entry.path).map_err(|err| BuildError::Read {
            what: "image policy",
            path: entry.path.clone(),
            message: err.to_string(),
        })?;
        let policy = load_image_policy(&file, &source).map_err(|diagnostics| {
            BuildError::Policy(diagnostics.iter().map(|d| d.render(&source)).collect::<Vec<_>>().join("\n"))
        })?;
        // A mode equal to the configured one is the configured mode's group.
        let mode = entry.mode.or(policy.mode.map(admission_mode)).filter(|mode| *mode != config.mode);
        match groups.iter_mut().find(|(m, _)| *m == mode) {
            Some((_, merged)) => {
                // An image no rule matches is denied unless a policy says otherwise, explicitly.
                if policy.no_match == NoMatch::Allow {
                    merged.no_match = NoMatch::Allow;
                }
                merged.rules.extend(policy.rules);
            }
            None => groups.push((mode, policy)),
        }
        digest.update(source.as_bytes());
        digest.update(format!("{mode:?}").as_bytes());
    }
    let no_match = groups.iter().any(|(_, p)| p.no_match == NoMatch::Allow);
    match &config.trusted_root {
        Some(root) => digest.update(std::fs::read(root).map_err(|err| BuildError::Read {
            what: "trusted root",
            path: root.clone(),
            message: err.to_string(),
        })?),
        None => digest.update(b"embedded production trusted root"),
    }
    let verifier = BundleVerifier::new(config.trusted_root.as_deref())
        .map_err(|err| BuildError::TrustRoot(err.to_string()))?;
    tracing::info!(
        no_match = if no_match { "allow" } else { "deny" },
        groups = ?groups.iter().map(|(mode, p)| (mode.unwrap_or(config.mode), p.rules.len())).collect::<Vec<_>>(),
        "image policies loaded: images no rule matches are {}",
        if no_match { "ALLOWED (a policy says noMatch: allow)" } else { "denied" }
    );
    let access = RegistryAccess {
        docker_config: config.docker_config.clone(),
        request_timeout: config.registry_timeout,
        budget: config.budget,
    };
    let manifest = ManifestPolicies::load(&config.manifest_policies)
        .map_err(|err| BuildError::Manifest(err.to_string()))?;
    if !manifest.is_empty() {
        let (policies, rules) = manifest.counts();
        tracing::info!(policies, rules, "manifest policies loaded");
    }
    let settings = Settings {
        mode: config.mode,
        budget: config.budget,
        exempt_namespaces: config.exempt_namespaces.clone(),
        judge_images: !config.policies.is_empty(),
        manifest,
        cluster: config.cluster.clone().map(|c| std::sync::Arc::new(crate::cluster::ClusterAccess::new(c))),
        policy_bundle: None,
    };
    let judge = PolicyJudge::with_groups(groups, verifier, access, Limits::default())
        .with_cache(VerificationCache::new(config.cache.clone()), hex::encode(digest.finalize()));
    Ok((judge, settings))
}
