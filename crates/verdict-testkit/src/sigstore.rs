//! A test-only Sigstore: a Fulcio-like CA, a Rekor log key and a CT log key, published in a custom
//! `trusted_root.json`, and a signer that makes bundles (message signatures and DSSE attestations,
//! keyless or with a key) the way the real services would — certificate with the OIDC issuer extension
//! and an embedded SCT, a Rekor entry with a signed entry timestamp and an inclusion proof under a
//! signed checkpoint. Everything is made here, offline, so tests can also make it wrong on purpose.
//!
//! Making a fixture cannot fail on good input; when it does, the test environment is broken and the
//! test panics with what could not be made.

#![allow(clippy::expect_used)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair as _};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType, ExtendedKeyUsagePurpose,
    IsCa, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// DER prefix of a P-256 SubjectPublicKeyInfo, before the 65-byte uncompressed point.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86,
    0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// The in-toto statement media type of DSSE attestations.
pub const IN_TOTO: &str = "application/vnd.in-toto+json";

/// An ECDSA P-256 key that signs.
pub struct SigningKey {
    pair: EcdsaKeyPair,
    pkcs8: Vec<u8>,
}

impl SigningKey {
    /// A fresh key.
    pub fn generate() -> Self {
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &SystemRandom::new())
            .expect("generate a P-256 key")
            .as_ref()
            .to_vec();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &pkcs8).expect("load the key");
        SigningKey { pair, pkcs8 }
    }

    /// An ASN.1 (DER) ECDSA signature over `message` (hashed with SHA-256).
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.pair.sign(&SystemRandom::new(), message).expect("sign").as_ref().to_vec()
    }

    /// The SubjectPublicKeyInfo, DER.
    pub fn spki_der(&self) -> Vec<u8> {
        [P256_SPKI_PREFIX.as_slice(), self.pair.public_key().as_ref()].concat()
    }

    /// The public key as PEM (`PUBLIC KEY`), what `--key` and image policies take.
    pub fn public_pem(&self) -> String {
        pem("PUBLIC KEY", &self.spki_der())
    }

    /// The same key for rcgen.
    fn rcgen(&self) -> KeyPair {
        KeyPair::try_from(self.pkcs8.as_slice()).expect("rcgen reads the key")
    }
}

fn pem(label: &str, der: &[u8]) -> String {
    let body = B64.encode(der);
    let lines: Vec<&str> =
        body.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap_or_default()).collect();
    format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
}

fn unix(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// How to make a bundle, including ways to make it wrong.
#[derive(Debug, Clone)]
pub struct Options {
    /// When the signing certificate is valid from, relative to now (seconds; Fulcio: about now).
    pub cert_not_before: i64,
    /// When it stops being valid, relative to now (Fulcio: 10 minutes).
    pub cert_not_after: i64,
    /// When the log integrated the entry, relative to now.
    pub integrated_at: i64,
    /// Sign the signed entry timestamp with a key the trusted root does not hold.
    pub forge_set: bool,
    /// Break the inclusion proof (a wrong root hash in the proof and checkpoint).
    pub break_inclusion_proof: bool,
    /// Leave the embedded SCT out of the certificate.
    pub omit_sct: bool,
    /// Never log the signature (cosign `--tlog-upload=false`): no tlog entry, no Rekor bundle.
    pub omit_tlog: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            cert_not_before: -60,
            cert_not_after: 600,
            integrated_at: -10,
            forge_set: false,
            break_inclusion_proof: false,
            omit_sct: false,
            omit_tlog: false,
        }
    }
}

/// The test Sigstore instance.
pub struct TestSigstore {
    ca_key: SigningKey,
    ca_params: CertificateParams,
    ca_der: Vec<u8>,
    rekor: SigningKey,
    ct: SigningKey,
}

impl Default for TestSigstore {
    fn default() -> Self {
        Self::new()
    }
}

