//! The image policy end to end at the library level: loading (every bad input names its line and
//! column), rule matching, deny by default, attestor counting, predicate types, subject digests and Rego
//! predicate policies. Signatures are stand-ins checked by a closure, as the OCI layer's verification
//! will be.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use verdict_imagepolicy::{
    AttestationCandidate, Attestor, ImageReference, PolicyMode, SignerMatch, decide, load_image_policy,
};
use verdict_rego::Limits;
use verdict_sigstore::Matcher;

const DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const OTHER: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
const KEY: &str = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEtestkeyAAAAAAAAAAAAAAAAAAAAAAA\n-----END PUBLIC KEY-----";

const POLICY: &str = r#"apiVersion: verdict.dev/v1
kind: ImagePolicy
rules:
  - name: acme
    images: ["ghcr.io/acme/*"]
    attestors:
      entries:
        - keyless:
            issuer: https://token.actions.githubusercontent.com
            subjectRegExp: ^https://github\.com/acme/[^/]+/\.github/workflows/release\.yml@refs/heads/main$
    attestations:
      - name: provenance
        predicateType: https://slsa.dev/provenance/v1
        policy: |
          package policy
          default allow := false
          allow if input.predicate.buildDefinition.buildType == "https://actions.github.io/buildtypes/workflow/v1"
          violations contains msg if {
            not allow
            msg := sprintf("build type %v is not GitHub Actions", [input.predicate.buildDefinition.buildType])
          }
  - name: vendor
    images: ["docker.io/vendor/**"]
    requireDigest: true
    attestors:
      count: 2
      entries:
        - key:
            publicKey: |
              -----BEGIN PUBLIC KEY-----
              MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEtestkeyAAAAAAAAAAAAAAAAAAAAAAA
              -----END PUBLIC KEY-----
        - keyless:
            issuer: https://accounts.google.com
            subject: release@vendor.example
"#;

