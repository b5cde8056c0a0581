//! `crypto.x509.parse_certificates`: certificates (PEM, base64 PEM, or base64 DER, one or many) as objects
//! with the field names of Go's `x509.Certificate`, which OPA policies are written against. The fields
//! compliance policies read are provided; see docs/rego-conformance.md for the list.

use anyhow::{Result, anyhow, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use regorus::Value;
use x509_parser::certificate::X509Certificate;
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;
use x509_parser::x509::X509Name;

use super::args::string;

fn strings(values: impl IntoIterator<Item = String>) -> Value {
    Value::from(values.into_iter().map(Value::from).collect::<Vec<_>>())
}

/// A list as Go's `encoding/json` writes a slice: `null` when there is none.
fn nullable(values: Vec<String>) -> Value {
    if values.is_empty() { Value::Null } else { strings(values) }
}

/// A distinguished name as Go's `pkix.Name` fields.
pub(super) fn name_object(name: &X509Name<'_>) -> Value {
    let collect = |iter: &mut dyn Iterator<Item = &x509_parser::x509::AttributeTypeAndValue<'_>>| {
        nullable(iter.filter_map(|attribute| attribute.as_str().ok().map(str::to_owned)).collect())
    };
    let mut object = Value::new_object();
    if let Ok(map) = object.as_object_mut() {
        let common_name = name.iter_common_name().next().and_then(|a| a.as_str().ok()).unwrap_or_default();
        map.insert(Value::from("CommonName"), Value::from(common_name));
        map.insert(Value::from("Country"), collect(&mut name.iter_country()));
        map.insert(Value::from("Organization"), collect(&mut name.iter_organization()));
        map.insert(Value::from("OrganizationalUnit"), collect(&mut name.iter_organizational_unit()));
        map.insert(Value::from("Locality"), collect(&mut name.iter_locality()));
        map.insert(Value::from("Province"), collect(&mut name.iter_state_or_province()));
        map.insert(Value::from("String"), Value::from(name.to_string()));
    }
    object
}

/// Go's `x509.KeyUsage` bit flags.
fn key_usage(certificate: &X509Certificate<'_>) -> u64 {
    let Ok(Some(usage)) = certificate.key_usage() else { return 0 };
    let usage = usage.value;
    let flags = [
        usage.digital_signature(),
        usage.non_repudiation(),
        usage.key_encipherment(),
        usage.data_encipherment(),
        usage.key_agreement(),
        usage.key_cert_sign(),
        usage.crl_sign(),
        usage.encipher_only(),
        usage.decipher_only(),
    ];
    flags.iter().enumerate().filter(|(_, set)| **set).map(|(bit, _)| 1u64 << bit).sum()
}

/// Subject alternative names by kind, as Go's certificate fields hold them.
#[derive(Default)]
struct AltNames {
    dns: Vec<String>,
    emails: Vec<String>,
    ips: Vec<String>,
    uris: Vec<String>,
}

impl AltNames {
    fn from_extensions<'a>(extensions: impl Iterator<Item = &'a ParsedExtension<'a>>) -> Self {
        let mut names = Self::default();
        for extension in extensions {
            let ParsedExtension::SubjectAlternativeName(san) = extension else { continue };
            for general in &san.general_names {
                match general {
                    GeneralName::DNSName(value) => names.dns.push((*value).to_owned()),
                    GeneralName::RFC822Name(value) => names.emails.push((*value).to_owned()),
                    GeneralName::URI(value) => names.uris.push((*value).to_owned()),
                    GeneralName::IPAddress(bytes) => {
                        if let Ok(octets) = <[u8; 4]>::try_from(*bytes) {
                            names.ips.push(std::net::Ipv4Addr::from(octets).to_string());
                        } else if let Ok(octets) = <[u8; 16]>::try_from(*bytes) {
                            names.ips.push(std::net::Ipv6Addr::from(octets).to_string());
                        }
                    }
                    _ => {}
                }
            }
        }
        names
    }
}

fn object(fields: Vec<(&str, Value)>) -> Value {
    let mut object = Value::new_object();
    if let Ok(map) = object.as_object_mut() {
        for (key, value) in fields {
            map.insert(Value::from(key), value);
        }
    }
    object
}