impl TestSigstore {
    /// A new CA, Rekor key and CT key.
    pub fn new() -> Self {
        let ca_key = SigningKey::generate();
        let mut params = CertificateParams::default();
        let mut name = DistinguishedName::new();
        name.push(DnType::OrganizationName, "verdict test");
        name.push(DnType::CommonName, "verdict test fulcio");
        params.distinguished_name = name;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(1));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.not_before = (SystemTime::now() - Duration::from_secs(86_400 * 365)).into();
        params.not_after = (SystemTime::now() + Duration::from_secs(86_400 * 365)).into();
        let ca = params.self_signed(&ca_key.rcgen()).expect("self-sign the CA");
        TestSigstore {
            ca_der: ca.der().to_vec(),
            ca_params: params,
            ca_key,
            rekor: SigningKey::generate(),
            ct: SigningKey::generate(),
        }
    }

    /// The CA certificate, DER.
    pub fn ca_der(&self) -> &[u8] {
        &self.ca_der
    }

    /// `trusted_root.json` trusting this instance only.
    pub fn trusted_root(&self) -> String {
        let log = |key: &SigningKey, url: &str| {
            json!({
                "baseUrl": url,
                "hashAlgorithm": "SHA2_256",
                "publicKey": {"rawBytes": B64.encode(key.spki_der()), "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                              "validFor": {"start": "2020-01-01T00:00:00Z"}},
                "logId": {"keyId": B64.encode(Sha256::digest(key.spki_der()))},
            })
        };
        json!({
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [log(&self.rekor, "https://rekor.verdict.test")],
            "certificateAuthorities": [{
                "subject": {"organization": "verdict test", "commonName": "verdict test fulcio"},
                "uri": "https://fulcio.verdict.test",
                "certChain": {"certificates": [{"rawBytes": B64.encode(&self.ca_der)}]},
                "validFor": {"start": "2020-01-01T00:00:00Z"},
            }],
            "ctlogs": [log(&self.ct, "https://ct.verdict.test")],
            "timestampAuthorities": [],
        })
        .to_string()
    }

    /// A Fulcio-like certificate for `key` naming `identity` (a URI or an e-mail address) and `issuer`,
    /// with an embedded SCT unless `options.omit_sct`.
    pub fn certificate(&self, key: &SigningKey, identity: &str, issuer: &str, options: &Options) -> Vec<u8> {
        let now = SystemTime::now();
        let at = |offset: i64| {
            if offset >= 0 {
                now + Duration::from_secs(offset as u64)
            } else {
                now - Duration::from_secs((-offset) as u64)
            }
        };
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params.serial_number = Some(SerialNumber::from(Sha256::digest(key.spki_der())[..16].to_vec()));
        params.not_before = at(options.cert_not_before).into();
        params.not_after = at(options.cert_not_after).into();
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
        params.subject_alt_names = vec![if identity.contains("://") {
            SanType::URI(identity.try_into().expect("a URI identity"))
        } else {
            SanType::Rfc822Name(identity.try_into().expect("an e-mail identity"))
        }];
        // Fulcio's OIDC issuer extensions: 57264.1.1 (raw text) and 57264.1.8 (DER UTF8String).
        params.custom_extensions = vec![
            CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 57264, 1, 1], issuer.as_bytes().to_vec()),
            CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 57264, 1, 8], der_utf8(issuer)),
        ];
        let issuer_ref = rcgen::Issuer::from_params(&self.ca_params, self.ca_key.rcgen());
        let precert = params.signed_by(&key.rcgen(), &issuer_ref).expect("sign the precertificate");
        if options.omit_sct {
            return precert.der().to_vec();
        }
        let tbs = {
            let (_, parsed) =
                x509_parser::parse_x509_certificate(precert.der()).expect("parse our certificate");
            parsed.tbs_certificate.as_ref().to_vec()
        };
        let timestamp = (unix(now) as u64) * 1000;
        let issuer_key_hash = Sha256::digest(self.ca_key.spki_der());
        let mut signed = vec![0u8, 0u8];
        signed.extend_from_slice(&timestamp.to_be_bytes());
        signed.extend_from_slice(&1u16.to_be_bytes());
        signed.extend_from_slice(&issuer_key_hash);
        signed.extend_from_slice(&(tbs.len() as u32).to_be_bytes()[1..]);
        signed.extend_from_slice(&tbs);
        signed.extend_from_slice(&0u16.to_be_bytes());
        let signature = self.ct.sign(&signed);
        let mut sct = vec![0u8];
        sct.extend_from_slice(&Sha256::digest(self.ct.spki_der()));
        sct.extend_from_slice(&timestamp.to_be_bytes());
        sct.extend_from_slice(&0u16.to_be_bytes());
        sct.extend_from_slice(&[4, 3]);
        sct.extend_from_slice(&(signature.len() as u16).to_be_bytes());
        sct.extend_from_slice(&signature);
        let mut list = ((sct.len() + 2) as u16).to_be_bytes().to_vec();
        list.extend_from_slice(&(sct.len() as u16).to_be_bytes());
        list.extend_from_slice(&sct);
        params.custom_extensions.push(CustomExtension::from_oid_content(
            &[1, 3, 6, 1, 4, 1, 11129, 2, 4, 2],
            der_octet_string(&list),
        ));
        params.signed_by(&key.rcgen(), &issuer_ref).expect("sign the certificate").der().to_vec()
    }

    /// The log's record of `body`: what a Rekor v1 entry and cosign's legacy Rekor bundle are made of.
    fn log(&self, body: &Value, options: &Options) -> LogRecord {
        let body = body.to_string();
        let body_b64 = B64.encode(body.as_bytes());
        let integrated = unix(SystemTime::now()) + options.integrated_at;
        let log_id = Sha256::digest(self.rekor.spki_der()).to_vec();
        let set_payload = format!(
            r#"{{"body":"{body_b64}","integratedTime":{integrated},"logID":"{}","logIndex":0}}"#,
            hex::encode(&log_id)
        );
        let set = if options.forge_set {
            SigningKey::generate().sign(set_payload.as_bytes())
        } else {
            self.rekor.sign(set_payload.as_bytes())
        };
        LogRecord { body: body.into_bytes(), body_b64, integrated, log_id, set_b64: B64.encode(set) }
    }

    /// A Rekor v1 entry for `body` (kind, version): SET and inclusion proof under a signed checkpoint.
    fn tlog_entry(&self, kind: &str, body: &Value, options: &Options) -> Value {
        let record = self.log(body, options);
        let mut leaf = vec![0u8];
        leaf.extend_from_slice(&record.body);
        let mut root = Sha256::digest(&leaf).to_vec();
        if options.break_inclusion_proof {
            root[0] ^= 1;
        }
        let root_b64 = B64.encode(&root);
        let origin = "rekor.verdict.test - 1";
        let note = format!("{origin}\n1\n{root_b64}\n");
        let hint = &Sha256::digest(self.rekor.spki_der())[..4];
        let signature = [hint, self.rekor.sign(note.as_bytes()).as_slice()].concat();
        let envelope = format!("{note}\n\u{2014} rekor.verdict.test {}\n", B64.encode(signature));
        json!({
            "logIndex": "0",
            "logId": {"keyId": B64.encode(&record.log_id)},
            "kindVersion": {"kind": kind, "version": "0.0.1"},
            "integratedTime": record.integrated.to_string(),
            "inclusionPromise": {"signedEntryTimestamp": record.set_b64},
            "inclusionProof": {"logIndex": "0", "rootHash": root_b64, "treeSize": "1", "hashes": [],
                               "checkpoint": {"envelope": envelope}},
            "canonicalizedBody": record.body_b64,
        })
    }

    /// A cosign legacy signature over `payload` (a simple-signing document): the layer annotations
    /// cosign writes — signature, certificate and chain (keyless), and the Rekor bundle.
    pub fn sign_legacy(
        &self,
        key: &SigningKey,
        payload: &[u8],
        identity: Option<(&str, &str)>,
        options: &Options,
    ) -> std::collections::BTreeMap<String, String> {
        let signature = key.sign(payload);
        let (_, verifier_pem) = self.material(key, identity, options);
        let body = json!({
            "apiVersion": "0.0.1", "kind": "hashedrekord",
            "spec": {
                "data": {"hash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(payload))}},
                "signature": {"content": B64.encode(&signature), "publicKey": {"content": B64.encode(&verifier_pem)}},
            },
        });
        self.legacy_annotations(&body, B64.encode(&signature), identity.map(|_| verifier_pem), options)
    }

    /// The annotations cosign writes on a legacy layer: the signature (empty on `.att` layers), the Rekor
    /// bundle of `body`'s log entry, and for keyless signers the certificate and chain.
    fn legacy_annotations(
        &self,
        body: &Value,
        signature: String,
        certificate_pem: Option<String>,
        options: &Options,
    ) -> std::collections::BTreeMap<String, String> {
        let mut annotations = std::collections::BTreeMap::new();
        annotations.insert("dev.cosignproject.cosign/signature".to_owned(), signature);
        if !options.omit_tlog {
            let record = self.log(body, options);
            let rekor = json!({
                "SignedEntryTimestamp": record.set_b64,
                "Payload": {"body": record.body_b64, "integratedTime": record.integrated, "logIndex": 0,
                            "logID": hex::encode(&record.log_id)},
            });
            annotations.insert("dev.sigstore.cosign/bundle".to_owned(), rekor.to_string());
        }
        if let Some(certificate) = certificate_pem {
            annotations.insert("dev.sigstore.cosign/certificate".to_owned(), certificate);
            annotations.insert("dev.sigstore.cosign/chain".to_owned(), pem("CERTIFICATE", &self.ca_der));
        }
        annotations
    }

    /// A bundle v0.3 with a message signature over `artifact`, by `key`; keyless (with a certificate
    /// for `identity`/`issuer`) when `identity` is given, else key-based.
    pub fn sign_blob(
        &self,
        key: &SigningKey,
        artifact: &[u8],
        identity: Option<(&str, &str)>,
        options: &Options,
    ) -> Value {
        let digest = Sha256::digest(artifact);
        let signature = key.sign(artifact);
        let (material, verifier_pem) = self.material(key, identity, options);
        let body = json!({
            "apiVersion": "0.0.1", "kind": "hashedrekord",
            "spec": {
                "data": {"hash": {"algorithm": "sha256", "value": hex::encode(digest)}},
                "signature": {"content": B64.encode(&signature), "publicKey": {"content": B64.encode(verifier_pem)}},
            },
        });
        let mut verification = material;
        verification["tlogEntries"] = if options.omit_tlog {
            json!([])
        } else {
            json!([self.tlog_entry("hashedrekord", &body, options)])
        };
        verification["timestampVerificationData"] = json!({});
        json!({
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": verification,
            "messageSignature": {
                "messageDigest": {"algorithm": "SHA2_256", "digest": B64.encode(digest)},
                "signature": B64.encode(&signature),
            },
        })
    }

    /// A bundle v0.3 with a DSSE envelope of the in-toto `statement`, signed by `key`; keyless when
    /// `identity` is given.
    pub fn attest(
        &self,
        key: &SigningKey,
        statement: &Value,
        identity: Option<(&str, &str)>,
        options: &Options,
    ) -> Value {
        let payload = statement.to_string();
        let pae = format!("DSSEv1 {} {} {} {payload}", IN_TOTO.len(), IN_TOTO, payload.len());
        let signature = key.sign(pae.as_bytes());
        let (material, verifier_pem) = self.material(key, identity, options);
        let envelope = json!({
            "payload": B64.encode(payload.as_bytes()),
            "payloadType": IN_TOTO,
            "signatures": [{"sig": B64.encode(&signature), "keyid": ""}],
        });
        let body = json!({
            "apiVersion": "0.0.1", "kind": "dsse",
            "spec": {
                "envelopeHash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(envelope.to_string().as_bytes()))},
                "payloadHash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(payload.as_bytes()))},
                "signatures": [{"signature": B64.encode(&signature), "verifier": B64.encode(verifier_pem)}],
            },
        });
        let mut verification = material;
        verification["tlogEntries"] =
            if options.omit_tlog { json!([]) } else { json!([self.tlog_entry("dsse", &body, options)]) };
        verification["timestampVerificationData"] = json!({});
        json!({
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": verification,
            "dsseEnvelope": envelope,
        })
    }

    /// The bundle's verification material and the PEM the Rekor entry names as verifier.
    fn material(
        &self,
        key: &SigningKey,
        identity: Option<(&str, &str)>,
        options: &Options,
    ) -> (Value, String) {
        match identity {
            Some((identity, issuer)) => {
                let certificate = self.certificate(key, identity, issuer, options);
                (
                    json!({"certificate": {"rawBytes": B64.encode(&certificate)}}),
                    pem("CERTIFICATE", &certificate),
                )
            }
            None => (json!({"publicKey": {"hint": ""}}), key.public_pem()),
        }
    }
}

