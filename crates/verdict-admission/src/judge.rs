//! The webhook's judge: an image is verified against the image policy with the signatures and
//! attestations its registry holds (`verdict verify image`'s library function), offline against the
//! trust root. Any error — a reference that does not parse, a registry that is down or slow, content
//! that does not match its digest — is a failure with its reason, never an allow.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use verdict_imagepolicy::{ImagePolicy, ImageReference, NoMatch, decide};
use verdict_images::{FetchOptions, check, credentials_for, fetch, resolve_digest};
use verdict_rego::Limits;
use verdict_sigstore::BundleVerifier;

use crate::cache::{CacheKey, Lookup, VerificationCache};
use crate::decision::{ImageJudge, Judgement, Mode};

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

/// Verifies images with the image policies and trust root, built once and shared by every request. The
/// policies come in groups: those that follow the webhook's configured mode (`None`) and those with a
/// mode of their own; an image's material is fetched once and every group decides on it.
pub struct PolicyJudge {
    groups: Arc<Vec<(Option<Mode>, ImagePolicy)>>,
    /// An image no rule of any group matches is allowed only when a policy says `noMatch: allow`.
    no_match: NoMatch,
    verifier: Arc<BundleVerifier>,
    access: RegistryAccess,
    limits: Limits,
    cache: Option<(VerificationCache, String)>,
    hits: std::sync::atomic::AtomicU64,
    misses: std::sync::atomic::AtomicU64,
}

fn failed(reason: String) -> Judgement {
    Judgement { allowed: false, digest: None, reasons: vec![reason], notes: Vec::new() }
}

impl PolicyJudge {
    /// A judge for one `policy` in the configured mode, verifying against `verifier`'s trust root,
    /// reaching registries with `access`.
    pub fn new(
        policy: ImagePolicy,
        verifier: BundleVerifier,
        access: RegistryAccess,
        limits: Limits,
    ) -> Self {
        PolicyJudge::with_groups(vec![(None, policy)], verifier, access, limits)
    }

    /// A judge for policies in groups by mode (`None`: the configured mode).
    pub fn with_groups(
        groups: Vec<(Option<Mode>, ImagePolicy)>,
        verifier: BundleVerifier,
        access: RegistryAccess,
        limits: Limits,
    ) -> Self {
        let no_match = if groups.iter().any(|(_, p)| p.no_match == NoMatch::Allow) {
            NoMatch::Allow
        } else {
            NoMatch::Deny
        };
        PolicyJudge {
            groups: Arc::new(groups),
            no_match,
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

    /// Fetches the image's material once and decides it with every group: a group's failures are the
    /// configured mode's (`reasons`) or, for a group with a mode of its own, notes in that mode.
    async fn verify(&self, reference: &ImageReference, options: &FetchOptions) -> Judgement {
        let fetched = match fetch(reference, options).await {
            Ok(fetched) => fetched,
            Err(err) => return failed(err.to_string()),
        };
        let mut judgement = Judgement {
            allowed: true,
            digest: Some(fetched.digest.clone()),
            reasons: Vec::new(),
            notes: Vec::new(),
        };
        let mut matched = false;
        for (mode, policy) in self.groups.iter() {
            // Unmatched images are judged once, across every group, below.
            let mut group = policy.clone();
            group.no_match = NoMatch::Allow;
            let decision = decide(
                &group,
                reference,
                &fetched.digest,
                &fetched.signatures,
                &fetched.attestations,
                |attestor, candidate| check(&self.verifier, attestor, candidate),
                &self.limits,
            );
            matched |= !decision.rules.is_empty();
            match mode {
                None => {
                    judgement.allowed &= decision.allowed;
                    judgement.reasons.extend(decision.reasons);
                }
                Some(mode) => judgement.notes.extend(decision.reasons.into_iter().map(|r| (*mode, r))),
            }
        }
        if !matched && self.no_match == NoMatch::Deny {
            judgement.allowed = false;
            judgement.reasons.push(format!(
                "no rule of the image policies matches {}: denied by default",
                reference.name()
            ));
        }
        judgement
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
