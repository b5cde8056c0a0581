//! Sigstore bundle verification for verdict, on `sigstore-verify` (pinned): one trusted root (a file,
//! or the embedded production root) loaded once, offline; identities matched exactly or by regular
//! expression; every failure is "not verified" with the reason (DESIGN.md rule 2).

mod unlogged;

use std::path::Path;

use base64::Engine;
use regex::Regex;
use serde::Serialize;
use sigstore_trust_root::{SIGSTORE_PRODUCTION_TRUSTED_ROOT, TrustedRoot};
use sigstore_types::{Bundle, DerPublicKey, Sha256Hash};
use sigstore_verify::{PublicKeyVerificationPolicy, VerificationPolicy, Verifier};

/// Why a bundle cannot be checked at all (bad input), as opposed to checked and refused.
#[derive(Debug, thiserror::Error)]
pub enum SigstoreError {
    /// The trusted root is unreadable or invalid.
    #[error("trusted root {source_name}: {message}")]
    TrustedRoot {
        /// The file (or "embedded production root").
        source_name: String,
        /// Why.
        message: String,
    },
    /// The bundle file is unreadable or not a bundle.
    #[error("bundle {path}: {message}")]
    Bundle {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// A key, regex or artifact argument is unusable.
    #[error("{0}")]
    Usage(String),
}

/// Why a signature without a transparency-log entry is refused, and the one way to accept it.
pub const NOT_LOGGED: &str = "the signature has no transparency-log entry; only a key-based signer explicitly \
     allowed to skip the log is accepted without one (`ignoreTlog: true` in an image policy, Kyverno's \
     `ctlog.insecureIgnoreTlog: true`, `verify bundle --key K --insecure-ignore-tlog`)";

/// How a string claim is matched.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// Equal.
    Exact(String),
    /// Go's `regexp.MatchString` semantics, as cosign: the pattern may match anywhere unless anchored.
    Regex(Regex),
}

impl Matcher {
    /// A regex matcher; `warn` is told when the pattern is not anchored at both ends (a common pitfall:
    /// `https://github.com/acme/` also matches `https://github.com/acme/../evil`-like identities).
    pub fn regex(pattern: &str, warn: impl FnOnce(&str)) -> Result<Self, SigstoreError> {
        if !(pattern.starts_with('^') && pattern.ends_with('$')) {
            warn(pattern);
        }
        Regex::new(pattern)
            .map(Matcher::Regex)
            .map_err(|err| SigstoreError::Usage(format!("invalid regular expression {pattern:?}: {err}")))
    }

    fn matches(&self, value: &str) -> bool {
        match self {
            Matcher::Exact(expected) => expected == value,
            Matcher::Regex(regex) => regex.is_match(value),
        }
    }

    fn describe(&self) -> String {
        match self {
            Matcher::Exact(text) => format!("{text:?}"),
            Matcher::Regex(regex) => format!("/{}/", regex.as_str()),
        }
    }
}

/// Who must have signed.
#[derive(Debug, Clone)]
pub enum Signer {
    /// A keyless (Fulcio) certificate whose SAN and OIDC issuer match.
    Keyless {
        /// The certificate identity (SAN).
        identity: Matcher,
        /// The OIDC issuer.
        issuer: Matcher,
    },
    /// A managed key.
    Key {
        /// The PEM `PUBLIC KEY` text.
        public_key: String,
        /// Accept a signature that carries no transparency-log entry (cosign's `--insecure-ignore-tlog`,
        /// Kyverno's `ctlog.insecureIgnoreTlog`): for air-gapped signers only, and only when a policy
        /// says so. Log entries that are present are still checked for consistency.
        ignore_tlog: bool,
    },
}

/// What was verified, as the CLI reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verified {
    /// The certificate identity, for keyless bundles.
    pub identity: Option<String>,
    /// The OIDC issuer, for keyless bundles.
    pub issuer: Option<String>,
    /// The Rekor integrated time (RFC 3339), when the log provided one.
    pub integrated_time: Option<String>,
    /// Every authenticated time used (RFC 3339).
    pub verified_times: Vec<String>,
}

