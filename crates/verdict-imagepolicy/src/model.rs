//! The image policy as loaded: rules with compiled globs, identity matchers and Rego predicate policies.

use verdict_rego::RegoPolicy;
use verdict_sigstore::Matcher;

use crate::reference::ImageGlob;

/// What happens to an image no rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoMatch {
    /// Fail (the default: deny by default).
    Deny,
    /// Pass: the policy explicitly lets unmatched images through.
    Allow,
}

/// What the admission webhook does with a failure of a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyMode {
    /// Admit silently (record only).
    Audit,
    /// Admit with a warning.
    Warn,
    /// Deny.
    Enforce,
}

/// A loaded image policy.
#[derive(Debug, Clone)]
pub struct ImagePolicy {
    /// What happens to an image no rule matches.
    pub no_match: NoMatch,
    /// What the admission webhook does when this policy fails, when the policy says (`mode`, Kyverno's
    /// `validationActions`, policy-controller's `mode`); `None`: the webhook's configured mode.
    pub mode: Option<PolicyMode>,
    /// The rules; every rule whose images match an image applies to it, and all must be satisfied.
    pub rules: Vec<ImageRule>,
}

/// One rule.
#[derive(Debug, Clone)]
pub struct ImageRule {
    /// Its name, for reasons and output.
    pub name: String,
    /// The repositories it applies to.
    pub images: Vec<ImageGlob>,
    /// Whether the reference must name a digest (a tag can be moved after verification).
    pub require_digest: bool,
    /// Who must have signed the image, when signatures are required.
    pub attestors: Option<Attestors>,
    /// The attestations the image must carry.
    pub attestations: Vec<AttestationRequirement>,
    /// CEL validations that decide the rule instead of requiring every attestor and attestation
    /// (Kyverno ImageValidatingPolicy `validations`), when given.
    pub validations: Option<CelValidations>,
}

/// A rule decided by CEL: the expressions, and the attestors and attestations they may name.
#[derive(Debug, Clone)]
pub struct CelValidations {
    /// Named attestors (`attestors.NAME`): entries sharing a name form one attestor, satisfied by any
    /// of them (a Kyverno attestor with several keyless identities).
    pub attestors: Vec<(String, Vec<Attestor>)>,
    /// Named attestations (`attestations.NAME`) and their predicate types.
    pub attestations: Vec<(String, String)>,
    /// The expressions, each of which must be true.
    pub expressions: Vec<CelValidation>,
}

/// One CEL validation.
#[derive(Debug, Clone)]
pub struct CelValidation {
    /// The compiled expression.
    pub expression: std::sync::Arc<verdict_kyverno::cel::Expression>,
    /// What a failure says (default: the expression).
    pub message: Option<String>,
}

/// A set of acceptable signers of which `count` must have signed.
#[derive(Debug, Clone)]
pub struct Attestors {
    /// How many distinct entries must be satisfied (default 1).
    pub count: usize,
    /// The acceptable signers.
    pub entries: Vec<Attestor>,
}

/// One acceptable signer.
#[derive(Debug, Clone)]
pub enum Attestor {
    /// A keyless (Fulcio) identity.
    Keyless {
        /// The OIDC issuer.
        issuer: Matcher,
        /// The certificate identity (SAN).
        subject: Matcher,
    },
    /// A public key (PEM `PUBLIC KEY`).
    Key {
        /// The PEM text.
        public_key: String,
        /// Signatures without a transparency-log entry are accepted (air-gapped signers; the policy
        /// must say so explicitly: verdict's `ignoreTlog`, Kyverno's `ctlog.insecureIgnoreTlog`,
        /// policy-controller's empty `ctlog: {}`).
        ignore_tlog: bool,
    },
}

impl Attestor {
    /// A short description for reasons and output.
    pub fn describe(&self) -> String {
        match self {
            Attestor::Keyless { issuer, subject } => {
                format!("keyless subject {} issuer {}", describe(subject), describe(issuer))
            }
            Attestor::Key { public_key, ignore_tlog } => {
                let body: String = public_key.lines().filter(|l| !l.starts_with("-----")).collect();
                let tail: String =
                    body.chars().rev().take(12).collect::<Vec<_>>().into_iter().rev().collect();
                let tlog = if *ignore_tlog { " (transparency log not required)" } else { "" };
                format!("public key …{tail}{tlog}")
            }
        }
    }
}

fn describe(matcher: &Matcher) -> String {
    match matcher {
        Matcher::Exact(text) => format!("{text:?}"),
        Matcher::Regex(regex) => format!("/{}/", regex.as_str()),
    }
}

/// An attestation an image must carry.
#[derive(Debug, Clone)]
pub struct AttestationRequirement {
    /// Its name (default: the predicate type).
    pub name: String,
    /// The in-toto predicate type, exactly.
    pub predicate_type: String,
    /// Who must have signed it (default: the rule's attestors).
    pub attestors: Attestors,
    /// A Rego policy (`package policy`, `allow`, `violations`) over the predicate.
    pub policy: Option<RegoPolicy>,
}