/// A stand-in signature: who signed it, checked by `check` the way the verifier would.
#[derive(Debug, Clone)]
enum Sig {
    Keyless { subject: &'static str, issuer: &'static str },
    Key(&'static str),
    Tampered,
}

fn check(attestor: &Attestor, sig: &Sig) -> Result<SignerMatch, String> {
    let matched = |identity: Option<&str>, issuer: Option<&str>| SignerMatch {
        attestor: attestor.describe(),
        identity: identity.map(str::to_owned),
        issuer: issuer.map(str::to_owned),
        log_index: Some(7),
        integrated_time: None,
    };
    let matches = |m: &Matcher, value: &str| match m {
        Matcher::Exact(text) => text == value,
        Matcher::Regex(regex) => regex.is_match(value),
    };
    match (attestor, sig) {
        (_, Sig::Tampered) => Err("the signature does not verify".into()),
        (Attestor::Keyless { issuer, subject }, Sig::Keyless { subject: s, issuer: i }) => {
            if matches(issuer, i) && matches(subject, s) {
                Ok(matched(Some(s), Some(i)))
            } else {
                Err(format!("signed by {s} ({i})"))
            }
        }
        (Attestor::Key { public_key, .. }, Sig::Key(key)) if public_key == key => Ok(matched(None, None)),
        _ => Err("signed by someone else".into()),
    }
}

const GOOD: Sig = Sig::Keyless {
    subject: "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main",
    issuer: "https://token.actions.githubusercontent.com",
};

fn provenance(build_type: &str, subject: &str, envelope: Sig) -> AttestationCandidate<Sig> {
    AttestationCandidate {
        envelope,
        predicate_type: "https://slsa.dev/provenance/v1".into(),
        subject_digests: vec![subject.into()],
        predicate: json!({"buildDefinition": {"buildType": build_type}}),
    }
}

const GHA: &str = "https://actions.github.io/buildtypes/workflow/v1";

fn run(
    image: &str,
    sigs: &[Sig],
    attestations: &[AttestationCandidate<Sig>],
) -> verdict_imagepolicy::ImageDecision {
    let policy = load_image_policy("p.yml", POLICY).unwrap();
    decide(
        &policy,
        &ImageReference::parse(image).unwrap(),
        DIGEST,
        sigs,
        attestations,
        check,
        &Limits::default(),
    )
}

#[test]
fn a_signed_image_with_good_provenance_is_allowed() {
    let decision = run("ghcr.io/acme/app:1.0", &[GOOD], &[provenance(GHA, DIGEST, GOOD)]);
    assert!(decision.allowed, "{:?}", decision.reasons);
    assert_eq!(decision.rules.len(), 1);
    let rule = &decision.rules[0];
    assert_eq!(
        rule.signatures.as_ref().unwrap().satisfied[0].identity.as_deref(),
        Some("https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main")
    );
    assert!(rule.attestations[0].satisfied);
}

/// A case: its name, the image's signatures, its attestations, and a reason the denial must give.
type Case = (&'static str, Vec<Sig>, Vec<AttestationCandidate<Sig>>, &'static str);

#[test]
fn every_failure_denies_with_its_reason() {
    let cases: Vec<Case> = vec![
        ("unsigned", vec![], vec![provenance(GHA, DIGEST, GOOD)], "is not signed"),
        ("tampered", vec![Sig::Tampered], vec![provenance(GHA, DIGEST, GOOD)], "does not verify"),
        (
            "wrong identity",
            vec![Sig::Keyless {
                subject: "https://github.com/evil/app/.github/workflows/release.yml@refs/heads/main",
                issuer: "https://token.actions.githubusercontent.com",
            }],
            vec![provenance(GHA, DIGEST, GOOD)],
            "signed by https://github.com/evil",
        ),
        (
            "wrong issuer",
            vec![Sig::Keyless {
                subject: "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main",
                issuer: "https://evil.example",
            }],
            vec![provenance(GHA, DIGEST, GOOD)],
            "(https://evil.example)",
        ),
        (
            "key instead of identity",
            vec![Sig::Key(KEY)],
            vec![provenance(GHA, DIGEST, GOOD)],
            "signed by someone else",
        ),
        ("no attestation", vec![GOOD], vec![], "none was found"),
        (
            "wrong predicate type",
            vec![GOOD],
            vec![AttestationCandidate {
                predicate_type: "https://spdx.dev/Document".into(),
                ..provenance(GHA, DIGEST, GOOD)
            }],
            "none was found",
        ),
        ("subject is another image", vec![GOOD], vec![provenance(GHA, OTHER, GOOD)], "not the image"),
        (
            "attestation signed by someone else",
            vec![GOOD],
            vec![provenance(GHA, DIGEST, Sig::Key(KEY))],
            "attestation #0 needs 1",
        ),
        (
            "predicate policy denies",
            vec![GOOD],
            vec![provenance("https://evil.example/build", DIGEST, GOOD)],
            "build type https://evil.example/build is not GitHub Actions",
        ),
    ];
    for (case, sigs, attestations, expected) in cases {
        let decision = run("ghcr.io/acme/app:1.0", &sigs, &attestations);
        assert!(!decision.allowed, "{case}: allowed");
        let reasons = decision.reasons.join("\n");
        assert!(reasons.contains(expected), "{case}: {reasons}");
        assert!(reasons.starts_with("rule \"acme\""), "{case}: {reasons}");
    }
}

#[test]
fn no_matching_rule_is_denied_unless_the_policy_allows_it() {
    let decision = run("quay.io/other/app:1", &[GOOD], &[]);
    assert!(!decision.allowed);
    assert_eq!(
        decision.reasons,
        vec!["no rule of the image policy matches quay.io/other/app: denied by default"]
    );
    let allowing = POLICY.replace("kind: ImagePolicy\n", "kind: ImagePolicy\nnoMatch: allow\n");
    let policy = load_image_policy("p.yml", &allowing).unwrap();
    let decision = decide(
        &policy,
        &ImageReference::parse("quay.io/other/app:1").unwrap(),
        DIGEST,
        &[] as &[Sig],
        &[],
        check,
        &Limits::default(),
    );
    assert!(decision.allowed);
    // A lookalike registry does not match the rule's glob.
    assert!(!run("ghcr.io.evil.example/acme/app", &[GOOD], &[provenance(GHA, DIGEST, GOOD)]).allowed);
}

#[test]
fn count_requires_distinct_attestors_and_digest_references() {
    let vendor_key = Sig::Key(KEY);
    let vendor_id = Sig::Keyless { subject: "release@vendor.example", issuer: "https://accounts.google.com" };
    let by_digest = format!("vendor/agent@{DIGEST}");
    // Two signatures by the same key are one attestor.
    let decision = run(&by_digest, &[vendor_key.clone(), vendor_key.clone()], &[]);
    assert!(!decision.allowed);
    assert!(decision.reasons[0].contains("needs 2 of its attestors, 1 verified"), "{:?}", decision.reasons);
    assert!(run(&by_digest, &[vendor_key.clone(), vendor_id.clone()], &[]).allowed);
    // By tag: refused, and told which digest to use.
    let decision = run("vendor/agent:2.1", &[vendor_key.clone(), vendor_id.clone()], &[]);
    assert!(!decision.allowed);
    assert!(
        decision.reasons[0].contains(&format!("use docker.io/vendor/agent@{DIGEST}")),
        "{:?}",
        decision.reasons
    );
    // A digest in the reference that differs from what the registry served.
    let decision = run(&format!("vendor/agent@{OTHER}"), &[vendor_key, vendor_id], &[]);
    assert!(decision.reasons.iter().any(|r| r.contains("but the registry served")), "{:?}", decision.reasons);
}

fn errors(source: &str) -> Vec<String> {
    load_image_policy("bad.yml", source).unwrap_err().iter().map(|d| d.short()).collect()
}

#[test]
fn bad_policies_name_file_line_and_column() {
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "bad.yml:1:1: error: the image policy is empty"),
        ("apiVersion: verdict.dev/v1\nkind: ImagePolicy\nrules: [\n".into(), "bad.yml:4:1: error: invalid YAML"),
        ("kind: ImagePolicy\nrules: []\n".into(), "missing required key `apiVersion`"),
        (POLICY.replace("    images: [\"ghcr.io/acme/*\"]", "    image: [\"ghcr.io/acme/*\"]"), "bad.yml:5:5: error: unknown key `image` in `rules[0]`"),
        (POLICY.replace("subjectRegExp: ^https://github\\.com/acme/[^/]+/\\.github/workflows/release\\.yml@refs/heads/main$", "subjectRegExp: https://github\\.com/acme/"), "bad.yml:10:28: error: subjectRegExp \"https://github\\\\.com/acme/\" is not anchored"),
        (POLICY.replace("            issuer: https://token.actions.githubusercontent.com\n", ""), "bad.yml:9:13: error: a keyless attestor needs `issuer` (exact) or `issuerRegExp`"),
        (POLICY.replace("      count: 2", "      count: 3"), "bad.yml:26:14: error: count is 3 but only 2 attestors are listed"),
        (POLICY.replace("package policy", "package other"), "bad.yml:15:11: error: the predicate policy does not load: policy package must be 'package policy'"),
        (POLICY.replace("images: [\"ghcr.io/acme/*\"]", "images: [\"ghcr.io/acme/app:v1\"]"), "bad.yml:5:14: error: \"ghcr.io/acme/app:v1\": a pattern names repositories"),
        (POLICY.replace("        - key:\n            publicKey: |\n", "        - key:\n            publicKey: not a key\n            x: |\n"), "unknown key `x`"),
        ("apiVersion: verdict.dev/v1\nkind: ImagePolicy\nrules:\n  - name: r\n    images: [\"**\"]\n".into(), "bad.yml:4:5: error: the rule \"r\" requires neither signatures nor attestations"),
        ("apiVersion: verdict.dev/v1\nkind: ImagePolicy\nrules:\n  - name: r\n    images: [\"**\"]\n    attestations:\n      - predicateType: x\n".into(), "bad.yml:7:9: error: the attestation `rules[0].attestations[0]` has no attestors"),
        ("apiVersion: verdict.dev/v1\nkind: ImagePolicy\nrules:\n  - name: r\n    images: [\"**\"]\n    attestors:\n      entries:\n        - keyless: {issuer: a, subject: b}\n          key: {publicKey: k}\n".into(), "bad.yml:8:11: error: `rules[0].attestors.entries[0]` must name exactly one of `keyless` or `key`"),
    ];
    for (source, expected) in cases {
        let found = errors(&source);
        assert!(found.iter().any(|e| e.contains(expected)), "expected {expected:?} in {found:#?}");
    }
}

