//! Verifying fetched candidates against an image policy's attestors with one bundle verifier.

use verdict_imagepolicy::{Attestor, ImageDecision, ImagePolicy, ImageReference, SignerMatch, decide};
use verdict_rego::Limits;
use verdict_sigstore::{BundleVerifier, Signer};

use crate::fetch::{Candidate, FetchOptions, Fetched, ImageError, fetch};

/// Verifies one candidate against one attestor: `Ok` with who signed, `Err` with why not. A bundle that
/// cannot even be read is "not verified", with the reason.
pub fn check(
    verifier: &BundleVerifier,
    attestor: &Attestor,
    candidate: &Candidate,
) -> Result<SignerMatch, String> {
    if let Some(reason) = &candidate.refuse {
        return Err(format!("{}: {reason}", candidate.origin));
    }
    let signer = match attestor {
        Attestor::Keyless { issuer, subject } => {
            Signer::Keyless { identity: subject.clone(), issuer: issuer.clone() }
        }
        Attestor::Key { public_key, ignore_tlog } => {
            Signer::Key { public_key: public_key.clone(), ignore_tlog: *ignore_tlog }
        }
    };
    match verifier.verify(&candidate.origin, &candidate.bundle, &candidate.subject, &signer) {
        Ok(Ok(verified)) => Ok(SignerMatch {
            attestor: attestor.describe(),
            identity: verified.identity,
            issuer: verified.issuer,
            log_index: candidate.log_index,
            integrated_time: verified.integrated_time,
        }),
        Ok(Err(reason)) => Err(format!("{}: {reason}", candidate.origin)),
        Err(err) => Err(format!("{}: {err}", candidate.origin)),
    }
}

/// Fetches what `image` carries and decides it with `policy`; also returns what was fetched (for
/// output). An unreachable registry is an error (the caller reports it and fails).
pub async fn verify_image(
    image: &ImageReference,
    policy: &ImagePolicy,
    verifier: &BundleVerifier,
    options: &FetchOptions,
    limits: &Limits,
) -> Result<(ImageDecision, Fetched), ImageError> {
    let fetched = fetch(image, options).await?;
    let decision = decide(
        policy,
        image,
        &fetched.digest,
        &fetched.signatures,
        &fetched.attestations,
        |attestor, candidate| check(verifier, attestor, candidate),
        limits,
    );
    Ok((decision, fetched))
}
