//! cosign's formats, turned into Sigstore bundles so one verification core serves them all: the legacy
//! `sha256-<hex>.sig` simple-signing layers and `sha256-<hex>.att` DSSE layers (signature, certificate,
//! chain and Rekor bundle in annotations) become v0.1 bundles with the log's signed entry timestamp,
//! and the in-toto statements inside DSSE bundles are read for their predicate type, subjects and
//! predicate.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use verdict_sigstore::{certificates_from_pem, is_self_signed};

/// The predicate type cosign gives the statement it signs for `cosign sign` in the bundle format.
pub const COSIGN_SIGN_PREDICATE: &str = "https://sigstore.dev/cosign/sign/v1";
/// The media type of cosign's legacy signature layers.
pub const SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// The media type of cosign's legacy attestation layers.
pub const DSSE_LAYER: &str = "application/vnd.dsse.envelope.v1+json";
/// Annotation holding a legacy layer's base64 signature.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// Annotation holding a legacy layer's signing certificate (PEM).
pub const CERTIFICATE_ANNOTATION: &str = "dev.sigstore.cosign/certificate";
/// Annotation holding a legacy layer's certificate chain (PEM).
pub const CHAIN_ANNOTATION: &str = "dev.sigstore.cosign/chain";
/// Annotation holding a legacy layer's Rekor bundle (signed entry timestamp and entry).
pub const REKOR_BUNDLE_ANNOTATION: &str = "dev.sigstore.cosign/bundle";

/// The parts of an in-toto statement a policy looks at.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// `predicateType`.
    pub predicate_type: String,
    /// Every subject's sha256 digest, as `sha256:<hex>`.
    pub subject_digests: Vec<String>,
    /// `predicate`.
    pub predicate: Value,
}

/// The in-toto statement of a DSSE bundle, or why there is none.
pub fn statement(bundle: &Value) -> Result<Statement, String> {
    let envelope = bundle.get("dsseEnvelope").ok_or("the bundle holds no DSSE envelope")?;
    let payload =
        envelope.get("payload").and_then(Value::as_str).ok_or("the DSSE envelope has no payload")?;
    let payload = B64.decode(payload).map_err(|err| format!("the DSSE payload is not base64: {err}"))?;
    let statement: Value = serde_json::from_slice(&payload)
        .map_err(|err| format!("the DSSE payload is not an in-toto statement: {err}"))?;
    let predicate_type = statement
        .get("predicateType")
        .and_then(Value::as_str)
        .ok_or("the in-toto statement has no predicateType")?
        .to_owned();
    let subject_digests = statement
        .get("subject")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|subject| subject.pointer("/digest/sha256").and_then(Value::as_str))
        .map(|hex| format!("sha256:{}", hex.to_ascii_lowercase()))
        .collect();
    Ok(Statement {
        predicate_type,
        subject_digests,
        predicate: statement.get("predicate").cloned().unwrap_or(Value::Null),
    })
}