#[test]
fn the_example_policy_in_the_docs_loads() {
    let source =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/image-policy.yml"))
            .unwrap();
    let policy = load_image_policy("examples/image-policy.yml", &source).unwrap();
    assert!(!policy.rules.is_empty());
}

mod properties {
    use proptest::prelude::*;
    use verdict_imagepolicy::{ImageReference, load_image_policy};

    proptest! {
        /// Arbitrary text never panics the loader; it loads or says where it is wrong.
        #[test]
        fn the_loader_never_panics(source in "\\PC{0,300}") {
            if let Err(diagnostics) = load_image_policy("f.yml", &source) {
                prop_assert!(!diagnostics.is_empty());
                prop_assert!(diagnostics.iter().all(|d| d.line >= 1 && d.column >= 1));
            }
        }

        /// A parsed reference prints to text that parses to the same reference.
        #[test]
        fn references_round_trip(text in "[a-z0-9./:@_-]{1,60}") {
            if let Ok(reference) = ImageReference::parse(&text) {
                prop_assert_eq!(ImageReference::parse(&reference.to_string()).unwrap(), reference);
            }
        }
    }
}

/// `count: 2` over overlapping entries (an exact identity and a pattern that also matches it): one
/// signature satisfies both entries, but it is one signer, so it counts once; two different signers
/// count twice. The matching also finds the assignment when the first choice would block the second.
#[test]
fn count_is_of_distinct_signers_not_of_overlapping_entries() {
    let policy = r#"apiVersion: verdict.dev/v1
kind: ImagePolicy
rules:
  - name: two-person
    images: ["ghcr.io/acme/**"]
    attestors:
      count: 2
      entries:
        - keyless:
            issuer: https://accounts.google.com
            subjectRegExp: ^[a-z]+@acme\.example$
        - keyless:
            issuer: https://accounts.google.com
            subject: alice@acme.example
"#;
    let policy = load_image_policy("p.yml", policy).unwrap();
    let decide_with = |sigs: &[Sig]| {
        decide(
            &policy,
            &ImageReference::parse("ghcr.io/acme/app:1").unwrap(),
            DIGEST,
            sigs,
            &[],
            check,
            &Limits::default(),
        )
    };
    let alice = Sig::Keyless { subject: "alice@acme.example", issuer: "https://accounts.google.com" };
    let bob = Sig::Keyless { subject: "bob@acme.example", issuer: "https://accounts.google.com" };
    let decision = decide_with(std::slice::from_ref(&alice));
    assert!(!decision.allowed, "one signer met count 2 through two overlapping entries");
    assert!(decision.reasons[0].contains("needs 2 of its attestors, 1 verified"), "{:?}", decision.reasons);
    assert!(decision.reasons[0].contains("already counted"), "{:?}", decision.reasons);
    // Alice signing twice is still one signer.
    assert!(!decide_with(&[alice.clone(), alice.clone()]).allowed);
    // Alice and Bob: Alice must go to the exact entry and Bob to the pattern, whatever the order.
    assert!(decide_with(&[alice.clone(), bob.clone()]).allowed);
    assert!(decide_with(&[bob, alice]).allowed);
}

