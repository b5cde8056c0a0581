//! Keys for JWS: verification keys from PEM certificates, PEM public keys, JWKs and JWK sets; signing
//! keys from JWKs. The cryptography is aws-lc-rs; this module only reads key formats.

use anyhow::{Context, Result, anyhow, bail};
use aws_lc_rs::signature::{
    self, EcdsaKeyPair, Ed25519KeyPair, RsaKeyPair, RsaPublicKeyComponents, UnparsedPublicKey,
};
use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::Value as Json;

/// base64url as JWS uses it: padding optional.
pub const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A public key that can check a JWS signature.
#[derive(Debug, Clone)]
pub enum VerifyKey {
    /// RSA modulus and exponent (big-endian).
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// An uncompressed EC point on the named curve (`P-256`, `P-384`, `P-521`).
    Ec { curve: String, point: Vec<u8> },
    /// A raw Ed25519 public key.
    Ed25519(Vec<u8>),
}

fn b64(jwk: &Json, field: &str) -> Result<Vec<u8>> {
    let text = jwk.get(field).and_then(Json::as_str).ok_or_else(|| anyhow!("JWK is missing `{field}`"))?;
    BASE64URL.decode(text).with_context(|| format!("JWK `{field}` is not base64url"))
}

/// An EC JWK's curve name and uncompressed public point (`04 ‖ x ‖ y`).
fn ec_public(jwk: &Json) -> Result<(String, Vec<u8>)> {
    let curve = jwk.get("crv").and_then(Json::as_str).unwrap_or_default().to_owned();
    let mut point = vec![4u8];
    point.extend(b64(jwk, "x")?);
    point.extend(b64(jwk, "y")?);
    Ok((curve, point))
}

fn verify_key_from_jwk(jwk: &Json) -> Result<VerifyKey> {
    match jwk.get("kty").and_then(Json::as_str) {
        Some("RSA") => Ok(VerifyKey::Rsa { n: b64(jwk, "n")?, e: b64(jwk, "e")? }),
        Some("EC") => {
            let (curve, point) = ec_public(jwk)?;
            Ok(VerifyKey::Ec { curve, point })
        }
        Some("OKP") => Ok(VerifyKey::Ed25519(b64(jwk, "x")?)),
        other => bail!("unsupported JWK key type {other:?}"),
    }
}

/// A DER INTEGER's magnitude without the sign-padding zero bytes aws-lc-rs refuses.
fn unsigned(bytes: &[u8]) -> Vec<u8> {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    bytes[start..].to_vec()
}

fn verify_key_from_spki(spki: &x509_parser::x509::SubjectPublicKeyInfo<'_>) -> Result<VerifyKey> {
    use x509_parser::public_key::PublicKey;
    match spki.parsed().map_err(|err| anyhow!("unreadable public key: {err}"))? {
        PublicKey::RSA(rsa) => Ok(VerifyKey::Rsa { n: unsigned(rsa.modulus), e: unsigned(rsa.exponent) }),
        PublicKey::EC(point) => {
            let curve = match spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|oid| oid.to_id_string())
            {
                Some(oid) if oid == "1.2.840.10045.3.1.7" => "P-256",
                Some(oid) if oid == "1.3.132.0.34" => "P-384",
                Some(oid) if oid == "1.3.132.0.35" => "P-521",
                _ => "",
            };
            Ok(VerifyKey::Ec { curve: curve.to_owned(), point: point.data().to_vec() })
        }
        PublicKey::Unknown(raw) if spki.algorithm.algorithm.to_id_string() == "1.3.101.112" => {
            Ok(VerifyKey::Ed25519(raw.to_vec()))
        }
        _ => bail!("unsupported public key algorithm {}", spki.algorithm.algorithm.to_id_string()),
    }
}

/// Every key in `text`: PEM certificates and public keys (any number), a JWK, or a JWK set.
pub fn verify_keys(text: &str) -> Result<Vec<VerifyKey>> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        let json: Json = serde_json::from_str(trimmed).context("the key is not valid JSON")?;
        return match json.get("keys").and_then(Json::as_array) {
            Some(keys) => keys.iter().map(verify_key_from_jwk).collect(),
            None => Ok(vec![verify_key_from_jwk(&json)?]),
        };
    }
    let mut keys = Vec::new();
    for pem in x509_parser::pem::Pem::iter_from_buffer(text.as_bytes()) {
        let pem = pem.map_err(|err| anyhow!("unreadable PEM: {err}"))?;
        match pem.label.as_str() {
            "CERTIFICATE" => {
                let certificate = pem.parse_x509().map_err(|err| anyhow!("unreadable certificate: {err}"))?;
                keys.push(verify_key_from_spki(certificate.public_key())?);
            }
            "PUBLIC KEY" => {
                use x509_parser::prelude::FromDer;
                let (_, spki) = x509_parser::x509::SubjectPublicKeyInfo::from_der(&pem.contents)
                    .map_err(|err| anyhow!("unreadable public key: {err}"))?;
                keys.push(verify_key_from_spki(&spki)?);
            }
            other => bail!("unsupported PEM block {other:?}: expected CERTIFICATE or PUBLIC KEY"),
        }
    }
    if keys.is_empty() {
        bail!("no key found: expected a PEM certificate or public key, a JWK or a JWK set");
    }
    Ok(keys)
}