impl TestSigstore {
    /// A cosign legacy attestation of `statement`: the DSSE envelope (the `.att` layer's content) and
    /// the layer annotations — certificate and chain (keyless), and the Rekor bundle of an `intoto`
    /// v0.0.2 entry.
    pub fn attest_legacy(
        &self,
        key: &SigningKey,
        statement: &Value,
        identity: Option<(&str, &str)>,
        options: &Options,
    ) -> (Vec<u8>, std::collections::BTreeMap<String, String>) {
        let payload = statement.to_string();
        let pae = format!("DSSEv1 {} {} {} {payload}", IN_TOTO.len(), IN_TOTO, payload.len());
        let signature = key.sign(pae.as_bytes());
        let (_, verifier_pem) = self.material(key, identity, options);
        let envelope = json!({
            "payloadType": IN_TOTO,
            "payload": B64.encode(payload.as_bytes()),
            "signatures": [{"keyid": "", "sig": B64.encode(&signature)}],
        });
        let body = json!({
            "apiVersion": "0.0.2", "kind": "intoto",
            "spec": {"content": {
                "envelope": {"payloadType": IN_TOTO, "signatures": [{
                    "sig": B64.encode(B64.encode(&signature)),
                    "publicKey": B64.encode(&verifier_pem),
                }]},
                "hash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(envelope.to_string().as_bytes()))},
                "payloadHash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(payload.as_bytes()))},
            }},
        });
        let mut annotations =
            self.legacy_annotations(&body, String::new(), identity.map(|_| verifier_pem), options);
        annotations.insert(
            "predicateType".to_owned(),
            statement.get("predicateType").and_then(Value::as_str).unwrap_or_default().to_owned(),
        );
        (envelope.to_string().into_bytes(), annotations)
    }
}

/// What the log recorded for one entry.
struct LogRecord {
    body: Vec<u8>,
    body_b64: String,
    integrated: i64,
    log_id: Vec<u8>,
    set_b64: String,
}

/// An in-toto v1 statement about `digest` (`sha256:<hex>` or bare hex) named `name`.
pub fn statement(name: &str, digest: &str, predicate_type: &str, predicate: Value) -> Value {
    json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": name, "digest": {"sha256": digest.trim_start_matches("sha256:")}}],
        "predicateType": predicate_type,
        "predicate": predicate,
    })
}

fn der_length(length: usize) -> Vec<u8> {
    if length < 0x80 {
        vec![length as u8]
    } else if length < 0x100 {
        vec![0x81, length as u8]
    } else {
        vec![0x82, (length >> 8) as u8, length as u8]
    }
}

fn der_utf8(text: &str) -> Vec<u8> {
    [vec![0x0c], der_length(text.len()), text.as_bytes().to_vec()].concat()
}

fn der_octet_string(bytes: &[u8]) -> Vec<u8> {
    [vec![0x04], der_length(bytes.len()), bytes.to_vec()].concat()
}