/// The verification material and log entry of a legacy layer, from its annotations: certificate and
/// chain (keyless; the chain's self-signed root is left out — roots come from the trusted root only,
/// never from the registry) or a managed key, and the Rekor entry with its signed entry timestamp.
fn legacy_material(annotations: &std::collections::BTreeMap<String, String>) -> Result<Value, String> {
    let Some(rekor) = annotations.get(REKOR_BUNDLE_ANNOTATION) else {
        // Never logged (`--tlog-upload=false`): only a key-based signer may be accepted so, and only
        // where its policy waives the log; the verifier refuses it otherwise.
        if annotations.contains_key(CERTIFICATE_ANNOTATION) {
            return Err("the layer has no Rekor bundle: a keyless signature that is not in the transparency log is not accepted".to_owned());
        }
        return Ok(json!({"publicKey": {"hint": ""}, "tlogEntries": []}));
    };
    let rekor: Value =
        serde_json::from_str(rekor).map_err(|err| format!("the Rekor bundle annotation: {err}"))?;
    let set = rekor
        .get("SignedEntryTimestamp")
        .and_then(Value::as_str)
        .ok_or("the Rekor bundle has no SignedEntryTimestamp")?;
    let entry = rekor.get("Payload").ok_or("the Rekor bundle has no Payload")?;
    let body = entry.get("body").and_then(Value::as_str).ok_or("the Rekor bundle has no body")?;
    let decoded: Value = B64
        .decode(body)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or("the Rekor entry body is not base64 JSON")?;
    let number =
        |key: &str| entry.get(key).and_then(Value::as_i64).ok_or(format!("the Rekor bundle has no {key}"));
    let log_id = entry.get("logID").and_then(Value::as_str).ok_or("the Rekor bundle has no logID")?;
    let log_id = hex::decode(log_id).map_err(|_| "the Rekor bundle's logID is not hex".to_owned())?;
    let mut material = match annotations.get(CERTIFICATE_ANNOTATION) {
        Some(certificate) => {
            let mut chain = certificates_from_pem(certificate)?;
            if let Some(more) = annotations.get(CHAIN_ANNOTATION) {
                chain.extend(certificates_from_pem(more)?.into_iter().filter(|der| !is_self_signed(der)));
            }
            let certificates: Vec<Value> =
                chain.iter().map(|der| json!({"rawBytes": B64.encode(der)})).collect();
            json!({"x509CertificateChain": {"certificates": certificates}})
        }
        None => json!({"publicKey": {"hint": ""}}),
    };
    material["tlogEntries"] = json!([{
        "logIndex": number("logIndex")?.to_string(),
        "logId": {"keyId": B64.encode(log_id)},
        "kindVersion": {
            "kind": decoded.get("kind").and_then(Value::as_str).ok_or("the Rekor entry body has no kind")?,
            "version": decoded.get("apiVersion").and_then(Value::as_str).ok_or("the Rekor entry body has no apiVersion")?,
        },
        "integratedTime": number("integratedTime")?.to_string(),
        "inclusionPromise": {"signedEntryTimestamp": set},
        "canonicalizedBody": body,
    }]);
    Ok(material)
}

/// A legacy `.sig` layer as a v0.1 bundle over its payload: `annotations` are the layer's.
pub fn legacy_signature_bundle(
    payload: &[u8],
    annotations: &std::collections::BTreeMap<String, String>,
) -> Result<Value, String> {
    let signature = annotations.get(SIGNATURE_ANNOTATION).ok_or("the layer has no signature annotation")?;
    Ok(json!({
        "mediaType": "application/vnd.dev.sigstore.bundle+json;version=0.1",
        "verificationMaterial": legacy_material(annotations)?,
        "messageSignature": {
            "messageDigest": {"algorithm": "SHA2_256", "digest": B64.encode(Sha256::digest(payload))},
            "signature": signature,
        },
    }))
}

/// A legacy `.att` layer (a DSSE envelope) as a v0.1 bundle: `annotations` are the layer's.
pub fn legacy_attestation_bundle(
    envelope: &[u8],
    annotations: &std::collections::BTreeMap<String, String>,
) -> Result<Value, String> {
    let envelope: Value =
        serde_json::from_slice(envelope).map_err(|err| format!("the layer is not a DSSE envelope: {err}"))?;
    if envelope.get("payload").and_then(Value::as_str).is_none() {
        return Err("the DSSE envelope has no payload".to_owned());
    }
    Ok(json!({
        "mediaType": "application/vnd.dev.sigstore.bundle+json;version=0.1",
        "verificationMaterial": legacy_material(annotations)?,
        "dsseEnvelope": envelope,
    }))
}