/// The artifact a bundle is about: its bytes, or only its SHA-256.
#[derive(Debug, Clone)]
pub enum Subject {
    /// The file's content.
    Bytes(Vec<u8>),
    /// `sha256:<hex>`.
    Digest(String),
}

impl Subject {
    /// The conformance protocol's rule: `sha256:` + 64 hex characters that is not an existing file is a
    /// digest; anything else is a path.
    pub fn from_argument(argument: &str) -> Result<Self, SigstoreError> {
        if let Some(hex) = argument.strip_prefix("sha256:")
            && hex.len() == 64
            && hex.bytes().all(|b| b.is_ascii_hexdigit())
            && !Path::new(argument).exists()
        {
            return Ok(Subject::Digest(hex.to_ascii_lowercase()));
        }
        std::fs::read(argument)
            .map(Subject::Bytes)
            .map_err(|err| SigstoreError::Usage(format!("cannot read artifact {argument}: {err}")))
    }
}

/// A verifier for one trusted root, built once and reused.
pub struct BundleVerifier {
    verifier: Verifier,
}

impl std::fmt::Debug for BundleVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BundleVerifier")
    }
}

impl BundleVerifier {
    /// A verifier trusting `trusted_root` (Sigstore's `trusted_root.json`), or the embedded production
    /// root. Never fetches anything.
    pub fn new(trusted_root: Option<&Path>) -> Result<Self, SigstoreError> {
        let (root, name) = match trusted_root {
            Some(path) => {
                (TrustedRoot::from_file(path).map_err(|e| e.to_string()), path.display().to_string())
            }
            None => (
                TrustedRoot::from_json(SIGSTORE_PRODUCTION_TRUSTED_ROOT).map_err(|e| e.to_string()),
                "embedded production root".to_owned(),
            ),
        };
        let root =
            root.map_err(|message| SigstoreError::TrustedRoot { source_name: name.clone(), message })?;
        let verifier = Verifier::new(&root)
            .map_err(|err| SigstoreError::TrustedRoot { source_name: name, message: err.to_string() })?;
        Ok(BundleVerifier { verifier })
    }

    /// Verifies the bundle at `path` (its text `json`) for `subject` and `signer`. `Ok(Err(reason))` is
    /// "checked and not verified".
    pub fn verify(
        &self,
        path: &str,
        json: &str,
        subject: &Subject,
        signer: &Signer,
    ) -> Result<Result<Verified, String>, SigstoreError> {
        let bundle = Bundle::from_json(json)
            .map_err(|err| SigstoreError::Bundle { path: path.to_owned(), message: err.to_string() })?;
        if let Some(reason) = root_in_chain(json) {
            return Ok(Err(reason));
        }
        let outcome = match signer {
            Signer::Key { public_key, ignore_tlog } => {
                let key = DerPublicKey::from_pem(public_key)
                    .map_err(|err| SigstoreError::Usage(format!("--key is not a PEM public key: {err}")))?;
                if *ignore_tlog && unlogged::is_unlogged(&bundle) {
                    return Ok(unlogged::verify(&key, &bundle, subject).map(|()| Verified {
                        identity: None,
                        issuer: None,
                        integrated_time: None,
                        verified_times: Vec::new(),
                    }));
                }
                let policy = PublicKeyVerificationPolicy::new(key);
                if *ignore_tlog {
                    self.verify_with(subject, &bundle, &policy.skip_tlog_unsafe())?
                } else {
                    if bundle.verification_material.tlog_entries.is_empty() {
                        return Ok(Err(NOT_LOGGED.to_owned()));
                    }
                    self.verify_with(subject, &bundle, &policy)?
                }
            }
            // Crypto first with any identity; the identity rules are applied to the verified result.
            Signer::Keyless { .. } => {
                if bundle.verification_material.tlog_entries.is_empty() {
                    return Ok(Err(NOT_LOGGED.to_owned()));
                }
                self.verify_with(subject, &bundle, &VerificationPolicy::any_identity())?
            }
        };
        let result = match outcome {
            Ok(result) => result,
            Err(err) => return Ok(Err(err.to_string())),
        };
        let identity = result.identity().map(|san| san.as_str().to_owned());
        let issuer = result.issuer().map(str::to_owned);
        if let Signer::Keyless { identity: want_identity, issuer: want_issuer } = signer {
            if !result.certificate_verified() {
                return Ok(Err("the signing certificate was not verified".to_owned()));
            }
            if let Err(reason) = check_claim("certificate identity", identity.as_deref(), want_identity) {
                return Ok(Err(reason));
            }
            if let Err(reason) = check_claim("OIDC issuer", issuer.as_deref(), want_issuer) {
                return Ok(Err(reason));
            }
        }
        Ok(Ok(Verified {
            identity,
            issuer,
            integrated_time: result.integrated_time().map(|t| t.to_string()),
            verified_times: result.verified_timestamps().iter().map(|t| t.to_string()).collect(),
        }))
    }
}

