//! Private keys for `crypto.parse_private_keys`, `crypto.x509.parse_rsa_private_key` and
//! `crypto.x509.parse_keypair`: PEM blocks `RSA PRIVATE KEY` (PKCS #1), `PRIVATE KEY` (PKCS #8: RSA,
//! EC, Ed25519) and `EC PRIVATE KEY` (SEC 1), read as Go's `crypto/x509` reads them, and given back in the
//! two shapes OPA returns: Go's key structs as JSON, and JWKs.

use anyhow::{Result, anyhow, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use num_bigint::BigUint;
use regorus::Value;

use super::der::{Reader, oid_string, tag};
use super::jwk::BASE64URL;

/// A parsed private key with the parts OPA's results show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrivateKey {
    /// An RSA key (big-endian magnitudes).
    Rsa { n: Vec<u8>, e: Vec<u8>, d: Vec<u8>, p: Vec<u8>, q: Vec<u8>, dp: Vec<u8>, dq: Vec<u8>, qi: Vec<u8> },
    /// An EC key on a named curve: the private scalar and the public point's coordinates.
    Ec { curve: &'static str, d: Vec<u8>, x: Vec<u8>, y: Vec<u8> },
    /// An Ed25519 key: the 32-byte seed and the public key.
    Ed25519 { seed: Vec<u8>, public: Vec<u8> },
}

const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const ED25519: &str = "1.3.101.112";

fn curve_name(oid: &str) -> Result<&'static str> {
    Ok(match oid {
        "1.2.840.10045.3.1.7" => "P-256",
        "1.3.132.0.34" => "P-384",
        "1.3.132.0.35" => "P-521",
        other => bail!("x509: unsupported elliptic curve {other}"),
    })
}

/// PKCS #1 `RSAPrivateKey`.
fn pkcs1(der: &[u8]) -> Result<PrivateKey> {
    let mut outer = Reader::new(der);
    let mut key = Reader::new(outer.read(tag::SEQUENCE)?);
    let version = key.unsigned()?;
    if !version.is_empty() {
        bail!("x509: unsupported private key version (multi-prime RSA keys are not supported)");
    }
    let mut next = || key.unsigned();
    let (n, e, d, p, q, dp, dq, qi) =
        (next()?, next()?, next()?, next()?, next()?, next()?, next()?, next()?);
    if n.is_empty() || e.is_empty() || d.is_empty() || p.is_empty() || q.is_empty() {
        bail!("x509: RSA private key contains zero or negative value");
    }
    Ok(PrivateKey::Rsa { n, e, d, p, q, dp, dq, qi })
}

/// SEC 1 `ECPrivateKey`; `curve` when the enclosing PKCS #8 structure named it.
fn sec1(der: &[u8], curve: Option<&'static str>) -> Result<PrivateKey> {
    let mut outer = Reader::new(der);
    let mut key = Reader::new(outer.read(tag::SEQUENCE)?);
    let _version = key.unsigned()?;
    let d = key.read(tag::OCTET_STRING)?.to_vec();
    let mut curve = curve;
    let mut point = None;
    while !key.is_empty() {
        let (element, contents) = key.read_any()?;
        match element {
            0xa0 => curve = Some(curve_name(&oid_string(Reader::new(contents).read(tag::OID)?))?),
            0xa1 => point = Some(Reader::new(contents).read(tag::BIT_STRING)?.to_vec()),
            _ => {}
        }
    }
    let curve = curve.ok_or_else(|| anyhow!("x509: EC private key does not name its curve"))?;
    // The BIT STRING holds an unused-bits byte, then the uncompressed point 04 ‖ x ‖ y.
    let point =
        point.ok_or_else(|| anyhow!("x509: EC private key without its public key is not supported"))?;
    let Some([0, 4, coordinates @ ..]) = point.get(..) else {
        bail!("x509: EC public key is not an uncompressed point")
    };
    if coordinates.is_empty() || coordinates.len() % 2 != 0 {
        bail!("x509: malformed EC public key");
    }
    let (x, y) = coordinates.split_at(coordinates.len() / 2);
    let start = d.iter().position(|byte| *byte != 0).unwrap_or(d.len());
    Ok(PrivateKey::Ec { curve, d: d[start..].to_vec(), x: x.to_vec(), y: y.to_vec() })
}

