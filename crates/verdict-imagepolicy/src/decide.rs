//! Deciding whether an image satisfies its policy, from signatures and attestations the caller fetched:
//! each candidate is checked against an attestor by the caller's `check` (the cryptographic verification
//! with that attestor's key or identity), and this module counts, matches predicate types and subject
//! digests, runs the predicate policies and explains every failure.

use serde::Serialize;
use serde_json::{Value, json};
use verdict_rego::Limits;

use crate::model::{AttestationRequirement, Attestor, Attestors, ImagePolicy, ImageRule, NoMatch};
use crate::reference::ImageReference;

/// Who signed, as the caller's verification established it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignerMatch {
    /// Which attestor of the list (its description).
    pub attestor: String,
    /// The certificate identity, for keyless signatures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// The OIDC issuer, for keyless signatures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// The transparency log index, when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_index: Option<u64>,
    /// The log's integrated time (RFC 3339), when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integrated_time: Option<String>,
}

/// An attestation found for the image: its signed envelope (`envelope`, opaque here) and the in-toto
/// statement inside it.
#[derive(Debug, Clone)]
pub struct AttestationCandidate<E> {
    /// What the caller's `check` verifies.
    pub envelope: E,
    /// The statement's `predicateType`.
    pub predicate_type: String,
    /// The statement's subject digests (`sha256:<hex>`).
    pub subject_digests: Vec<String>,
    /// The predicate.
    pub predicate: Value,
}

/// How a set of attestors fared.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttestorsOutcome {
    /// How many had to be satisfied.
    pub required: usize,
    /// The attestors satisfied, with who signed.
    pub satisfied: Vec<SignerMatch>,
    /// Why the others were not.
    pub failures: Vec<String>,
}

impl AttestorsOutcome {
    fn ok(&self) -> bool {
        self.satisfied.len() >= self.required
    }
}

/// How one required attestation fared.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttestationOutcome {
    /// The requirement's name.
    pub name: String,
    /// The predicate type required.
    pub predicate_type: String,
    /// Whether some attestation satisfied it.
    pub satisfied: bool,
    /// The signers of the attestation that satisfied it.
    pub signers: Vec<SignerMatch>,
    /// Why each candidate failed.
    pub failures: Vec<String>,
}

/// How one rule fared.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleOutcome {
    /// The rule.
    pub rule: String,
    /// Whether it is satisfied.
    pub satisfied: bool,
    /// The image signatures, when the rule has attestors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signatures: Option<AttestorsOutcome>,
    /// The required attestations.
    pub attestations: Vec<AttestationOutcome>,
    /// The CEL validations, when the rule is decided by them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub validations: Vec<crate::decide_cel::ValidationOutcome>,
    /// Every reason it is not satisfied.
    pub reasons: Vec<String>,
}

/// The decision about one image.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageDecision {
    /// The image as given.
    pub image: String,
    /// The digest verified.
    pub digest: String,
    /// Whether it may be used.
    pub allowed: bool,
    /// Every rule that applied.
    pub rules: Vec<RuleOutcome>,
    /// Every reason it may not (empty when allowed).
    pub reasons: Vec<String>,
}

/// Decides whether `image` (resolved to `digest`) satisfies `policy`, given its `signatures` and
/// `attestations`. `check(attestor, candidate)` verifies one signature or attestation envelope against
/// one attestor: `Ok` with who signed, or `Err` with why not.
pub fn decide<E>(
    policy: &ImagePolicy,
    image: &ImageReference,
    digest: &str,
    signatures: &[E],
    attestations: &[AttestationCandidate<E>],
    check: impl Fn(&Attestor, &E) -> Result<SignerMatch, String>,
    limits: &Limits,
) -> ImageDecision {
    let matching: Vec<&ImageRule> =
        policy.rules.iter().filter(|rule| rule.images.iter().any(|glob| glob.matches(image))).collect();
    let rules: Vec<RuleOutcome> = matching
        .iter()
        .map(|rule| decide_rule(rule, image, digest, signatures, attestations, &check, limits))
        .collect();
    let mut reasons: Vec<String> = rules
        .iter()
        .flat_map(|outcome| {
            outcome.reasons.iter().map(move |reason| format!("rule {:?}: {reason}", outcome.rule))
        })
        .collect();
    if matching.is_empty() && policy.no_match == NoMatch::Deny {
        reasons.push(format!("no rule of the image policy matches {}: denied by default", image.name()));
    }
    ImageDecision {
        image: image.to_string(),
        digest: digest.to_owned(),
        allowed: reasons.is_empty(),
        rules,
        reasons,
    }
}