/// The image digest a simple-signing payload names (`critical.image.docker-manifest-digest`).
pub fn signed_image_digest(payload: &[u8]) -> Result<String, String> {
    let value: Value =
        serde_json::from_slice(payload).map_err(|err| format!("the signed payload is not JSON: {err}"))?;
    value
        .pointer("/critical/image/docker-manifest-digest")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| "the signed payload names no image digest".to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn statements_are_read_from_dsse_bundles() {
        let statement_json = json!({"_type": "https://in-toto.io/Statement/v1", "predicateType": "p",
            "subject": [{"name": "x", "digest": {"sha256": "AB"}}, {"name": "y", "digest": {"sha512": "00"}}], "predicate": {"k": 1}});
        let bundle = json!({"dsseEnvelope": {"payload": B64.encode(statement_json.to_string()), "payloadType": "application/vnd.in-toto+json"}});
        let parsed = statement(&bundle).unwrap();
        assert_eq!(parsed.predicate_type, "p");
        assert_eq!(parsed.subject_digests, vec!["sha256:ab"]);
        assert_eq!(parsed.predicate, json!({"k": 1}));
        assert!(statement(&json!({"messageSignature": {}})).unwrap_err().contains("no DSSE"));
        assert!(statement(&json!({"dsseEnvelope": {"payload": "!!"}})).unwrap_err().contains("not base64"));
        assert!(
            statement(&json!({"dsseEnvelope": {"payload": B64.encode("{}")}}))
                .unwrap_err()
                .contains("predicateType")
        );
    }

    #[test]
    fn legacy_layers_without_a_log_entry_are_key_based_bundles_without_entries() {
        let mut annotations = std::collections::BTreeMap::new();
        assert!(legacy_signature_bundle(b"{}", &annotations).unwrap_err().contains("signature annotation"));
        assert!(legacy_attestation_bundle(b"{}", &annotations).unwrap_err().contains("no payload"));
        assert!(legacy_attestation_bundle(b"[", &annotations).unwrap_err().contains("not a DSSE envelope"));
        // Key-based and never logged: a bundle with no tlog entry, which the verifier refuses unless
        // the signer's policy waives the log.
        let unlogged = legacy_attestation_bundle(br#"{"payload": "e30="}"#, &annotations).unwrap();
        assert_eq!(unlogged.pointer("/verificationMaterial/tlogEntries"), Some(&json!([])));
        annotations.insert(SIGNATURE_ANNOTATION.to_owned(), "c2ln".to_owned());
        let unlogged = legacy_signature_bundle(b"{}", &annotations).unwrap();
        assert_eq!(unlogged.pointer("/verificationMaterial/tlogEntries"), Some(&json!([])));
        // Keyless and never logged: refused outright.
        annotations.insert(CERTIFICATE_ANNOTATION.to_owned(), "-----BEGIN CERTIFICATE-----".to_owned());
        assert!(legacy_signature_bundle(b"{}", &annotations).unwrap_err().contains("transparency log"));
        annotations.remove(CERTIFICATE_ANNOTATION);
        annotations.insert(REKOR_BUNDLE_ANNOTATION.to_owned(), "{".to_owned());
        assert!(
            legacy_signature_bundle(b"{}", &annotations).unwrap_err().contains("Rekor bundle annotation")
        );
    }

    #[test]
    fn simple_signing_payloads_name_their_image() {
        let payload = br#"{"critical": {"identity": {"docker-reference": "r"}, "image": {"docker-manifest-digest": "sha256:00"}, "type": "cosign container image signature"}}"#;
        assert_eq!(signed_image_digest(payload).unwrap(), "sha256:00");
        assert!(signed_image_digest(b"{}").is_err());
        assert!(certificates_from_pem("nothing").is_err());
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Whatever a registry serves, the format conversions answer with a bundle or a reason, never a
        /// panic.
        #[test]
        fn conversions_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400), text in "\\PC{0,200}") {
            let _ = statement(&serde_json::json!({"dsseEnvelope": {"payload": B64.encode(&bytes)}}));
            let _ = certificates_from_pem(&text);
            let _ = certificates_from_pem(&format!("-----BEGIN CERTIFICATE-----\n{text}\n-----END CERTIFICATE-----"));
            let _ = signed_image_digest(&bytes);
            let mut annotations = std::collections::BTreeMap::new();
            annotations.insert(SIGNATURE_ANNOTATION.to_owned(), text.clone());
            annotations.insert(REKOR_BUNDLE_ANNOTATION.to_owned(), text.clone());
            annotations.insert(CERTIFICATE_ANNOTATION.to_owned(), text.clone());
            let _ = legacy_signature_bundle(&bytes, &annotations);
            let _ = legacy_attestation_bundle(&bytes, &annotations);
        }

        /// A Rekor bundle annotation with arbitrary fields converts or is refused with a reason.
        #[test]
        fn rekor_annotations_never_panic(set in "\\PC{0,40}", body in "[A-Za-z0-9+/=]{0,80}", index in any::<i64>(), log_id in "[0-9a-f]{0,64}") {
            let mut annotations = std::collections::BTreeMap::new();
            annotations.insert(SIGNATURE_ANNOTATION.to_owned(), "c2ln".to_owned());
            let rekor = serde_json::json!({"SignedEntryTimestamp": set, "Payload": {"body": body, "integratedTime": index, "logIndex": index, "logID": log_id}});
            annotations.insert(REKOR_BUNDLE_ANNOTATION.to_owned(), rekor.to_string());
            let _ = legacy_signature_bundle(b"{}", &annotations);
        }
    }
}
