//! Whether a bundle in a registry may be used: its signatures checked against a bundle policy (an image
//! policy naming which keys or keyless identities may sign which bundle repositories) by the same
//! verifier `verify image` and the webhook use. Checked before any policy in the bundle is used.

use verdict_imagepolicy::{ImagePolicy, ImageReference};
use verdict_images::{FetchOptions, ImageError, verify_image};
use verdict_sigstore::BundleVerifier;

use crate::registry::RegistryError;

/// What a successful check established.
#[derive(Debug, Clone)]
pub struct Trusted {
    /// The manifest digest the signatures cover: pull by exactly this.
    pub digest: String,
    /// The rules of the bundle policy that applied and passed.
    pub rules: Vec<String>,
}

/// Checks the signatures of the bundle at `reference` against `policy`. Every reason it is not trusted
/// is in the error (exit 1); an unreachable registry is exit 3, never "trusted".
pub async fn verify_signatures(
    reference: &str,
    policy: &ImagePolicy,
    verifier: &BundleVerifier,
    options: &FetchOptions,
) -> Result<Trusted, RegistryError> {
    let image = ImageReference::parse(reference).map_err(|err| RegistryError::Invalid(err.to_string()))?;
    let (decision, _) = verify_image(&image, policy, verifier, options, &verdict_rego::Limits::default())
        .await
        .map_err(|err| match err {
            ImageError::InvalidReference(message) => RegistryError::Invalid(message),
            ImageError::Unavailable { .. } => RegistryError::Unavailable(err.to_string()),
            other => RegistryError::NotFound(other.to_string()),
        })?;
    if decision.allowed {
        Ok(Trusted {
            digest: decision.digest,
            rules: decision.rules.iter().map(|r| r.rule.clone()).collect(),
        })
    } else {
        Err(RegistryError::Untrusted(format!(
            "{reference} is not trusted by the bundle policy: {}",
            decision.reasons.join("; ")
        )))
    }
}