fn decide_rule<E>(
    rule: &ImageRule,
    image: &ImageReference,
    digest: &str,
    signatures: &[E],
    attestations: &[AttestationCandidate<E>],
    check: &impl Fn(&Attestor, &E) -> Result<SignerMatch, String>,
    limits: &Limits,
) -> RuleOutcome {
    let mut reasons = Vec::new();
    if rule.require_digest && image.digest.is_none() {
        reasons.push(format!(
            "the rule requires a reference by digest, not {image}: use {}@{digest}",
            image.name()
        ));
    }
    if let Some(given) = &image.digest
        && given != digest
    {
        reasons.push(format!("the reference names {given} but the registry served {digest}"));
    }
    if let Some(cel) = &rule.validations {
        let validations =
            crate::decide_cel::validate(cel, (&image.to_string(), digest), signatures, attestations, check);
        reasons.extend(validations.iter().filter_map(|v| v.reason.clone()));
        return RuleOutcome {
            rule: rule.name.clone(),
            satisfied: reasons.is_empty(),
            signatures: None,
            attestations: Vec::new(),
            validations,
            reasons,
        };
    }
    let signatures = rule.attestors.as_ref().map(|attestors| {
        let outcome = satisfy(attestors, signatures.iter(), check);
        if !outcome.ok() {
            reasons.push(signers_reason("the image", &outcome, signatures.is_empty()));
        }
        outcome
    });
    let attestations: Vec<AttestationOutcome> = rule
        .attestations
        .iter()
        .map(|requirement| {
            let outcome = satisfy_attestation(requirement, digest, attestations, check, limits);
            if !outcome.satisfied {
                let why = if outcome.failures.is_empty() {
                    "none was found".to_owned()
                } else {
                    outcome.failures.join("; ")
                };
                reasons.push(format!(
                    "attestation {:?} ({}): {why}",
                    requirement.name, requirement.predicate_type
                ));
            }
            outcome
        })
        .collect();
    RuleOutcome {
        rule: rule.name.clone(),
        satisfied: reasons.is_empty(),
        signatures,
        attestations,
        validations: Vec::new(),
        reasons,
    }
}

/// Who a verified signature is, for counting: a keyless signer by its issuer and identity, a key-based
/// one by its key. Two signatures by one signer, or one signature matching two overlapping attestor
/// entries, count once.
fn signer_id(attestor: &Attestor, signer: &SignerMatch) -> String {
    match (attestor, &signer.identity) {
        (_, Some(identity)) => format!("keyless {} {identity}", signer.issuer.as_deref().unwrap_or_default()),
        (Attestor::Key { public_key, .. }, None) => {
            let body: String = public_key.lines().filter(|l| !l.starts_with("-----")).collect();
            format!("key {}", body.split_whitespace().collect::<String>())
        }
        (Attestor::Keyless { .. }, None) => format!("keyless {}", signer.attestor),
    }
}

