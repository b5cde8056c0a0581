//! Signing a pushed bundle the way cosign signs an image with a key, in either of cosign's layouts: a
//! Sigstore bundle (v0.3, a DSSE envelope of cosign's signing statement about `REPOSITORY@DIGEST`)
//! attached as an OCI 1.1 referrer — cosign 3's layout — or cosign 2's simple-signing payload with its
//! signature in the layer's `dev.cosignproject.cosign/signature` annotation under the `sha256-HEX.sig`
//! tag. verdict's image verification reads both; nothing is sent to a transparency log.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The media type (and referrer artifact type) of a Sigstore bundle v0.3.
pub const SIGSTORE_BUNDLE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// cosign's signing statement: a DSSE envelope carrying it is the image's signature.
pub const COSIGN_SIGN_PREDICATE: &str = "https://sigstore.dev/cosign/sign/v1";
const IN_TOTO: &str = "application/vnd.in-toto+json";
const SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Why a key cannot sign.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(pub String);

/// An ECDSA P-256 signing key.
pub struct SigningKey {
    pair: EcdsaKeyPair,
}

impl SigningKey {
    /// Reads a PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`, ECDSA P-256), e.g. from
    /// `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        Self::from_pem_with_password(pem, None)
    }

    /// Reads a PKCS#8 PEM private key, or cosign's encrypted key (`-----BEGIN ENCRYPTED SIGSTORE PRIVATE
    /// KEY-----`, as `cosign generate-key-pair` writes it: scrypt, then NaCl secretbox) with `password`
    /// (cosign takes it from `COSIGN_PASSWORD`; an empty one is a valid password).
    pub fn from_pem_with_password(pem: &str, password: Option<&str>) -> Result<Self, KeyError> {
        if let Some(body) = pem_body(pem, "ENCRYPTED SIGSTORE PRIVATE KEY")
            .or_else(|| pem_body(pem, "ENCRYPTED COSIGN PRIVATE KEY"))
        {
            let password = password.ok_or_else(|| {
                KeyError("the key is encrypted (cosign's format): set COSIGN_PASSWORD to its password".into())
            })?;
            let der = crate::cosign_key::decrypt(&body, password).map_err(KeyError)?;
            return EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &der)
                .map(|pair| SigningKey { pair })
                .map_err(|_| KeyError("the decrypted key is not an ECDSA P-256 PKCS#8 private key".into()));
        }
        if pem.contains("ENCRYPTED") {
            return Err(KeyError(
                "an encrypted PKCS#8 key cannot be read: give a PKCS#8 PEM ECDSA P-256 private key, or cosign's encrypted key".into(),
            ));
        }
        let body: String = pem
            .lines()
            .skip_while(|line| !line.starts_with("-----BEGIN PRIVATE KEY-----"))
            .skip(1)
            .take_while(|line| !line.starts_with("-----END"))
            .collect();
        if body.is_empty() {
            return Err(KeyError("not a PEM `PRIVATE KEY` (PKCS#8) block".into()));
        }
        let der =
            B64.decode(body.trim()).map_err(|err| KeyError(format!("the key's PEM is not base64: {err}")))?;
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &der)
            .map_err(|_| KeyError("not an ECDSA P-256 PKCS#8 private key".into()))?;
        Ok(SigningKey { pair })
    }

    /// A fresh key (for tests and the demo).
    pub fn generate() -> Result<Self, KeyError> {
        EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING)
            .map(|pair| SigningKey { pair })
            .map_err(|_| KeyError("cannot generate a key".into()))
    }

    /// The public key as PEM (`-----BEGIN PUBLIC KEY-----`), for a policy's `key.publicKey`.
    pub fn public_pem(&self) -> Result<String, KeyError> {
        let der =
            self.pair.public_key().as_der().map_err(|_| KeyError("cannot encode the public key".into()))?;
        let body = B64.encode(der.as_ref());
        let lines: Vec<&str> =
            body.as_bytes().chunks(64).filter_map(|c| std::str::from_utf8(c).ok()).collect();
        Ok(format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", lines.join("\n")))
    }

    /// The base64 ASN.1 ECDSA signature of `message`.
    pub fn signature(&self, message: &[u8]) -> Result<String, KeyError> {
        let signature =
            self.pair.sign(&SystemRandom::new(), message).map_err(|_| KeyError("signing failed".into()))?;
        Ok(B64.encode(signature.as_ref()))
    }

    /// A Sigstore bundle v0.3 signing `name@digest`: a DSSE envelope of an in-toto statement with
    /// cosign's signing predicate, the key named by its hint (the SHA-256 of its SubjectPublicKeyInfo),
    /// no log entry and no timestamp — so only a policy that waives the log for this key accepts it.
    pub fn sigstore_bundle(&self, name: &str, digest: &str) -> Result<Value, KeyError> {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        let statement = json!({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": name, "digest": {"sha256": hex}}],
            "predicateType": COSIGN_SIGN_PREDICATE,
            "predicate": {},
        })
        .to_string();
        let pae = format!("DSSEv1 {} {IN_TOTO} {} {statement}", IN_TOTO.len(), statement.len());
        let signature = self.signature(pae.as_bytes())?;
        let der =
            self.pair.public_key().as_der().map_err(|_| KeyError("cannot encode the public key".into()))?;
        let hint = B64.encode(Sha256::digest(der.as_ref()));
        Ok(json!({
            "mediaType": SIGSTORE_BUNDLE,
            "verificationMaterial": {
                "publicKey": {"hint": hint},
                "tlogEntries": [],
                "timestampVerificationData": {},
            },
            "dsseEnvelope": {
                "payload": B64.encode(statement.as_bytes()),
                "payloadType": IN_TOTO,
                "signatures": [{"sig": signature, "keyid": ""}],
            },
        }))
    }

    /// cosign's legacy signature manifest for `name@digest` and its blobs (config first): one
    /// simple-signing layer carrying the signature.
    pub fn legacy_signature(&self, name: &str, digest: &str) -> Result<(Vec<u8>, Vec<Vec<u8>>), KeyError> {
        let payload = json!({
            "critical": {"identity": {"docker-reference": name}, "image": {"docker-manifest-digest": digest},
                         "type": "cosign container image signature"},
            "optional": null,
        })
        .to_string()
        .into_bytes();
        let signature = self.signature(&payload)?;
        let annotations = json!({"dev.cosignproject.cosign/signature": signature});
        Ok(image_manifest(b"{}", &[(SIMPLE_SIGNING, payload, annotations)]))
    }
}