/// Checks `signature` over `message` with `key` for the JWS algorithm `alg`.
pub fn verify(alg: &str, key: &VerifyKey, message: &[u8], signature: &[u8]) -> bool {
    match (alg, key) {
        ("RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512", VerifyKey::Rsa { n, e }) => {
            let params: &signature::RsaParameters = match alg {
                "RS256" => &signature::RSA_PKCS1_2048_8192_SHA256,
                "RS384" => &signature::RSA_PKCS1_2048_8192_SHA384,
                "RS512" => &signature::RSA_PKCS1_2048_8192_SHA512,
                "PS256" => &signature::RSA_PSS_2048_8192_SHA256,
                "PS384" => &signature::RSA_PSS_2048_8192_SHA384,
                _ => &signature::RSA_PSS_2048_8192_SHA512,
            };
            RsaPublicKeyComponents { n: n.as_slice(), e: e.as_slice() }
                .verify(params, message, signature)
                .is_ok()
        }
        ("ES256" | "ES384" | "ES512", VerifyKey::Ec { curve, point }) => {
            let algorithm: &signature::EcdsaVerificationAlgorithm = match (alg, curve.as_str()) {
                ("ES256", "P-256" | "") => &signature::ECDSA_P256_SHA256_FIXED,
                ("ES384", "P-384" | "") => &signature::ECDSA_P384_SHA384_FIXED,
                ("ES512", "P-521" | "") => &signature::ECDSA_P521_SHA512_FIXED,
                _ => return false,
            };
            UnparsedPublicKey::new(algorithm, point).verify(message, signature).is_ok()
        }
        ("EdDSA", VerifyKey::Ed25519(public)) => {
            UnparsedPublicKey::new(&signature::ED25519, public).verify(message, signature).is_ok()
        }
        _ => false,
    }
}

/// DER of one INTEGER (unsigned big-endian magnitude).
fn der_integer(bytes: &[u8]) -> Vec<u8> {
    let trimmed: &[u8] = {
        let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len().saturating_sub(1));
        &bytes[start.min(bytes.len())..]
    };
    let mut value = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_none_or(|b| b & 0x80 != 0) {
        value.push(0);
    }
    value.extend_from_slice(trimmed);
    der_tlv(0x02, &value)
}

fn der_tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let length = value.len();
    if length < 0x80 {
        out.push(length as u8);
    } else {
        let bytes = length.to_be_bytes();
        let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len() - 1);
        out.push(0x80 | (bytes.len() - first) as u8);
        out.extend_from_slice(&bytes[first..]);
    }
    out.extend_from_slice(value);
    out
}

/// A private key that can produce a JWS signature.
pub enum SigningKey {
    /// An HMAC secret.
    Secret(Vec<u8>),
    /// An RSA key pair.
    Rsa(RsaKeyPair),
    /// An ECDSA key (the curve is checked against the algorithm when signing).
    Ec { curve: String, d: Vec<u8>, point: Vec<u8> },
    /// An Ed25519 key pair.
    Ed25519(Ed25519KeyPair),
}

/// Reads a private JWK (`oct`, `RSA`, `EC` or `OKP`).
pub fn signing_key(jwk: &Json) -> Result<SigningKey> {
    match jwk.get("kty").and_then(Json::as_str) {
        Some("oct") => Ok(SigningKey::Secret(b64(jwk, "k")?)),
        Some("RSA") => {
            let mut body = der_integer(&[0]);
            for field in ["n", "e", "d", "p", "q", "dp", "dq", "qi"] {
                body.extend(der_integer(&b64(jwk, field)?));
            }
            let der = der_tlv(0x30, &body);
            RsaKeyPair::from_der(&der).map(SigningKey::Rsa).map_err(|err| anyhow!("invalid RSA JWK: {err}"))
        }
        Some("EC") => {
            let (curve, point) = ec_public(jwk)?;
            Ok(SigningKey::Ec { curve, d: b64(jwk, "d")?, point })
        }
        Some("OKP") => Ed25519KeyPair::from_seed_and_public_key(&b64(jwk, "d")?, &b64(jwk, "x")?)
            .map(SigningKey::Ed25519)
            .map_err(|err| anyhow!("invalid Ed25519 JWK: {err}")),
        other => bail!("unsupported JWK key type {other:?}"),
    }
}