/// PKCS #8 `PrivateKeyInfo`.
fn pkcs8(der: &[u8]) -> Result<PrivateKey> {
    let mut outer = Reader::new(der);
    let mut info = Reader::new(outer.read(tag::SEQUENCE)?);
    let _version = info.unsigned()?;
    let mut algorithm = Reader::new(info.read(tag::SEQUENCE)?);
    let oid = oid_string(algorithm.read(tag::OID)?);
    let key = info.read(tag::OCTET_STRING)?;
    match oid.as_str() {
        RSA_ENCRYPTION => pkcs1(key),
        EC_PUBLIC_KEY => {
            let curve = curve_name(&oid_string(algorithm.read(tag::OID)?))?;
            sec1(key, Some(curve))
        }
        ED25519 => {
            let seed = Reader::new(key).read(tag::OCTET_STRING)?.to_vec();
            let pair = aws_lc_rs::signature::Ed25519KeyPair::from_seed_unchecked(&seed)
                .map_err(|_| anyhow!("x509: invalid Ed25519 private key"))?;
            use aws_lc_rs::signature::KeyPair as _;
            Ok(PrivateKey::Ed25519 { seed, public: pair.public_key().as_ref().to_vec() })
        }
        other => bail!("x509: PKCS#8 wrapping contained private key with unknown algorithm: {other}"),
    }
}

/// Every private key in `text` (PEM, or base64 of PEM), in order; blocks of other types are skipped, as
/// Go's loop over `pem.Decode` skips them.
pub fn from_pem(text: &str) -> Result<Vec<PrivateKey>> {
    let decoded = STANDARD.decode(text.trim()).ok().map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
    let text = decoded.as_deref().unwrap_or(text);
    let mut keys = Vec::new();
    for pem in x509_parser::pem::Pem::iter_from_buffer(text.as_bytes()) {
        let Ok(pem) = pem else { break };
        match pem.label.as_str() {
            "RSA PRIVATE KEY" => keys.push(pkcs1(&pem.contents)?),
            "PRIVATE KEY" => keys.push(pkcs8(&pem.contents)?),
            "EC PRIVATE KEY" => keys.push(sec1(&pem.contents, None)?),
            _ => {}
        }
    }
    Ok(keys)
}

/// The private key of a TLS key pair: the first PEM block whose type ends in `PRIVATE KEY`, read as
/// PKCS #1, then PKCS #8, then SEC 1 (Go's `tls.X509KeyPair` order).
pub fn keypair_key(text: &str) -> Result<PrivateKey> {
    for pem in x509_parser::pem::Pem::iter_from_buffer(text.as_bytes()) {
        let Ok(pem) = pem else { break };
        if pem.label == "PRIVATE KEY" || pem.label.ends_with(" PRIVATE KEY") {
            return from_der(&pem.contents).map_err(|_| anyhow!("tls: failed to parse private key"));
        }
    }
    bail!("tls: failed to find any PEM data in key input")
}

/// A DER private key of any supported form: PKCS #1, then PKCS #8, then SEC 1.
pub fn from_der(der: &[u8]) -> Result<PrivateKey> {
    pkcs1(der).or_else(|_| pkcs8(der)).or_else(|_| sec1(der, None))
}

fn number(bytes: &[u8]) -> Value {
    let decimal = BigUint::from_bytes_be(bytes).to_string();
    Value::from_numeric_string(&decimal).unwrap_or_else(|_| Value::from(decimal))
}

fn object(fields: Vec<(&str, Value)>) -> Value {
    let mut value = Value::new_object();
    if let Ok(map) = value.as_object_mut() {
        for (key, field) in fields {
            map.insert(Value::from(key), field);
        }
    }
    value
}

impl PrivateKey {
    /// The key as Go's `encoding/json` writes the `crypto/rsa`, `crypto/ecdsa` or `crypto/ed25519` key
    /// (big integers as numbers; an Ed25519 key as base64 of seed ‖ public key).
    pub fn go_json(&self) -> Value {
        match self {
            PrivateKey::Rsa { n, e, d, p, q, dp, dq, qi } => object(vec![
                ("N", number(n)),
                ("E", number(e)),
                ("D", number(d)),
                ("Primes", Value::from(vec![number(p), number(q)])),
                (
                    "Precomputed",
                    object(vec![
                        ("Dp", number(dp)),
                        ("Dq", number(dq)),
                        ("Qinv", number(qi)),
                        ("CRTValues", Value::from(Vec::<Value>::new())),
                    ]),
                ),
            ]),
            PrivateKey::Ec { d, x, y, .. } => object(vec![
                ("Curve", Value::new_object()),
                ("X", number(x)),
                ("Y", number(y)),
                ("D", number(d)),
            ]),
            PrivateKey::Ed25519 { seed, public } => {
                Value::from(STANDARD.encode([seed.as_slice(), public].concat()))
            }
        }
    }

