//! Rules decided by CEL `validations` (Kyverno ImageValidatingPolicy semantics): the image's signatures
//! and attestations are first verified against every named attestor — the cryptography, done here with
//! the caller's `check` — and the expressions then read that outcome through Kyverno's functions
//! (`verifyImageSignatures`, `verifyAttestationSignatures`, `extractPayload`). Every expression must be
//! true; one that is false or fails to evaluate is a reason the image fails.

use std::sync::Arc;

use serde::Serialize;
use serde_json::{Value, json};
use verdict_kyverno::cel::{Activation, Bindings, evaluate_bool_in};
use verdict_kyverno::cel_images::{ImageFacts, with_image_facts};

use crate::decide::{AttestationCandidate, SignerMatch};
use crate::model::{Attestor, CelValidations};

/// How one validation fared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValidationOutcome {
    /// The expression.
    pub expression: String,
    /// Whether it held.
    pub passed: bool,
    /// Why not (the validation's message, or the evaluation error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What the image's signatures and attestations establish for each named attestor and attestation.
fn facts<E>(
    cel: &CelValidations,
    image: &str,
    digest: &str,
    signatures: &[E],
    attestations: &[AttestationCandidate<E>],
    check: &impl Fn(&Attestor, &E) -> Result<SignerMatch, String>,
) -> ImageFacts {
    let mut facts = ImageFacts { image: image.to_owned(), ..ImageFacts::default() };
    for (name, entries) in &cel.attestors {
        let signed = entries
            .iter()
            .any(|attestor| signatures.iter().any(|candidate| check(attestor, candidate).is_ok()));
        facts.signatures.insert(name.clone(), signed);
    }
    for (attestation, predicate_type) in &cel.attestations {
        for (name, entries) in &cel.attestors {
            let verified = attestations.iter().find(|candidate| {
                candidate.predicate_type == *predicate_type
                    && candidate.subject_digests.iter().any(|subject| subject == digest)
                    && entries.iter().any(|attestor| check(attestor, &candidate.envelope).is_ok())
            });
            if let Some(candidate) = verified {
                facts.payloads.entry(attestation.clone()).or_insert_with(|| candidate.predicate.clone());
            }
            facts.attestations.insert((attestation.clone(), name.clone()), verified.is_some());
        }
    }
    facts
}

/// The variables the expressions see: `images` (the image being judged, in every list: verdict judges
/// one image at a time), `attestors` and `attestations` by name.
fn bindings(cel: &CelValidations, image: &str) -> Result<Bindings, String> {
    let named = |names: Vec<(&String, Value)>| -> Value {
        Value::Object(names.into_iter().map(|(name, value)| (name.clone(), value)).collect())
    };
    let attestors = named(cel.attestors.iter().map(|(name, _)| (name, json!({"name": name}))).collect());
    let attestations = named(
        cel.attestations
            .iter()
            .map(|(name, kind)| (name, json!({"name": name, "intoto": {"type": kind}})))
            .collect(),
    );
    let images = json!({"containers": [image], "initContainers": [image], "ephemeralContainers": [image]});
    Bindings::new(&Activation {
        values: vec![
            ("images".to_owned(), images),
            ("attestors".to_owned(), attestors),
            ("attestations".to_owned(), attestations),
        ],
    })
}