/// The base64 body of the PEM block labelled `label`, if there is one.
fn pem_body(pem: &str, label: &str) -> Option<String> {
    let begin = format!("-----BEGIN {label}-----");
    let body: String = pem
        .lines()
        .skip_while(|line| line.trim() != begin)
        .skip(1)
        .take_while(|line| !line.starts_with("-----END"))
        .map(str::trim)
        .collect();
    pem.lines().any(|line| line.trim() == begin).then_some(body)
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

fn descriptor(media_type: &str, blob: &[u8]) -> Value {
    json!({"mediaType": media_type, "digest": sha256(blob), "size": blob.len()})
}

/// An OCI image manifest over `config` and `layers` (media type, bytes, annotations or null), with its
/// blobs (config first).
pub fn image_manifest(config: &[u8], layers: &[(&str, Vec<u8>, Value)]) -> (Vec<u8>, Vec<Vec<u8>>) {
    let layer_descriptors: Vec<Value> = layers
        .iter()
        .map(|(media_type, blob, annotations)| {
            let mut descriptor = descriptor(media_type, blob);
            if !annotations.is_null() {
                descriptor["annotations"] = annotations.clone();
            }
            descriptor
        })
        .collect();
    let body = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor("application/vnd.oci.image.config.v1+json", config),
        "layers": layer_descriptors,
    });
    let mut blobs = vec![config.to_vec()];
    blobs.extend(layers.iter().map(|(_, blob, _)| blob.clone()));
    (body.to_string().into_bytes(), blobs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_pkcs8_p256_and_sign_what_they_name() {
        let key = SigningKey::generate().unwrap();
        let (manifest, blobs) =
            key.legacy_signature("registry.example/acme/policies", "sha256:abcd").unwrap();
        let manifest: Value = serde_json::from_slice(&manifest).unwrap();
        let layer = &manifest["layers"][0];
        assert_eq!(layer["mediaType"], SIMPLE_SIGNING);
        assert!(layer["annotations"]["dev.cosignproject.cosign/signature"].is_string());
        let payload: Value = serde_json::from_slice(&blobs[1]).unwrap();
        assert_eq!(payload["critical"]["image"]["docker-manifest-digest"], "sha256:abcd");
        assert!(key.public_pem().unwrap().starts_with("-----BEGIN PUBLIC KEY-----\n"));
        assert!(SigningKey::from_pem("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nx\n").is_err());
        assert!(SigningKey::from_pem("garbage").is_err());
    }

    #[test]
    fn the_sigstore_bundle_is_a_dsse_signature_of_cosigns_statement_about_the_digest() {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1, UnparsedPublicKey};
        let generated = rcgen::KeyPair::generate().unwrap();
        let key = SigningKey::from_pem(&generated.serialize_pem()).unwrap();
        let bundle = key.sigstore_bundle("registry.example/acme/policies", "sha256:abcd").unwrap();
        assert_eq!(bundle["mediaType"], SIGSTORE_BUNDLE);
        assert_eq!(bundle["verificationMaterial"]["tlogEntries"], json!([]));
        let envelope = &bundle["dsseEnvelope"];
        let payload = B64.decode(envelope["payload"].as_str().unwrap()).unwrap();
        let statement: Value = serde_json::from_slice(&payload).unwrap();
        assert_eq!(statement["predicateType"], COSIGN_SIGN_PREDICATE);
        assert_eq!(statement["subject"][0]["digest"]["sha256"], "abcd");
        assert_eq!(statement["subject"][0]["name"], "registry.example/acme/policies");
        // The signature is over DSSE's pre-authentication encoding, by hand here.
        let mut pae = format!("DSSEv1 28 application/vnd.in-toto+json {} ", payload.len()).into_bytes();
        pae.extend_from_slice(&payload);
        let signature = B64.decode(envelope["signatures"][0]["sig"].as_str().unwrap()).unwrap();
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, generated.public_key_raw())
            .verify(&pae, &signature)
            .expect("the envelope's signature verifies with the key");
        let pem = generated.public_key_pem();
        let body: String = pem.lines().filter(|line| !line.starts_with("-----")).collect();
        let spki = B64.decode(body).unwrap();
        assert_eq!(bundle["verificationMaterial"]["publicKey"]["hint"], B64.encode(Sha256::digest(&spki)));
    }

    /// An encrypted key written by cosign (a public test fixture of conforma/cli, which signs with it
    /// under `COSIGN_PASSWORD=""`): the secretbox MAC only opens with the right scrypt key, so decrypting it proves the key
    /// derivation and the cipher are cosign's. A wrong password, no password, or a damaged file is an
    /// error.
    #[test]
    fn cosign_encrypted_keys_are_read_with_their_password() {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1, UnparsedPublicKey};
        use verdict_testkit::bundles::COSIGN_ENCRYPTED_KEY as COSIGN_KEY;
        let key = SigningKey::from_pem_with_password(COSIGN_KEY, Some("")).unwrap();
        let signature = B64.decode(key.signature(b"bundle").unwrap()).unwrap();
        let public = key.pair.public_key().as_ref().to_vec();
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, public).verify(b"bundle", &signature).unwrap();
        let wrong = SigningKey::from_pem_with_password(COSIGN_KEY, Some("hunter2")).err().unwrap();
        assert!(wrong.0.contains("wrong COSIGN_PASSWORD"), "{wrong}");
        let none = SigningKey::from_pem(COSIGN_KEY).err().unwrap();
        assert!(none.0.contains("set COSIGN_PASSWORD"), "{none}");
        let damaged = COSIGN_KEY.replace("dXdrWDBY", "dXdrWDBZ");
        assert!(SigningKey::from_pem_with_password(&damaged, Some("")).is_err());
    }

    #[test]
    fn a_pkcs8_key_from_another_tool_signs_verifiably() {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1, UnparsedPublicKey};
        let generated = rcgen::KeyPair::generate().unwrap();
        let key = SigningKey::from_pem(&generated.serialize_pem()).unwrap();
        let signature = B64.decode(key.signature(b"message").unwrap()).unwrap();
        let public = UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, generated.public_key_raw());
        public.verify(b"message", &signature).expect("the signature verifies with the key's public half");
        assert_eq!(key.public_pem().unwrap(), generated.public_key_pem());
    }
}