/// Under `noMatch: allow`, a registry host spelled differently (case, :443, a trailing dot) must still
/// meet the rule for that registry, not slip through as unmatched.
#[test]
fn registry_spellings_do_not_escape_their_rule() {
    let policy = POLICY.replace("kind: ImagePolicy\n", "kind: ImagePolicy\nnoMatch: allow\n");
    let policy = load_image_policy("p.yml", &policy).unwrap();
    for image in ["GHCR.io/acme/app:1", "ghcr.io:443/acme/app:1", "ghcr.io./acme/app:1", "Ghcr.IO/acme/app"] {
        let decision = decide(
            &policy,
            &ImageReference::parse(image).unwrap(),
            DIGEST,
            &[],
            &[],
            check,
            &Limits::default(),
        );
        assert!(!decision.allowed, "{image} was admitted unsigned");
        assert_eq!(decision.rules.len(), 1, "{image}");
    }
    // An image of another registry is allowed unsigned by noMatch: allow (the control).
    let other = decide(
        &policy,
        &ImageReference::parse("quay.io/acme/app:1").unwrap(),
        DIGEST,
        &[],
        &[],
        check,
        &Limits::default(),
    );
    assert!(other.allowed);
}

/// The shape platform teams publish for Kyverno (the admission issue's example).
const KYVERNO: &str = r#"apiVersion: policies.kyverno.io/v1
kind: ImageValidatingPolicy
metadata:
  name: require-signed-myorg