/// Evaluates every validation of `cel` for `image` (resolved to `digest`); the outcomes and the reasons
/// it fails.
pub(crate) fn validate<E>(
    cel: &CelValidations,
    (image, digest): (&str, &str),
    signatures: &[E],
    attestations: &[AttestationCandidate<E>],
    check: &impl Fn(&Attestor, &E) -> Result<SignerMatch, String>,
) -> Vec<ValidationOutcome> {
    let facts = Arc::new(facts(cel, image, digest, signatures, attestations, check));
    let bindings = bindings(cel, image);
    cel.expressions
        .iter()
        .map(|validation| {
            let source = validation.expression.source().to_owned();
            let result = bindings.as_ref().map_err(Clone::clone).and_then(|bindings| {
                with_image_facts(Arc::clone(&facts), || evaluate_bool_in(&validation.expression, bindings))
            });
            let reason = match result {
                Ok(true) => None,
                Ok(false) => Some(validation.message.clone().unwrap_or_else(|| format!("{source} is false"))),
                Err(err) => Some(format!("{err} (a validation that cannot be evaluated fails)")),
            };
            ValidationOutcome { expression: source, passed: reason.is_none(), reason }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::decide::{AttestationCandidate, SignerMatch, decide};
    use crate::load::load_image_policy;
    use crate::model::Attestor;
    use crate::reference::ImageReference;

    const RELEASE: &str = "-----BEGIN PUBLIC KEY-----\nRELEASE\n-----END PUBLIC KEY-----";
    const OTHER: &str = "-----BEGIN PUBLIC KEY-----\nOTHER\n-----END PUBLIC KEY-----";
    const SBOM: &str = "https://cyclonedx.org/bom";
    const DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

    /// A verdict policy decided by CEL over a `release` and an `other` key and an `sbom` attestation.
    fn policy(validations: &str) -> crate::model::ImagePolicy {
        let key = |pem: &str| pem.replace('\n', "\n              ");
        let text = format!(
            "apiVersion: verdict.dev/v1\nkind: ImagePolicy\nrules:\n  - name: acme\n    images: [\"ghcr.io/acme/**\"]\n    attestors:\n      entries:\n        - name: release\n          key:\n            publicKey: |\n              {}\n        - name: other\n          key:\n            publicKey: |\n              {}\n    attestations:\n      - name: sbom\n        predicateType: {SBOM}\n    validations:\n{validations}",
            key(RELEASE),
            key(OTHER)
        );
        load_image_policy("p.yml", &text).unwrap_or_else(|d| panic!("{d:?}"))
    }

    /// A signature or envelope is "verified" under the key whose marker it carries.
    fn check(attestor: &Attestor, candidate: &&str) -> Result<SignerMatch, String> {
        let Attestor::Key { public_key, .. } = attestor else { return Err("not a key".into()) };
        let marker = public_key.lines().nth(1).unwrap_or_default();
        if candidate.contains(marker) {
            Ok(SignerMatch {
                attestor: marker.to_owned(),
                identity: None,
                issuer: None,
                log_index: None,
                integrated_time: None,
            })
        } else {
            Err(format!("{candidate} is not signed by {marker}"))
        }
    }

    fn sbom(by: &'static str, format: &str) -> AttestationCandidate<&'static str> {
        AttestationCandidate {
            envelope: by,
            predicate_type: SBOM.to_owned(),
            subject_digests: vec![DIGEST.to_owned()],
            predicate: json!({"bomFormat": format}),
        }
    }

    const ALL_THREE: &str = "      - expression: images.containers.map(i, verifyImageSignatures(i, [attestors.release])).all(n, n > 0)\n        message: not signed by the release key\n      - expression: images.containers.all(i, verifyAttestationSignatures(i, attestations.sbom, [attestors.release]) > 0)\n        message: no SBOM signed by the release key\n      - expression: images.containers.all(i, extractPayload(i, attestations.sbom).bomFormat == 'CycloneDX')\n        message: the SBOM is not CycloneDX\n";

    fn judge(
        policy: &crate::model::ImagePolicy,
        signatures: &[&'static str],
        attestations: &[AttestationCandidate<&'static str>],
    ) -> crate::decide::ImageDecision {
        let image = ImageReference::parse("ghcr.io/acme/app:1").unwrap();
        decide(policy, &image, DIGEST, signatures, attestations, check, &verdict_rego::Limits::default())
    }

    #[test]
    fn validations_decide_from_what_each_named_attestor_verified() {
        let policy = policy(ALL_THREE);
        let passed = judge(&policy, &["sig RELEASE"], &[sbom("att RELEASE", "CycloneDX")]);
        assert!(passed.allowed, "{:?}", passed.reasons);
        assert_eq!(passed.rules[0].validations.len(), 3);
        assert!(passed.rules[0].validations.iter().all(|v| v.passed));

        // Signed by the other key only: the first validation fails with its message; the attestation,
        // still by the release key, passes.
        let other = judge(&policy, &["sig OTHER"], &[sbom("att RELEASE", "CycloneDX")]);
        assert_eq!(other.reasons, vec!["rule \"acme\": not signed by the release key".to_owned()]);
        // An SBOM in another format: only the payload check fails.
        let spdx = judge(&policy, &["sig RELEASE"], &[sbom("att RELEASE", "SPDX")]);
        assert_eq!(spdx.reasons, vec!["rule \"acme\": the SBOM is not CycloneDX".to_owned()]);
        // No SBOM at all: not verified, and its payload cannot be read — an error, which fails too.
        let missing = judge(&policy, &["sig RELEASE"], &[]);
        assert_eq!(missing.reasons.len(), 2, "{:?}", missing.reasons);
        assert!(
            missing.reasons[1].contains("no attestation of it about ghcr.io/acme/app:1 verified"),
            "{:?}",
            missing.reasons
        );
        // An SBOM signed by a key the policy does not name does not count.
        let stranger = judge(&policy, &["sig RELEASE"], &[sbom("att STRANGER", "CycloneDX")]);
        assert!(!stranger.allowed);
        // An SBOM about another image does not count either.
        let mut elsewhere = sbom("att RELEASE", "CycloneDX");
        elsewhere.subject_digests = vec![format!("sha256:{}", "2".repeat(64))];
        assert!(!judge(&policy, &["sig RELEASE"], &[elsewhere]).allowed);
    }

    #[test]
    fn counts_are_over_the_attestors_given() {
        let policy = policy(
            "      - expression: images.containers.all(i, verifyImageSignatures(i, [attestors.release, attestors.other]) == 2)\n",
        );
        assert!(judge(&policy, &["sig RELEASE", "sig OTHER"], &[]).allowed);
        let one = judge(&policy, &["sig RELEASE"], &[]);
        assert!(!one.allowed);
        assert!(one.reasons[0].contains("== 2) is false"), "{:?}", one.reasons);
    }

    #[test]
    fn what_the_functions_cannot_answer_fails_the_rule() {
        for (expression, expected) in [
            (
                "verifyImageSignatures('docker.io/other:1', [attestors.release]) > 0",
                "verdict judges one image at a time",
            ),
            (
                "images.containers.all(i, verifyImageSignatures(i, [{'name': 'nobody'}]) > 0)",
                "names no attestor \"nobody\"",
            ),
            (
                "images.containers.all(i, extractPayload(i, {'name': 'provenance'}) != null)",
                "names no attestation \"provenance\"",
            ),
            ("images.containers.all(i, verifyImageSignatures(i, [42]) > 0)", "not an attestor"),
            ("size(images.containers)", "must evaluate to a bool"),
            (
                "images.containers.all(i, verifyAttestationSignatures(i, [], [attestors.release]) > 0)",
                "name at least one attestation",
            ),
        ] {
            let policy = policy(&format!("      - expression: \"{expression}\"\n"));
            let decision = judge(&policy, &["sig RELEASE"], &[sbom("att RELEASE", "CycloneDX")]);
            assert!(!decision.allowed, "{expression}");
            assert!(decision.reasons[0].contains(expected), "{expression}: {:?}", decision.reasons);
            assert!(decision.reasons[0].contains("cannot be evaluated fails"), "{:?}", decision.reasons);
        }
    }

    #[test]
    fn bad_validations_are_load_errors_at_their_line() {
        let text = "apiVersion: verdict.dev/v1\nkind: ImagePolicy\nrules:\n  - name: acme\n    images: [\"ghcr.io/**\"]\n    validations:\n      - expression: \"images.containers.all(i, \"\n";
        let diagnostics = load_image_policy("p.yml", text).unwrap_err();
        assert_eq!((diagnostics[0].line, diagnostics[0].column), (7, 21), "{diagnostics:?}");
        assert!(diagnostics[0].message.contains("does not compile"), "{diagnostics:?}");
        // A named entry must still be exactly one attestor.
        let text = "apiVersion: verdict.dev/v1\nkind: ImagePolicy\nrules:\n  - name: acme\n    images: [\"ghcr.io/**\"]\n    attestors:\n      entries:\n        - name: release\n";
        let diagnostics = load_image_policy("p.yml", text).unwrap_err();
        assert!(diagnostics[0].message.contains("exactly one of `keyless` or `key`"), "{diagnostics:?}");
    }

    #[test]
    fn kyverno_image_validating_policies_with_validations_translate() {
        let text = format!(
            "apiVersion: policies.kyverno.io/v1alpha1\nkind: ImageValidatingPolicy\nmetadata:\n  name: check\nspec:\n  validationActions: [Deny]\n  matchImageReferences:\n    - glob: \"ghcr.io/acme/*\"\n  attestors:\n    - name: release\n      cosign:\n        key:\n          data: |\n            {}\n  attestations:\n    - name: sbom\n      intoto:\n        type: {SBOM}\n  validations:\n    - expression: >-\n        images.containers.map(image, verifyImageSignatures(image, [attestors.release])).all(e, e > 0)\n      message: failed the image signature verification\n    - expression: images.containers.all(i, extractPayload(i, attestations.sbom).bomFormat == 'CycloneDX')\n",
            RELEASE.replace('\n', "\n            ")
        );
        let policy = load_image_policy("ivpol.yaml", &text).unwrap_or_else(|d| panic!("{d:?}"));
        assert!(judge(&policy, &["sig RELEASE"], &[sbom("att RELEASE", "CycloneDX")]).allowed);
        let unsigned = judge(&policy, &[], &[sbom("att RELEASE", "CycloneDX")]);
        assert_eq!(
            unsigned.reasons,
            vec!["rule \"check\": failed the image signature verification".to_owned()]
        );
        let refused =
            text.replace("      message: failed", "      messageExpression: \"'x'\"\n      message: failed");
        let diagnostics = load_image_policy("ivpol.yaml", &refused).unwrap_err();
        assert!(diagnostics[0].message.contains("messageExpression"), "{diagnostics:?}");
    }
}
