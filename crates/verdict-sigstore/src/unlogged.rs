//! Key-based signatures that were never logged (cosign `--tlog-upload=false`), for the policies that
//! waive the transparency log explicitly. Such a bundle has neither a log entry nor a timestamp, which
//! `sigstore-verify` refuses as malformed before looking at the key, so the two checks that remain —
//! the signature under the policy's key, and that it is about this artifact — are made here with
//! Sigstore's own primitives.

use serde_json::Value;
use sha2::{Digest, Sha256};
use sigstore_crypto::{KeyAlgorithm, verify_signature, verify_signature_prehashed};
use sigstore_types::bundle::SignatureContent;
use sigstore_types::{Bundle, DerPublicKey, HashAlgorithm};

use crate::Subject;

/// Whether `bundle` carries nothing from a log or a timestamp authority: the case handled here.
pub(crate) fn is_unlogged(bundle: &Bundle) -> bool {
    bundle.verification_material.tlog_entries.is_empty()
        && bundle.verification_material.timestamp_verification_data.rfc3161_timestamps.is_empty()
}

/// Verifies an unlogged bundle's signature by `key` over `subject`; `Err` says why not.
pub(crate) fn verify(key: &DerPublicKey, bundle: &Bundle, subject: &Subject) -> Result<(), String> {
    let algorithm = KeyAlgorithm::from_spki(key).map_err(|err| format!("the policy's key: {err}"))?;
    let subject_sha256: [u8; 32] = match subject {
        Subject::Bytes(bytes) => Sha256::digest(bytes).into(),
        Subject::Digest(hex) => decode_sha256(hex)?,
    };
    match &bundle.content {
        SignatureContent::MessageSignature(message) => {
            let scheme = match &message.message_digest {
                Some(digest) => {
                    if digest.algorithm != HashAlgorithm::Sha2256
                        || digest.digest.as_bytes() != subject_sha256.as_slice()
                    {
                        return Err("the bundle's message digest is not the artifact's".to_owned());
                    }
                    algorithm.resolve_signing_scheme(digest.algorithm).map_err(|err| err.to_string())?
                }
                None => algorithm.default_signing_scheme(),
            };
            let checked = match subject {
                Subject::Bytes(bytes) => verify_signature(key, bytes, &message.signature, scheme),
                Subject::Digest(_) if scheme.hash_algorithm() == Some(HashAlgorithm::Sha2256) => {
                    verify_signature_prehashed(key, &subject_sha256, &message.signature, scheme)
                }
                Subject::Digest(_) => {
                    return Err(format!("a {scheme:?} signature cannot be checked against a SHA-256 digest"));
                }
            };
            checked.map_err(|err| format!("signature verification failed: {err}"))
        }
        SignatureContent::DsseEnvelope(envelope) => {
            verify_signature(
                key,
                &envelope.pae(),
                &envelope.signature.sig,
                algorithm.default_signing_scheme(),
            )
            .map_err(|err| format!("DSSE signature verification failed: {err}"))?;
            let statement: Value = serde_json::from_slice(envelope.payload.as_bytes())
                .map_err(|err| format!("the DSSE payload is not an in-toto statement: {err}"))?;
            let wanted = hex::encode(subject_sha256);
            let about_subject = statement
                .get("subject")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|s| s.pointer("/digest/sha256").and_then(Value::as_str))
                .any(|digest| digest.eq_ignore_ascii_case(&wanted));
            if about_subject { Ok(()) } else { Err(format!("the statement is not about sha256:{wanted}")) }
        }
        _ => Err("the bundle holds neither a message signature nor a DSSE envelope".to_owned()),
    }
}

/// A `sha256:`-less hex digest as bytes.
fn decode_sha256(text: &str) -> Result<[u8; 32], String> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out).map_err(|_| format!("{text:?} is not a SHA-256 digest"))?;
    Ok(out)
}