    /// The key as a JWK (RFC 7517/7518), as OPA's `crypto.x509.parse_rsa_private_key` returns it.
    pub fn jwk(&self) -> Result<Value> {
        let b64 = |bytes: &[u8]| Value::from(BASE64URL.encode(bytes));
        Ok(match self {
            PrivateKey::Rsa { n, e, d, p, q, dp, dq, qi } => object(vec![
                ("kty", Value::from("RSA")),
                ("n", b64(n)),
                ("e", b64(e)),
                ("d", b64(d)),
                ("p", b64(p)),
                ("q", b64(q)),
                ("dp", b64(dp)),
                ("dq", b64(dq)),
                ("qi", b64(qi)),
            ]),
            PrivateKey::Ec { curve, d, x, y } => object(vec![
                ("kty", Value::from("EC")),
                ("crv", Value::from(*curve)),
                ("x", b64(x)),
                ("y", b64(y)),
                ("d", b64(d)),
            ]),
            PrivateKey::Ed25519 { .. } => bail!("unsupported key type for JWK: ed25519"),
        })
    }

    /// Whether this key belongs to the public key in `spki` (a certificate's subject public key).
    pub fn matches(&self, spki: &x509_parser::x509::SubjectPublicKeyInfo<'_>) -> bool {
        use x509_parser::public_key::PublicKey;
        let trim = |bytes: &[u8]| {
            let start = bytes.iter().position(|byte| *byte != 0).unwrap_or(bytes.len());
            bytes[start..].to_vec()
        };
        match (self, spki.parsed()) {
            (PrivateKey::Rsa { n, e, .. }, Ok(PublicKey::RSA(rsa))) => {
                trim(rsa.modulus) == *n && trim(rsa.exponent) == *e
            }
            (PrivateKey::Ec { x, y, .. }, Ok(PublicKey::EC(point))) => {
                point.data() == [&[4u8][..], x, y].concat().as_slice()
            }
            (PrivateKey::Ed25519 { public, .. }, _) => {
                spki.algorithm.algorithm.to_id_string() == ED25519
                    && spki.subject_public_key.data.as_ref() == public
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pems() -> Vec<(String, &'static str)> {
        let mut out = Vec::new();
        for (algorithm, kind) in [
            (&rcgen::PKCS_ECDSA_P256_SHA256, "EC"),
            (&rcgen::PKCS_ECDSA_P384_SHA384, "EC"),
            (&rcgen::PKCS_ED25519, "OKP"),
        ] {
            let key = rcgen::KeyPair::generate_for(algorithm).unwrap();
            out.push((key.serialize_pem(), kind));
        }
        out
    }

    #[test]
    fn pkcs8_keys_parse_and_match_their_certificates() {
        for (pem, kind) in pems() {
            let keys = from_pem(&pem).unwrap();
            assert_eq!(keys.len(), 1, "{pem}");
            let key = &keys[0];
            match (kind, key) {
                ("EC", PrivateKey::Ec { .. }) | ("OKP", PrivateKey::Ed25519 { .. }) => {}
                _ => panic!("{kind}: {key:?}"),
            }
            let pair = rcgen::KeyPair::from_pem(&pem).unwrap();
            let certificate =
                rcgen::CertificateParams::new(vec!["a.example".into()]).unwrap().self_signed(&pair).unwrap();
            let (_, parsed) = x509_parser::parse_x509_certificate(certificate.der()).unwrap();
            assert!(key.matches(parsed.public_key()), "{kind}");
            let other = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
            let foreign =
                rcgen::CertificateParams::new(vec!["b.example".into()]).unwrap().self_signed(&other).unwrap();
            let (_, foreign) = x509_parser::parse_x509_certificate(foreign.der()).unwrap();
            assert!(!key.matches(foreign.public_key()), "{kind} matched a foreign key");
        }
    }

    #[test]
    fn base64_wrapped_pem_and_other_blocks() {
        let (pem, _) = pems().remove(0);
        assert_eq!(from_pem(&STANDARD.encode(&pem)).unwrap().len(), 1);
        let with_certificate =
            format!("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n{pem}{pem}");
        assert_eq!(from_pem(&with_certificate).unwrap().len(), 2);
        assert!(from_pem("nope").unwrap().is_empty());
        assert!(from_pem("-----BEGIN RSA PRIVATE KEY-----\nMAA=\n-----END RSA PRIVATE KEY-----\n").is_err());
    }
}