/// Signs `message` with `key` for the JWS algorithm `alg`.
pub fn sign(alg: &str, key: &SigningKey, message: &[u8]) -> Result<Vec<u8>> {
    use hmac::{Hmac, Mac};
    let rng = aws_lc_rs::rand::SystemRandom::new();
    fn mac<M: Mac + hmac::digest::KeyInit>(secret: &[u8], message: &[u8]) -> Result<Vec<u8>> {
        let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(secret).map_err(|err| anyhow!("{err}"))?;
        mac.update(message);
        Ok(mac.finalize().into_bytes().to_vec())
    }
    match (alg, key) {
        ("HS256", SigningKey::Secret(secret)) => mac::<Hmac<sha2::Sha256>>(secret, message),
        ("HS384", SigningKey::Secret(secret)) => mac::<Hmac<sha2::Sha384>>(secret, message),
        ("HS512", SigningKey::Secret(secret)) => mac::<Hmac<sha2::Sha512>>(secret, message),
        ("RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512", SigningKey::Rsa(pair)) => {
            let padding: &dyn signature::RsaEncoding = match alg {
                "RS256" => &signature::RSA_PKCS1_SHA256,
                "RS384" => &signature::RSA_PKCS1_SHA384,
                "RS512" => &signature::RSA_PKCS1_SHA512,
                "PS256" => &signature::RSA_PSS_SHA256,
                "PS384" => &signature::RSA_PSS_SHA384,
                _ => &signature::RSA_PSS_SHA512,
            };
            let mut out = vec![0; pair.public_modulus_len()];
            pair.sign(padding, &rng, message, &mut out)
                .map_err(|err| anyhow!("RSA signing failed: {err}"))?;
            Ok(out)
        }
        ("ES256" | "ES384" | "ES512", SigningKey::Ec { curve, d, point }) => {
            let algorithm: &signature::EcdsaSigningAlgorithm = match (alg, curve.as_str()) {
                ("ES256", "P-256") => &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                ("ES384", "P-384") => &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
                ("ES512", "P-521") => &signature::ECDSA_P521_SHA512_FIXED_SIGNING,
                _ => bail!("the {curve} key cannot sign {alg}"),
            };
            let pair = EcdsaKeyPair::from_private_key_and_public_key(algorithm, d, point)
                .map_err(|err| anyhow!("invalid EC JWK: {err}"))?;
            Ok(pair
                .sign(&rng, message)
                .map_err(|err| anyhow!("ECDSA signing failed: {err}"))?
                .as_ref()
                .to_vec())
        }
        ("EdDSA", SigningKey::Ed25519(pair)) => Ok(pair.sign(message).as_ref().to_vec()),
        (
            "HS256" | "HS384" | "HS512" | "RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512" | "ES256"
            | "ES384" | "ES512" | "EdDSA",
            _,
        ) => bail!("the key does not match the algorithm {alg}"),
        (other, _) => bail!("unknown JWS algorithm: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_integers_are_minimal_and_unsigned() {
        assert_eq!(der_integer(&[0]), [0x02, 0x01, 0x00]);
        assert_eq!(der_integer(&[0x7f]), [0x02, 0x01, 0x7f]);
        assert_eq!(der_integer(&[0x80]), [0x02, 0x02, 0x00, 0x80]);
        assert_eq!(der_integer(&[0, 0, 1]), [0x02, 0x01, 0x01]);
        assert_eq!(der_tlv(0x30, &[0; 200])[..3], [0x30, 0x81, 200]);
        assert_eq!(der_tlv(0x30, &[0; 300])[..4], [0x30, 0x82, 0x01, 0x2c]);
    }

    #[test]
    fn hmac_signing_matches_rfc_7515_appendix_a1() {
        let key = signing_key(&serde_json::json!({"kty": "oct", "k": "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"})).unwrap();
        let input = b"eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
        let signature = sign("HS256", &key, input).unwrap();
        assert_eq!(BASE64URL.encode(signature), "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
    }

    #[test]
    fn unknown_algorithms_and_mismatched_keys_are_errors() {
        let key = SigningKey::Secret(b"k".to_vec());
        assert!(sign("none", &key, b"m").unwrap_err().to_string().contains("unknown JWS algorithm"));
        assert!(sign("RS256", &key, b"m").unwrap_err().to_string().contains("does not match"));
        assert!(!verify("HS256", &VerifyKey::Ed25519(vec![0; 32]), b"m", b"s"));
    }
}
