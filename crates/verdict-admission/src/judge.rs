//! The webhook's judge: an image is verified against the image policy with the signatures and
//! attestations its registry holds (`verdict verify image`'s library function), offline against the
//! trust root. Any error — a reference that does not parse, a registry that is down or slow, content
//! that does not match its digest — is a failure with its reason, never an allow.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use verdict_imagepolicy::{ImagePolicy, ImageReference};
use verdict_images::{FetchOptions, credentials_for, resolve_digest, verify_image};
use verdict_rego::Limits;
use verdict_sigstore::BundleVerifier;

use crate::cache::{CacheKey, Lookup, VerificationCache};
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
    cache: Option<(VerificationCache, String)>,
    hits: std::sync::atomic::AtomicU64,
    misses: std::sync::atomic::AtomicU64,
}

fn failed(reason: String) -> Judgement {
    Judgement { allowed: false, digest: None, reasons: vec![reason] }
}

impl PolicyJudge {
    /// A judge for `policy`, verifying against `verifier`'s trust root, reaching registries with `access`.
    pub fn new(
        policy: ImagePolicy,
        verifier: BundleVerifier,
        access: RegistryAccess,
        limits: Limits,
    ) -> Self {
        PolicyJudge {
            policy: Arc::new(policy),
            verifier: Arc::new(verifier),
            access,
            limits,
            cache: None,
            hits: Default::default(),
            misses: Default::default(),
        }
    }

    /// Remembers results in `cache`; `configuration` is the digest of the policies and trust root, part
    /// of every key, so results are never reused across configurations.
    pub fn with_cache(mut self, cache: VerificationCache, configuration: String) -> Self {
        self.cache = Some((cache, configuration));
        self
    }

    async fn verify(&self, reference: &ImageReference, options: &FetchOptions) -> Judgement {
        match verify_image(reference, &self.policy, &self.verifier, options, &self.limits).await {
            Ok((decision, _)) => Judgement {
                allowed: decision.allowed,
                digest: Some(decision.digest),
                reasons: decision.reasons,
            },
            Err(err) => failed(err.to_string()),
        }
    }
}

impl ImageJudge for PolicyJudge {
    async fn judge(&self, image: &str) -> Judgement {
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
        let Some((cache, configuration)) = &self.cache else {
            return self.verify(&reference, &options).await;
        };
        // Keyed by the digest served now: a tag that moved is verified again.
        let digest = match resolve_digest(&reference, &options).await {
            Ok(digest) => digest,
            Err(err) => return failed(err.to_string()),
        };
        let key = CacheKey {
            repository: reference.name(),
            pinned: reference.digest.is_some(),
            digest: digest.clone(),
            configuration: configuration.clone(),
        };
        let verification = async {
            let judgement = self.verify(&reference, &options).await;
            if judgement.digest.as_ref().is_some_and(|verified| *verified != digest) {
                // The tag moved between resolving and verifying: this result is not about `digest`.
                return failed(format!("{image} moved to another digest while it was verified; try again"));
            }
            judgement
        };
        let (judgement, lookup) = cache.get_or_verify(key, verification).await;
        let counter = if lookup == Lookup::Hit { &self.hits } else { &self.misses };
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        judgement
    }

    fn cache_stats(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (self.hits.load(Relaxed), self.misses.load(Relaxed))
    }
}