/// One certificate as OPA returns it (the fields listed in docs/rego.md).
pub(super) fn certificate(der: &[u8]) -> Result<Value> {
    let (_, certificate) =
        X509Certificate::from_der(der).map_err(|err| anyhow!("crypto.x509.parse_certificates: {err}"))?;
    let names = AltNames::from_extensions(certificate.extensions().iter().map(|e| e.parsed_extension()));
    let (is_ca, basic_constraints_valid) = match certificate.basic_constraints() {
        Ok(Some(constraints)) => (constraints.value.ca, true),
        _ => (false, false),
    };
    let rfc3339 = |time: x509_parser::time::ASN1Time| {
        time.to_datetime()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| time.to_string())
    };
    let serial = Value::from_numeric_string(&certificate.tbs_certificate.serial.to_string())
        .unwrap_or_else(|_| Value::from(certificate.tbs_certificate.serial.to_string()));
    let fields: Vec<(&str, Value)> = vec![
        ("Raw", Value::from(STANDARD.encode(der))),
        ("Version", Value::from(u64::from(certificate.version().0) + 1)),
        ("SerialNumber", serial),
        ("Issuer", name_object(certificate.issuer())),
        ("Subject", name_object(certificate.subject())),
        ("NotBefore", Value::from(rfc3339(certificate.validity().not_before))),
        ("NotAfter", Value::from(rfc3339(certificate.validity().not_after))),
        ("KeyUsage", Value::from(key_usage(&certificate))),
        ("IsCA", Value::from(is_ca)),
        ("BasicConstraintsValid", Value::from(basic_constraints_valid)),
        ("DNSNames", nullable(names.dns)),
        ("EmailAddresses", nullable(names.emails)),
        ("IPAddresses", nullable(names.ips)),
        ("URIStrings", nullable(names.uris)),
        ("SignatureAlgorithmOID", Value::from(certificate.signature_algorithm.algorithm.to_id_string())),
        ("PublicKeyAlgorithmOID", Value::from(certificate.public_key().algorithm.algorithm.to_id_string())),
    ];
    Ok(object(fields))
}

/// DER certificates from PEM text, base64 of PEM, or base64 of (concatenated) DER; errors name `name`.
pub(super) fn ders(name: &str, input: &str) -> Result<Vec<Vec<u8>>> {
    let pem_text = if input.contains("-----BEGIN") {
        input.to_owned()
    } else {
        let compact: String = input.chars().filter(|c| !c.is_whitespace()).collect();
        let bytes = STANDARD.decode(compact).map_err(|err| anyhow!("{name}: not PEM or base64: {err}"))?;
        if bytes.starts_with(b"-----BEGIN") {
            String::from_utf8_lossy(&bytes).into_owned()
        } else {
            let mut out = Vec::new();
            let mut rest: &[u8] = &bytes;
            while !rest.is_empty() {
                let (remaining, _) =
                    X509Certificate::from_der(rest).map_err(|err| anyhow!("{name}: {err}"))?;
                out.push(rest[..rest.len() - remaining.len()].to_vec());
                rest = remaining;
            }
            return Ok(out);
        }
    };
    let mut out = Vec::new();
    for pem in x509_parser::pem::Pem::iter_from_buffer(pem_text.as_bytes()) {
        let pem = pem.map_err(|err| anyhow!("{name}: {err}"))?;
        if pem.label != "CERTIFICATE" {
            bail!("{name}: PEM block type is '{}', expected CERTIFICATE", pem.label);
        }
        out.push(pem.contents);
    }
    if out.is_empty() {
        bail!("{name}: no certificate found");
    }
    Ok(out)
}

fn parse_certificates(args: &[Value]) -> Result<Value> {
    let input = string("crypto.x509.parse_certificates", args, 0)?;
    let certificates = ders("crypto.x509.parse_certificates", input)?
        .iter()
        .map(|der| certificate(der))
        .collect::<Result<Vec<_>>>()?;
    Ok(Value::from(certificates))
}