spec:
  validationActions: [Deny]
  webhookConfiguration:
    failurePolicy: Fail
  matchImageReferences:
    - glob: 'ghcr.io/myorg/*'
  attestors:
    - name: githubBuilder
      cosign:
        keyless:
          identities:
            - issuer: 'https://token.actions.githubusercontent.com'
              subject: 'https://github.com/myorg/myrepo/.github/workflows/build.yml@refs/heads/main'
  attestations:
    - name: slsaProvenance
      intoto:
        type: https://slsa.dev/provenance/v1
"#;

/// The same, in Sigstore policy-controller's format.
const CLUSTER_IMAGE_POLICY: &str = r#"apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata:
  name: require-signed-myorg
spec:
  images:
    - glob: ghcr.io/myorg/*
  authorities:
    - name: github
      keyless:
        url: https://fulcio.sigstore.dev
        identities:
          - issuer: https://token.actions.githubusercontent.com
            subject: https://github.com/myorg/myrepo/.github/workflows/build.yml@refs/heads/main
      ctlog:
        url: https://rekor.sigstore.dev
      attestations:
        - name: provenance
          predicateType: slsaprovenance1
"#;

/// And in verdict's own.
const VERDICT_EQUIVALENT: &str = r#"apiVersion: verdict.dev/v1
kind: ImagePolicy
rules:
  - name: require-signed-myorg
    images: ["ghcr.io/myorg/*"]
    attestors:
      entries:
        - keyless:
            issuer: https://token.actions.githubusercontent.com
            subject: https://github.com/myorg/myrepo/.github/workflows/build.yml@refs/heads/main
    attestations:
      - name: provenance
        predicateType: https://slsa.dev/provenance/v1
"#;

/// An image, its signatures and attestations, and whether it must be allowed.
type FormatCase = (&'static str, Vec<Sig>, Vec<AttestationCandidate<Sig>>, bool);

#[test]
fn kyverno_and_policy_controller_formats_decide_as_their_verdict_equivalent() {
    let builder = Sig::Keyless {
        subject: "https://github.com/myorg/myrepo/.github/workflows/build.yml@refs/heads/main",
        issuer: "https://token.actions.githubusercontent.com",
    };
    let stranger = Sig::Keyless {
        subject: "https://github.com/evil/x/.github/workflows/b.yml@refs/heads/main",
        issuer: "https://token.actions.githubusercontent.com",
    };
    let slsa = |envelope: Sig, subject: &str| AttestationCandidate {
        envelope,
        predicate_type: "https://slsa.dev/provenance/v1".into(),
        subject_digests: vec![subject.into()],
        predicate: json!({}),
    };
    let cases: Vec<FormatCase> = vec![
        ("ghcr.io/myorg/app:1", vec![builder.clone()], vec![slsa(builder.clone(), DIGEST)], true),
        ("ghcr.io/myorg/app:1", vec![], vec![], false),
        ("ghcr.io/myorg/app:1", vec![builder.clone()], vec![], false),
        ("ghcr.io/myorg/app:1", vec![stranger.clone()], vec![slsa(stranger, DIGEST)], false),
        ("ghcr.io/myorg/app:1", vec![builder.clone()], vec![slsa(builder.clone(), OTHER)], false),
        ("GHCR.io/myorg/app:1", vec![], vec![], false),
        // No rule matches: denied by default in every format.
        ("docker.io/library/nginx:1", vec![builder.clone()], vec![], false),
    ];
    let verdict = load_image_policy("verdict.yml", VERDICT_EQUIVALENT).unwrap();
    for (file, source) in [("kyverno.yaml", KYVERNO), ("cip.yaml", CLUSTER_IMAGE_POLICY)] {
        let policy = load_image_policy(file, source).unwrap_or_else(|d| panic!("{file}: {d:#?}"));
        for (image, sigs, attestations, allowed) in &cases {
            let reference = ImageReference::parse(image).unwrap();
            let theirs = decide(&policy, &reference, DIGEST, sigs, attestations, check, &Limits::default());
            let ours = decide(&verdict, &reference, DIGEST, sigs, attestations, check, &Limits::default());
            assert_eq!(
                (theirs.allowed, ours.allowed),
                (*allowed, *allowed),
                "{file} {image}: {:?}",
                theirs.reasons
            );
        }
    }
}

#[test]
fn key_based_policy_controller_authorities_load() {
    let source = format!(
        "apiVersion: policy.sigstore.dev/v1alpha1\nkind: ClusterImagePolicy\nmetadata: {{name: vendor}}\nspec:\n  images: [{{glob: 'docker.io/vendor/**'}}]\n  authorities:\n    - key:\n        data: |\n          {}\n",
        KEY.replace('\n', "\n          ")
    );
    let policy = load_image_policy("vendor.yaml", &source).unwrap_or_else(|d| panic!("{d:#?}"));
    let reference = ImageReference::parse("vendor/agent:2").unwrap();
    assert!(decide(&policy, &reference, DIGEST, &[Sig::Key(KEY)], &[], check, &Limits::default()).allowed);
    assert!(!decide(&policy, &reference, DIGEST, &[], &[], check, &Limits::default()).allowed);
}

#[test]
fn what_verdict_cannot_honour_in_other_formats_is_refused_at_its_line() {
    let cases: Vec<(String, &str)> = vec![
        (
            KYVERNO.replace(
                "  attestations:\n",
                "  variables:\n    - name: x\n      expression: 'true'\n  attestations:\n",
            ),
            "kyverno.yaml:18:3: error: `spec.variables` is not supported by verdict",
        ),
        (
            KYVERNO.replace("validationActions: [Deny]", "validationActions: [Block]"),
            "kyverno.yaml:6:23: error: unknown validationAction \"Block\"",
        ),
        (
            KYVERNO.replace("failurePolicy: Fail", "failurePolicy: Ignore"),
            "kyverno.yaml:8:20: error: verdict fails closed",
        ),
        (
            KYVERNO.replace(
                "      cosign:\n",
                "      cosign:\n        ctlog:\n          insecureIgnoreTlog: true\n",
            ),
            "kyverno.yaml:15:31: error: the transparency log can be waived only for key-based signatures",
        ),
        (
            KYVERNO.replace(
                "      cosign:\n",
                "      cosign:\n        ctlog:\n          url: https://rekor.internal\n",
            ),
            "kyverno.yaml:15:11: error: `spec.attestors[0].cosign.ctlog.url` is not supported",
        ),
        (
            KYVERNO.replace("    - glob: 'ghcr.io/myorg/*'", "    - expression: \"true\""),
            "kyverno.yaml:10:7: error: `spec.matchImageReferences[0].expression` is not supported",
        ),
        (
            KYVERNO.replace(
                "  attestors:\n    - name: githubBuilder\n      cosign:",
                "  attestors:\n    - name: githubBuilder\n      notary: {}\n      cosign:",
            ),
            "`spec.attestors[0].notary` is not supported",
        ),
        (
            KYVERNO.replace(
                "subject: 'https://github.com/myorg/myrepo/.github/workflows/build.yml@refs/heads/main'",
                "subjectRegExp: 'https://github.com/myorg/.*'",
            ),
            "kyverno.yaml:17:30: error: subjectRegExp \"https://github.com/myorg/.*\" is not anchored",
        ),
        (
            KYVERNO.replace("  webhookConfiguration:", "  sneaky: true\n  webhookConfiguration:"),
            "kyverno.yaml:7:3: error: unknown key `sneaky` in `spec`",
        ),
    ];
    let mut missing = Vec::new();
    for (source, expected) in cases {
        let found: Vec<String> =
            load_image_policy("kyverno.yaml", &source).unwrap_err().iter().map(|d| d.short()).collect();
        if !found.iter().any(|e| e.contains(expected)) {
            missing.push(format!("expected {expected:?} in {found:#?}"));
        }
    }
    let mut cip: Vec<(String, &str)> = vec![
        (
            CLUSTER_IMAGE_POLICY.replace("spec:\n", "spec:\n  mode: block\n"),
            "cip.yaml:6:9: error: mode \"block\" is not a policy-controller mode",
        ),
        (
            CLUSTER_IMAGE_POLICY.replace("spec:\n", "spec:\n  policy:\n    type: cue\n"),
            "cip.yaml:6:3: error: `spec.policy` is not supported",
        ),
        (
            CLUSTER_IMAGE_POLICY.replace(
                "          predicateType: slsaprovenance1\n",
                "          predicateType: slsaprovenance1\n          policy:\n            type: rego\n",
            ),
            "`spec.authorities[0].attestations[0].policy` is not supported",
        ),
        (
            CLUSTER_IMAGE_POLICY.replace("url: https://fulcio.sigstore.dev", "url: https://fulcio.internal"),
            "cip.yaml:11:14: error: only the public Fulcio is known by URL",
        ),
        (
            CLUSTER_IMAGE_POLICY.replace(
                "    - name: github\n",
                "    - name: pass\n      static: {action: pass}\n    - name: github\n",
            ),
            "`spec.authorities[0].static` is not supported",
        ),
    ];
    cip.extend([
        (
            CLUSTER_IMAGE_POLICY
                .replace("      ctlog:\n        url: https://rekor.sigstore.dev\n", "      ctlog: {}\n"),
            "cip.yaml:15:14: error: the transparency log can be waived only for key-based signatures",
        ),
        (
            CLUSTER_IMAGE_POLICY.replace(
                "        url: https://rekor.sigstore.dev\n",
                "        url: https://rekor.sigstore.dev\n        insecureIgnoreTlog: true\n",
            ),
            "cip.yaml:17:9: error: unknown key `insecureIgnoreTlog` in `spec.authorities[0].ctlog`",
        ),
    ]);
    for (source, expected) in cip {
        let found: Vec<String> =
            load_image_policy("cip.yaml", &source).unwrap_err().iter().map(|d| d.short()).collect();
        if !found.iter().any(|e| e.contains(expected)) {
            missing.push(format!("expected {expected:?} in {found:#?}"));
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn a_policy_says_its_own_mode_in_every_format() {
    let mode = |file: &str, source: String| {
        load_image_policy(file, &source).unwrap_or_else(|d| panic!("{file}: {d:#?}")).mode
    };
    let kyverno = |actions: &str| mode("kyverno.yaml", KYVERNO.replace("[Deny]", actions));
    assert_eq!(kyverno("[Deny]"), Some(PolicyMode::Enforce));
    assert_eq!(kyverno("[Audit, Deny]"), Some(PolicyMode::Enforce), "Deny wins over every other action");
    assert_eq!(kyverno("[Warn]"), Some(PolicyMode::Warn));
    assert_eq!(kyverno("[Audit, Warn]"), Some(PolicyMode::Warn));
    assert_eq!(kyverno("[Audit]"), Some(PolicyMode::Audit));
    let cip =
        |line: &str| mode("cip.yaml", CLUSTER_IMAGE_POLICY.replace("spec:\n", &format!("spec:\n{line}")));
    assert_eq!(cip(""), None, "no mode: the webhook's configured mode");
    assert_eq!(cip("  mode: warn\n"), Some(PolicyMode::Warn));
    assert_eq!(cip("  mode: enforce\n"), Some(PolicyMode::Enforce));
    let verdict = |line: &str| {
        mode(
            "verdict.yml",
            VERDICT_EQUIVALENT.replace("kind: ImagePolicy\n", &format!("kind: ImagePolicy\n{line}")),
        )
    };
    assert_eq!(verdict(""), None);
    assert_eq!(verdict("mode: audit\n"), Some(PolicyMode::Audit));
    assert_eq!(verdict("mode: warn\n"), Some(PolicyMode::Warn));
    assert_eq!(verdict("mode: enforce\n"), Some(PolicyMode::Enforce));
    let refused = load_image_policy(
        "verdict.yml",
        &VERDICT_EQUIVALENT.replace("kind: ImagePolicy\n", "kind: ImagePolicy\nmode: loud\n"),
    );
    assert!(refused.is_err(), "an unknown mode is refused, never read as a looser one");
}

/// The public key of `KEY`, indented for a YAML block scalar at `indent` spaces.
fn key_block(indent: usize) -> String {
    KEY.replace('\n', &format!("\n{}", " ".repeat(indent)))
}

/// Whether each key attestor of the loaded policy waives the transparency log.
fn waivers(file: &str, source: &str) -> Vec<bool> {
    let policy = load_image_policy(file, source).unwrap_or_else(|d| panic!("{file}: {d:#?}"));
    policy.rules[0]
        .attestors
        .iter()
        .flat_map(|a| &a.entries)
        .filter_map(|entry| match entry {
            Attestor::Key { ignore_tlog, .. } => Some(*ignore_tlog),
            Attestor::Keyless { .. } => None,
        })
        .collect()
}

#[test]
fn the_transparency_log_is_waived_only_where_a_policy_says_so_in_every_format() {
    let verdict = |extra: &str| {
        format!(
            "apiVersion: verdict.dev/v1\nkind: ImagePolicy\nrules:\n  - name: airgap\n    images: ['registry.local/**']\n    attestors:\n      entries:\n        - key:\n{extra}            publicKey: |\n              {}\n",
            key_block(14)
        )
    };
    assert_eq!(waivers("v.yml", &verdict("")), [false]);
    assert_eq!(waivers("v.yml", &verdict("            ignoreTlog: false\n")), [false]);
    assert_eq!(waivers("v.yml", &verdict("            ignoreTlog: true\n")), [true]);

    let kyverno = |ctlog: &str| {
        format!(
            "apiVersion: policies.kyverno.io/v1\nkind: ImageValidatingPolicy\nmetadata: {{name: airgap}}\nspec:\n  matchImageReferences: [{{glob: 'registry.local/*'}}]\n  attestors:\n    - name: release\n      cosign:\n{ctlog}        key:\n          data: |\n            {}\n",
            key_block(12)
        )
    };
    assert_eq!(waivers("k.yaml", &kyverno("")), [false]);
    assert_eq!(waivers("k.yaml", &kyverno("        ctlog: {insecureIgnoreTlog: false}\n")), [false]);
    // Kyverno insists on a URL and keys even when the log is waived; they are accepted and unused.
    assert_eq!(
        waivers(
            "k.yaml",
            &kyverno(
                "        ctlog:\n          url: https://rekor.sigstore.dev\n          insecureIgnoreTlog: true\n"
            ),
        ),
        [true]
    );
    let bad = load_image_policy("k.yaml", &kyverno("        ctlog: {insecureIgnoreTlog: yes please}\n"));
    assert!(bad.unwrap_err().iter().any(|d| d.short().contains("must be true or false")));

    let cip = |ctlog: &str| {
        format!(
            "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata: {{name: airgap}}\nspec:\n  images: [{{glob: 'registry.local/**'}}]\n  authorities:\n    - name: release\n{ctlog}      key:\n        data: |\n          {}\n",
            key_block(10)
        )
    };
    assert_eq!(waivers("c.yaml", &cip("")), [false]);
    assert_eq!(waivers("c.yaml", &cip("      ctlog: {url: https://rekor.sigstore.dev}\n")), [false]);
    assert_eq!(waivers("c.yaml", &cip("      ctlog: {}\n")), [true]);
}