impl BundleVerifier {
    /// Runs the cryptographic verification of `bundle` for `subject` under `policy`.
    fn verify_with(
        &self,
        subject: &Subject,
        bundle: &Bundle,
        policy: &(impl sigstore_verify::Policy + ?Sized),
    ) -> Result<sigstore_verify::Result<sigstore_verify::VerificationResult>, SigstoreError> {
        Ok(match subject {
            Subject::Bytes(bytes) => self.verifier.verify(bytes.as_slice(), bundle, policy),
            Subject::Digest(hex) => {
                let digest =
                    Sha256Hash::from_hex(hex).map_err(|err| SigstoreError::Usage(err.to_string()))?;
                self.verifier.verify(digest, bundle, policy)
            }
        })
    }
}

/// Checks one claim of a verified certificate against what the caller requires.
fn check_claim(what: &str, found: Option<&str>, wanted: &Matcher) -> Result<(), String> {
    match found {
        Some(found) if wanted.matches(found) => Ok(()),
        Some(found) => Err(format!("{what} {found:?} does not match {}", wanted.describe())),
        None => Err(format!("the certificate has no {what}")),
    }
}

/// A self-signed (root) certificate inside the bundle's chain is refused: the root must come from the
/// trusted root, never from the thing being verified. `sigstore-verify` does not check this.
fn root_in_chain(json: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    let chain = value.pointer("/verificationMaterial/x509CertificateChain/certificates")?.as_array()?;
    for (index, certificate) in chain.iter().enumerate() {
        let raw = certificate.get("rawBytes")?.as_str()?;
        let der = base64::engine::general_purpose::STANDARD.decode(raw).ok()?;
        if is_self_signed(&der) {
            return Some(format!(
                "certificate {index} of the bundle's chain is a self-signed root: roots must come from the trusted root"
            ));
        }
    }
    None
}

/// Whether a DER certificate is self-signed (a root): its subject and issuer are the same name. An
/// unparsable certificate is not a root (verification refuses it on its own account).
pub fn is_self_signed(der: &[u8]) -> bool {
    x509_parser::parse_x509_certificate(der).is_ok_and(|(_, parsed)| parsed.subject() == parsed.issuer())
}

/// The DER certificates of every `CERTIFICATE` block in PEM text (chains as cosign writes them).
pub fn certificates_from_pem(text: &str) -> Result<Vec<Vec<u8>>, String> {
    let mut certificates = Vec::new();
    for pem in x509_parser::pem::Pem::iter_from_buffer(text.as_bytes()) {
        let pem = pem.map_err(|err| format!("invalid PEM: {err}"))?;
        if pem.label == "CERTIFICATE" {
            certificates.push(pem.contents);
        }
    }
    if certificates.is_empty() {
        return Err("no PEM certificate found".to_owned());
    }
    Ok(certificates)
}