/// Counts the attestors satisfied by *distinct* verified signers: each signer (see [`signer_id`]) is
/// counted for at most one attestor, choosing the assignment that satisfies the most attestors (a
/// bipartite matching), so `count: 2` always means two different signers.
fn satisfy<'a, E: 'a>(
    attestors: &Attestors,
    candidates: impl Iterator<Item = &'a E> + Clone,
    check: &impl Fn(&Attestor, &E) -> Result<SignerMatch, String>,
) -> AttestorsOutcome {
    let mut signers: Vec<String> = Vec::new();
    // For each attestor: the signers that satisfy it, with how.
    let mut edges: Vec<Vec<(usize, SignerMatch)>> = Vec::new();
    let mut reasons: Vec<Vec<String>> = Vec::new();
    for attestor in &attestors.entries {
        let mut found: Vec<(usize, SignerMatch)> = Vec::new();
        let mut why = Vec::new();
        for candidate in candidates.clone() {
            match check(attestor, candidate) {
                Ok(signer) => {
                    let id = signer_id(attestor, &signer);
                    let index = signers.iter().position(|s| *s == id).unwrap_or_else(|| {
                        signers.push(id);
                        signers.len() - 1
                    });
                    if !found.iter().any(|(i, _)| *i == index) {
                        found.push((index, signer));
                    }
                }
                Err(reason) => why.push(reason),
            }
        }
        edges.push(found);
        reasons.push(why);
    }
    let mut owner: Vec<Option<usize>> = vec![None; signers.len()];
    for attestor in 0..edges.len() {
        let mut seen = vec![false; signers.len()];
        assign(attestor, &edges, &mut owner, &mut seen);
    }
    let mut satisfied = Vec::new();
    let mut failures = Vec::new();
    for (index, attestor) in attestors.entries.iter().enumerate() {
        let assigned = edges[index].iter().find(|(signer, _)| owner[*signer] == Some(index));
        match assigned {
            Some((_, signer)) => satisfied.push(signer.clone()),
            None if !edges[index].is_empty() => failures.push(format!(
                "{}: verified only by a signer already counted for another attestor",
                attestor.describe()
            )),
            None if reasons[index].is_empty() => {
                failures.push(format!("{}: nothing to verify", attestor.describe()))
            }
            None => failures.push(format!("{}: {}", attestor.describe(), reasons[index].join("; "))),
        }
    }
    AttestorsOutcome { required: attestors.count, satisfied, failures }
}

/// One augmenting-path step of the matching: gives `attestor` a signer, moving others along if needed.
fn assign(
    attestor: usize,
    edges: &[Vec<(usize, SignerMatch)>],
    owner: &mut [Option<usize>],
    seen: &mut [bool],
) -> bool {
    for (signer, _) in &edges[attestor] {
        if seen[*signer] {
            continue;
        }
        seen[*signer] = true;
        if owner[*signer].is_none_or(|other| assign(other, edges, owner, seen)) {
            owner[*signer] = Some(attestor);
            return true;
        }
    }
    false
}

fn signers_reason(what: &str, outcome: &AttestorsOutcome, none_found: bool) -> String {
    if none_found {
        return format!("{what} is not signed (no signature was found)");
    }
    format!(
        "{what} needs {} of its attestors, {} verified ({})",
        outcome.required,
        outcome.satisfied.len(),
        outcome.failures.join("; ")
    )
}

fn satisfy_attestation<E>(
    requirement: &AttestationRequirement,
    digest: &str,
    candidates: &[AttestationCandidate<E>],
    check: &impl Fn(&Attestor, &E) -> Result<SignerMatch, String>,
    limits: &Limits,
) -> AttestationOutcome {
    let mut failures = Vec::new();
    let mut outcome = AttestationOutcome {
        name: requirement.name.clone(),
        predicate_type: requirement.predicate_type.clone(),
        satisfied: false,
        signers: Vec::new(),
        failures: Vec::new(),
    };
    for (index, candidate) in candidates.iter().enumerate() {
        if candidate.predicate_type != requirement.predicate_type {
            continue;
        }
        let label = format!("attestation #{index}");
        if !candidate.subject_digests.iter().any(|subject| subject == digest) {
            failures.push(format!(
                "{label} is about {} , not the image {digest}",
                candidate.subject_digests.join(", ")
            ));
            continue;
        }
        let signed = satisfy(&requirement.attestors, std::iter::once(&candidate.envelope), check);
        if !signed.ok() {
            failures.push(signers_reason(&label, &signed, false));
            continue;
        }
        if let Some(policy) = &requirement.policy {
            let input = json!({
                "predicateType": candidate.predicate_type,
                "predicate": candidate.predicate,
                "digest": digest,
            });
            match policy.evaluate(regorus::Value::from(input), limits) {
                Ok(decision) if decision.allow => {}
                Ok(decision) => {
                    let violations = decision.violations.unwrap_or_default();
                    let why = if violations.is_empty() {
                        "no violations given".to_owned()
                    } else {
                        violations.join("; ")
                    };
                    failures.push(format!("{label} is denied by the predicate policy: {why}"));
                    continue;
                }
                Err(err) => {
                    failures.push(format!("{label}: the predicate policy failed: {err}"));
                    continue;
                }
            }
        }
        outcome.satisfied = true;
        outcome.signers = signed.satisfied;
        return outcome;
    }
    outcome.failures = failures;
    outcome
}
