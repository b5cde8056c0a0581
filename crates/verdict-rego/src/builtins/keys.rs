//! The private-key builtins: `crypto.parse_private_keys`, `crypto.x509.parse_rsa_private_key` and
//! `crypto.x509.parse_keypair`, with OPA's inputs (PEM, or base64 of PEM or DER) and results.

use anyhow::{Result, anyhow, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use regorus::Value;
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

use super::args::string;
use super::private_keys::{self, PrivateKey};
use super::x509::{certificate, ders};

/// `crypto.parse_private_keys(keys)`: every private key in the PEM text (or base64 of it) as Go's key
/// structs; `null` for an empty string, `[]` when there is no key.
fn parse_private_keys(args: &[Value]) -> Result<Value> {
    let name = "crypto.parse_private_keys";
    let input = string(name, args, 0)?;
    if input.is_empty() {
        return Ok(Value::Null);
    }
    let keys = private_keys::from_pem(input).map_err(|err| anyhow!("{name}: {err}"))?;
    Ok(Value::from(keys.iter().map(PrivateKey::go_json).collect::<Vec<_>>()))
}

/// `crypto.x509.parse_rsa_private_key(pem)`: the first private key of the PEM text (or base64 of it) as
/// a JWK; `null` when there is none.
fn parse_rsa_private_key(args: &[Value]) -> Result<Value> {
    let name = "crypto.x509.parse_rsa_private_key";
    let input = string(name, args, 0)?;
    if input.is_empty() {
        bail!("{name}: input PEM data was empty");
    }
    let text = if input.starts_with("-----BEGIN") {
        input.to_owned()
    } else {
        let bytes = STANDARD.decode(input).map_err(|err| anyhow!("{name}: illegal base64 data: {err}"))?;
        String::from_utf8_lossy(&bytes).into_owned()
    };
    let keys = private_keys::from_pem(&text).map_err(|err| anyhow!("{name}: {err}"))?;
    match keys.first() {
        Some(key) => key.jwk().map_err(|err| anyhow!("{name}: {err}")),
        None => Ok(Value::Null),
    }
}

/// A PEM input of the key pair: PEM as given, or decoded from base64 (which may hold PEM or DER).
fn pem_or_der(name: &str, input: &str) -> Result<Result<String, Vec<u8>>> {
    if input.starts_with("-----BEGIN ") {
        return Ok(Ok(input.to_owned()));
    }
    let bytes = STANDARD.decode(input).map_err(|err| anyhow!("{name}: illegal base64 data: {err}"))?;
    if bytes.starts_with(b"-----BEGIN") {
        Ok(Ok(String::from_utf8_lossy(&bytes).into_owned()))
    } else {
        Ok(Err(bytes))
    }
}

/// `crypto.x509.parse_keypair(cert, key)`: Go's `tls.Certificate` for a certificate chain and the
/// private key of its first certificate — `Certificate` (base64 DER, leaf first), `PrivateKey`, `Leaf`.
/// A key that does not belong to the certificate is an error, as in Go.
fn parse_keypair(args: &[Value]) -> Result<Value> {
    let name = "crypto.x509.parse_keypair";
    let certificates = match pem_or_der(name, string(name, args, 0)?)? {
        Ok(pem) => ders(name, &pem)?,
        Err(der) => vec![der],
    };
    let key = match pem_or_der(name, string(name, args, 1)?)? {
        Ok(pem) => private_keys::keypair_key(&pem),
        Err(der) => private_keys::from_der(&der).map_err(|_| anyhow!("tls: failed to parse private key")),
    }
    .map_err(|err| anyhow!("{name}: {err}"))?;
    let leaf_der = certificates
        .first()
        .ok_or_else(|| anyhow!("{name}: tls: failed to find any PEM data in certificate input"))?;
    let (_, leaf) = X509Certificate::from_der(leaf_der).map_err(|err| anyhow!("{name}: {err}"))?;
    if !key.matches(leaf.public_key()) {
        bail!("{name}: tls: private key does not match public key");
    }
    let mut object = Value::new_object();
    if let Ok(map) = object.as_object_mut() {
        let encoded: Vec<Value> = certificates.iter().map(|der| Value::from(STANDARD.encode(der))).collect();
        map.insert(Value::from("Certificate"), Value::from(encoded));
        map.insert(Value::from("PrivateKey"), key.go_json());
        map.insert(Value::from("Leaf"), certificate(leaf_der)?);
        for absent in ["SupportedSignatureAlgorithms", "OCSPStaple", "SignedCertificateTimestamps"] {
            map.insert(Value::from(absent), Value::Null);
        }
    }
    Ok(object)
}

pub const FUNCTIONS: &[super::Builtin] = &[
    ("crypto.parse_private_keys", 1, parse_private_keys),
    ("crypto.x509.parse_rsa_private_key", 1, parse_rsa_private_key),
    ("crypto.x509.parse_keypair", 2, parse_keypair),
];

#[cfg(test)]
mod tests {
    use rcgen::{CertificateParams, KeyPair, PKCS_ECDSA_P256_SHA256};

    use super::*;

    fn field<'a>(value: &'a Value, key: &str) -> &'a Value {
        &value[&Value::from(key)]
    }

    fn pair() -> (String, String, Vec<u8>) {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let certificate =
            CertificateParams::new(vec!["svc.example.com".into()]).unwrap().self_signed(&key).unwrap();
        (certificate.pem(), key.serialize_pem(), certificate.der().to_vec())
    }

    #[test]
    fn a_keypair_in_every_input_form() {
        let (cert, key, der) = pair();
        let key_der = STANDARD
            .decode(key.lines().filter(|line| !line.starts_with("-----")).collect::<String>())
            .unwrap();
        for (cert_input, key_input) in [
            (cert.clone(), key.clone()),
            (STANDARD.encode(&cert), STANDARD.encode(&key)),
            (STANDARD.encode(&der), STANDARD.encode(&key_der)),
        ] {
            let result = parse_keypair(&[Value::from(cert_input), Value::from(key_input)]).unwrap();
            assert_eq!(field(&result, "Certificate"), &Value::from(vec![Value::from(STANDARD.encode(&der))]));
            assert_eq!(
                field(field(&result, "Leaf"), "DNSNames"),
                &Value::from(vec![Value::from("svc.example.com")])
            );
            assert!(matches!(field(field(&result, "PrivateKey"), "D"), Value::Number(_)));
        }
    }

    #[test]
    fn a_key_of_another_certificate_is_refused() {
        let (cert, _, _) = pair();
        let (_, other_key, _) = pair();
        let err = parse_keypair(&[Value::from(cert), Value::from(other_key)]).unwrap_err();
        assert!(err.to_string().contains("private key does not match public key"), "{err}");
        let err = parse_keypair(&[Value::from("!!"), Value::from("key")]).unwrap_err();
        assert!(err.to_string().contains("illegal base64"), "{err}");
    }

    #[test]
    fn private_keys_and_jwks() {
        let (_, key, _) = pair();
        let keys = parse_private_keys(&[Value::from(format!("{key}{key}"))]).unwrap();
        assert!(matches!(&keys, Value::Array(items) if items.len() == 2));
        assert_eq!(parse_private_keys(&[Value::from("")]).unwrap(), Value::Null);
        assert_eq!(parse_private_keys(&[Value::from("nope")]).unwrap(), Value::from(Vec::<Value>::new()));
        let jwk = parse_rsa_private_key(&[Value::from(key.as_str())]).unwrap();
        assert_eq!(field(&jwk, "kty"), &Value::from("EC"));
        assert_eq!(field(&jwk, "crv"), &Value::from("P-256"));
        assert_eq!(field(&jwk, "x").as_string().unwrap().len(), 43, "32 bytes, base64url");
        assert_eq!(parse_rsa_private_key(&[Value::from(STANDARD.encode(&key))]).unwrap(), jwk);
        assert!(parse_rsa_private_key(&[Value::from("")]).is_err());
        assert!(parse_rsa_private_key(&[Value::from("invalid")]).is_err());
    }
}