/// `crypto.x509.parse_certificate_request(csr)`: a PKCS #10 request (PEM, base64 of PEM, or base64 of
/// DER) as an object with the fields of Go's `x509.CertificateRequest` that policies read.
fn parse_certificate_request(args: &[Value]) -> Result<Value> {
    let name = "crypto.x509.parse_certificate_request";
    let input = string(name, args, 0)?;
    let bytes = if input.starts_with("-----BEGIN CERTIFICATE REQUEST-----") {
        input.as_bytes().to_vec()
    } else {
        STANDARD.decode(input).map_err(|err| anyhow!("{name}: illegal base64 data: {err}"))?
    };
    let der = if bytes.starts_with(b"-----BEGIN") {
        let (_, pem) = x509_parser::pem::parse_x509_pem(&bytes).map_err(|err| anyhow!("{name}: {err}"))?;
        if pem.label != "CERTIFICATE REQUEST" {
            bail!("{name}: invalid PEM-encoded certificate signing request");
        }
        pem.contents
    } else {
        bytes
    };
    let (_, request) = X509CertificationRequest::from_der(&der)
        .map_err(|err| anyhow!("{name}: asn1: structure error: {err}"))?;
    let info = &request.certification_request_info;
    let names = AltNames::from_extensions(request.requested_extensions().into_iter().flatten());
    Ok(object(vec![
        ("Raw", Value::from(STANDARD.encode(&der))),
        ("RawTBSCertificateRequest", Value::from(STANDARD.encode(info.raw))),
        ("RawSubject", Value::from(STANDARD.encode(info.subject.as_raw()))),
        ("RawSubjectPublicKeyInfo", Value::from(STANDARD.encode(info.subject_pki.raw))),
        ("Version", Value::from(u64::from(info.version.0))),
        ("Signature", Value::from(STANDARD.encode(request.signature_value.data.as_ref()))),
        ("Subject", name_object(&info.subject)),
        ("DNSNames", nullable(names.dns)),
        ("EmailAddresses", nullable(names.emails)),
        ("IPAddresses", nullable(names.ips)),
        ("URIStrings", nullable(names.uris)),
        ("SignatureAlgorithmOID", Value::from(request.signature_algorithm.algorithm.to_id_string())),
        ("PublicKeyAlgorithmOID", Value::from(info.subject_pki.algorithm.algorithm.to_id_string())),
    ]))
}

pub const FUNCTIONS: &[super::Builtin] = &[
    ("crypto.x509.parse_certificates", 1, parse_certificates),
    ("crypto.x509.parse_certificate_request", 1, parse_certificate_request),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn generated() -> (String, Vec<u8>) {
        let mut params = rcgen::CertificateParams::new(vec!["svc.example.com".to_owned()]).unwrap();
        params.distinguished_name.push(rcgen::DnType::CommonName, "builder");
        params.distinguished_name.push(rcgen::DnType::OrganizationName, "verdict tests");
        params.subject_alt_names.push(rcgen::SanType::URI("spiffe://example/ns/default".try_into().unwrap()));
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let key = rcgen::KeyPair::generate().unwrap();
        let certificate = params.self_signed(&key).unwrap();
        (certificate.pem(), certificate.der().to_vec())
    }

    fn field<'a>(value: &'a Value, key: &str) -> &'a Value {
        &value[&Value::from(key)]
    }

    #[test]
    fn parses_pem_base64_pem_and_base64_der_alike() {
        let (pem, der) = generated();
        for input in [pem.clone(), STANDARD.encode(&pem), STANDARD.encode(&der), format!("{pem}{pem}")] {
            let Value::Array(certificates) = parse_certificates(&[Value::from(input.as_str())]).unwrap()
            else {
                panic!()
            };
            let first = &certificates[0];
            assert_eq!(field(field(first, "Subject"), "CommonName"), &Value::from("builder"));
            assert_eq!(field(first, "DNSNames"), &strings(["svc.example.com".to_owned()]));
            assert_eq!(field(first, "URIStrings"), &strings(["spiffe://example/ns/default".to_owned()]));
            assert_eq!(field(first, "IsCA"), &Value::from(true));
            assert_eq!(field(first, "Version"), &Value::from(3u64));
        }
        let Value::Array(two) = parse_certificates(&[Value::from(format!("{pem}{pem}").as_str())]).unwrap()
        else {
            panic!()
        };
        assert_eq!(two.len(), 2);
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(parse_certificates(&[Value::from("not a certificate")]).is_err());
        assert!(
            parse_certificates(&[Value::from(
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
            )])
            .is_err()
        );
    }
}

#[cfg(test)]
mod request_tests {
    use super::*;

    #[test]
    fn certificate_requests_parse_from_pem_base64_pem_and_base64_der() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["req.example.com".to_owned()]).unwrap();
        params.distinguished_name.push(rcgen::DnType::CommonName, "requester");
        let request = params.serialize_request(&key).unwrap();
        let pem = request.pem().unwrap();
        let der = request.der().to_vec();
        for input in [pem.clone(), STANDARD.encode(&pem), STANDARD.encode(&der)] {
            let parsed = parse_certificate_request(&[Value::from(input.as_str())]).unwrap();
            assert_eq!(parsed[&Value::from("Subject")][&Value::from("CommonName")], Value::from("requester"));
            assert_eq!(parsed[&Value::from("DNSNames")], Value::from(vec![Value::from("req.example.com")]));
            assert_eq!(parsed[&Value::from("Raw")], Value::from(STANDARD.encode(&der)));
        }
        for bad in [
            "foobar",
            "YmFkc3RyaW5n",
            &STANDARD.encode("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
        ] {
            assert!(parse_certificate_request(&[Value::from(bad)]).is_err(), "{bad}");
        }
    }
}
