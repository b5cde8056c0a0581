//! The webhook's judge: an image is verified against the image policy with the signatures and
//! attestations its registry holds (`verdict verify image`'s library function), offline against the
//! trust root. Any error — a reference that does not parse, a registry that is down or slow, content
//! that does not match its digest — is a failure with its reason, never an allow.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use verdict_imagepolicy::{ImagePolicy, ImageReference};
use verdict_images::{FetchOptions, credentials_for, verify_image};
use verdict_rego::Limits;
use verdict_sigstore::BundleVerifier;

use crate::decision::{ImageJudge, Judgement};

/// How the judge reaches registries.
#[derive(Debug, Clone)]
pub struct RegistryAccess {
    /// Docker's config.json with the credentials of each registry (`None`: `$DOCKER_CONFIG` or
    /// `~/.docker/config.json`, anonymous when there is none).
    pub docker_config: Option<PathBuf>,
    /// Each registry request's time limit.
    pub request_timeout: Duration,
    /// The time limit for fetching one image's material.
    pub budget: Duration,
}

/// Verifies images with one image policy and trust root, built once and shared by every request.
pub struct PolicyJudge {
    policy: Arc<ImagePolicy>,
    verifier: Arc<BundleVerifier>,
    access: RegistryAccess,
    limits: Limits,
}

impl PolicyJudge {
    /// A judge for `policy`, verifying against `verifier`'s trust root, reaching registries with `access`.
    pub fn new(
        policy: ImagePolicy,
        verifier: BundleVerifier,
        access: RegistryAccess,
        limits: Limits,
    ) -> Self {
        PolicyJudge { policy: Arc::new(policy), verifier: Arc::new(verifier), access, limits }
    }
}

impl ImageJudge for PolicyJudge {
    async fn judge(&self, image: &str) -> Judgement {
        let failed = |reason: String| Judgement { allowed: false, digest: None, reasons: vec![reason] };
        let reference = match ImageReference::parse(image) {
            Ok(reference) => reference,
            Err(err) => return failed(err.to_string()),
        };
        let credentials = match credentials_for(&reference.registry, self.access.docker_config.as_deref()) {
            Ok(credentials) => credentials,
            Err(err) => return failed(format!("registry credentials: {err}")),
        };
        let options = FetchOptions {
            credentials,
            request_timeout: self.access.request_timeout,
            budget: self.access.budget,
        };
        match verify_image(&reference, &self.policy, &self.verifier, &options, &self.limits).await {
            Ok((decision, _)) => Judgement {
                allowed: decision.allowed,
                digest: Some(decision.digest),
                reasons: decision.reasons,
            },
            Err(err) => failed(err.to_string()),
        }
    }
}
