//! Kyverno's image-verification CEL functions, as ImageValidatingPolicy `validations` call them:
//! `verifyImageSignatures(image, [attestors.a, …])` and `verifyAttestationSignatures(image,
//! attestations.x, [attestors.a, …])` (how many of the attestors verified), and `extractPayload(image,
//! attestations.x)` (the predicate of a verified attestation; an error when none verified). The
//! cryptography is done before the expressions run, by the image verifier, for the one image being
//! judged; the functions read its outcome ([`with_image_facts`]). Anything they cannot answer — another
//! image, an attestor or attestation the policy does not name — is an error, which fails the rule.

use std::collections::BTreeMap;
use std::sync::Arc;

use kube_cel::cel::objects::Key;
use kube_cel::cel::{self, FunctionContext, Value as CelValue};
use serde_json::Value;

/// What the image verifier established about one image, for the CEL functions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImageFacts {
    /// The image being judged, as the expressions see it in `images`.
    pub image: String,
    /// Attestor name → whether one of the image's signatures verified under it.
    pub signatures: BTreeMap<String, bool>,
    /// (attestation name, attestor name) → whether an attestation of that predicate type about the
    /// image verified under the attestor.
    pub attestations: BTreeMap<(String, String), bool>,
    /// Attestation name → the predicate of an attestation that verified under some named attestor.
    pub payloads: BTreeMap<String, Value>,
}

thread_local! {
    static FACTS: std::cell::RefCell<Option<Arc<ImageFacts>>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f` with `facts` as what the image functions answer from (this thread, for the duration of `f`).
pub fn with_image_facts<T>(facts: Arc<ImageFacts>, f: impl FnOnce() -> T) -> T {
    let previous = FACTS.with(|slot| slot.replace(Some(facts)));
    let result = f();
    FACTS.with(|slot| *slot.borrow_mut() = previous);
    result
}

fn facts(ftx: &FunctionContext, image: &str) -> Result<Arc<ImageFacts>, cel::ExecutionError> {
    let facts = FACTS
        .with(|slot| slot.borrow().clone())
        .ok_or_else(|| ftx.error("image verification functions are available only in an image policy"))?;
    if facts.image != image {
        return Err(ftx.error(format!(
            "verdict judges one image at a time: {image} is not the image being judged ({})",
            facts.image
        )));
    }
    Ok(facts)
}

/// The `name` of an attestor or attestation value (`attestors.release` is `{name: "release"}`).
fn name_of(ftx: &FunctionContext, value: &CelValue, what: &str) -> Result<String, cel::ExecutionError> {
    match value {
        CelValue::Map(map) => match map.get(&Key::String(Arc::new("name".to_owned()))) {
            Some(CelValue::String(name)) => Ok(name.to_string()),
            _ => Err(ftx.error(format!("not an {what}: it has no name"))),
        },
        CelValue::String(name) => Ok(name.to_string()),
        _ => Err(ftx.error(format!("not an {what}: give attestors.NAME / attestations.NAME"))),
    }
}

/// The names in a list of attestors (or a single one).
fn names_of(ftx: &FunctionContext, value: &CelValue, what: &str) -> Result<Vec<String>, cel::ExecutionError> {
    match value {
        CelValue::List(items) => items.iter().map(|item| name_of(ftx, item, what)).collect(),
        other => Ok(vec![name_of(ftx, other, what)?]),
    }
}

fn count(found: usize) -> CelValue {
    CelValue::Int(i64::try_from(found).unwrap_or(i64::MAX))
}

/// `verifyImageSignatures(image, attestors)`: how many of `attestors` signed the image.
pub(crate) fn verify_image_signatures(
    ftx: &FunctionContext,
    image: Arc<String>,
    attestors: CelValue,
) -> cel::ResolveResult {
    let facts = facts(ftx, &image)?;
    let mut verified = 0;
    for name in names_of(ftx, &attestors, "attestor")? {
        match facts.signatures.get(&name) {
            Some(true) => verified += 1,
            Some(false) => {}
            None => return Err(ftx.error(format!("the policy names no attestor {name:?}"))),
        }
    }
    Ok(count(verified))
}

/// `verifyAttestationSignatures(image, attestation, attestors)`: how many of `attestors` signed an
/// attestation of that predicate type about the image (each attestation, when a list is given, must be
/// verified by an attestor for it to count).
pub(crate) fn verify_attestation_signatures(
    ftx: &FunctionContext,
    image: Arc<String>,
    attestations: CelValue,
    attestors: CelValue,
) -> cel::ResolveResult {
    let facts = facts(ftx, &image)?;
    let attestations = names_of(ftx, &attestations, "attestation")?;
    // An empty list asks about nothing: counting attestors for it would pass with no attestation at all.
    if attestations.is_empty() {
        return Err(ftx.error("verifyAttestationSignatures: name at least one attestation"));
    }
    let mut verified = 0;
    for attestor in names_of(ftx, &attestors, "attestor")? {
        if !facts.signatures.contains_key(&attestor) {
            return Err(ftx.error(format!("the policy names no attestor {attestor:?}")));
        }
        let mut all = true;
        for attestation in &attestations {
            match facts.attestations.get(&(attestation.clone(), attestor.clone())) {
                Some(ok) => all &= *ok,
                None => return Err(ftx.error(format!("the policy names no attestation {attestation:?}"))),
            }
        }
        if all {
            verified += 1;
        }
    }
    Ok(count(verified))
}

/// `extractPayload(image, attestation)`: the predicate of the verified attestation.
pub(crate) fn extract_payload(
    ftx: &FunctionContext,
    image: Arc<String>,
    attestation: CelValue,
) -> cel::ResolveResult {
    let facts = facts(ftx, &image)?;
    let name = name_of(ftx, &attestation, "attestation")?;
    if !facts.attestations.keys().any(|(a, _)| *a == name) {
        return Err(ftx.error(format!("the policy names no attestation {name:?}")));
    }
    match facts.payloads.get(&name) {
        Some(payload) => cel::to_value(payload).map_err(|err| ftx.error(err.to_string())),
        None => Err(ftx.error(format!(
            "attestation {name:?}: no attestation of it about {image} verified under the policy's attestors"
        ))),
    }
}
