//! `crypto.x509.parse_and_verify_certificates` and its `_with_options` form: the first certificate is the
//! trusted root, the last the leaf, the rest intermediates; a chain from the leaf to the root is built
//! and checked as Go's `x509.Certificate.Verify` checks it (signatures, validity at the given time, CA
//! constraints on issuers, extended key usage — server auth unless told otherwise — and the DNS name when
//! one is given). The result is `[true, chain]` with the chain leaf first, or `[false, []]`.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Result, anyhow, bail};
use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use regorus::Value;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer;
use x509_parser::time::ASN1Time;

use super::args::{string, type_name};
use super::x509::{certificate, ders};

const SERVER_AUTH: &str = "1.3.6.1.5.5.7.3.1";
const ANY_USAGE: &str = "2.5.29.37.0";

/// Go's `x509.ExtKeyUsage` names as OPA accepts them in `KeyUsages`, with their OIDs.
const KEY_USAGES: &[(&str, &str)] = &[
    ("KeyUsageAny", ANY_USAGE),
    ("KeyUsageServerAuth", SERVER_AUTH),
    ("KeyUsageClientAuth", "1.3.6.1.5.5.7.3.2"),
    ("KeyUsageCodeSigning", "1.3.6.1.5.5.7.3.3"),
    ("KeyUsageEmailProtection", "1.3.6.1.5.5.7.3.4"),
    ("KeyUsageIPSECEndSystem", "1.3.6.1.5.5.7.3.5"),
    ("KeyUsageIPSECTunnel", "1.3.6.1.5.5.7.3.6"),
    ("KeyUsageIPSECUser", "1.3.6.1.5.5.7.3.7"),
    ("KeyUsageTimeStamping", "1.3.6.1.5.5.7.3.8"),
    ("KeyUsageOCSPSigning", "1.3.6.1.5.5.7.3.9"),
    ("KeyUsageMicrosoftServerGatedCrypto", "1.3.6.1.4.1.311.10.3.3"),
    ("KeyUsageNetscapeServerGatedCrypto", "2.16.840.1.113730.4.1"),
    ("KeyUsageMicrosoftCommercialCodeSigning", "1.3.6.1.4.1.311.2.1.22"),
    ("KeyUsageMicrosoftKernelCodeSigning", "1.3.6.1.4.1.311.61.1.1"),
];

/// How long a chain may be before the search gives up (Go's limit on intermediates is similar).
const MAX_CHAIN: usize = 16;

/// What a chain is checked against.
struct Options {
    dns_name: Option<String>,
    time: ASN1Time,
    usages: Vec<&'static str>,
}

impl Options {
    fn new() -> Result<Self> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
        let time = ASN1Time::from_timestamp(i64::try_from(now).unwrap_or(i64::MAX))
            .map_err(|err| anyhow!("the clock is unusable: {err}"))?;
        Ok(Self { dns_name: None, time, usages: Vec::new() })
    }

    fn from_object(name: &str, value: &Value) -> Result<Self> {
        let mut options = Self::new()?;
        let Value::Object(fields) = value else {
            bail!("{name}: operand 2 must be object but got {}", type_name(value));
        };
        for (key, field) in fields.iter() {
            let Value::String(key) = key else { continue };
            match (key.as_ref(), field) {
                ("DNSName", Value::String(dns)) => options.dns_name = Some(dns.trim_matches('"').to_owned()),
                ("DNSName", _) => bail!("{name}: 'DNSName' should be a string"),
                ("CurrentTime", Value::Number(ns)) => {
                    let ns = ns
                        .as_i64()
                        .ok_or_else(|| anyhow!("{name}: 'CurrentTime' should be a valid int64 number"))?;
                    options.time = ASN1Time::from_timestamp(ns.div_euclid(1_000_000_000))
                        .map_err(|err| anyhow!("{name}: 'CurrentTime': {err}"))?;
                }
                ("CurrentTime", _) => bail!("{name}: 'CurrentTime' should be a number"),
                ("MaxConstraintComparisons", Value::Number(_)) => {}
                ("MaxConstraintComparisons", _) => {
                    bail!("{name}: 'MaxConstraintComparisons' should be a number")
                }
                ("KeyUsages", Value::Array(_) | Value::Set(_)) => {
                    let items: Vec<&Value> = match field {
                        Value::Array(items) => items.iter().collect(),
                        Value::Set(items) => items.iter().collect(),
                        _ => Vec::new(),
                    };
                    let mut invalid = Vec::new();
                    for item in items {
                        let Value::String(usage) = item else { continue };
                        let usage = usage.trim_matches('"');
                        match KEY_USAGES.iter().find(|(known, _)| *known == usage) {
                            Some((_, oid)) => options.usages.push(oid),
                            None => invalid.push(usage.to_owned()),
                        }
                    }
                    if !invalid.is_empty() {
                        bail!("{name}: invalid entries for 'KeyUsages' found: [{}]", invalid.join(" "));
                    }
                }
                ("KeyUsages", _) => bail!("{name}: 'KeyUsages' should be an Array or Set"),
                _ => bail!("{name}: invalid key option"),
            }
        }
        Ok(options)
    }
}

/// Whether `child`'s signature verifies with `issuer`'s public key.
fn signed_by(child: &X509Certificate<'_>, issuer: &X509Certificate<'_>) -> bool {
    let spki = issuer.public_key();
    let curve =
        spki.algorithm.parameters.as_ref().and_then(|p| p.as_oid().ok()).map(|oid| oid.to_id_string());
    let algorithm: &dyn VerificationAlgorithm =
        match (child.signature_algorithm.algorithm.to_id_string().as_str(), curve.as_deref()) {
            ("1.2.840.10045.4.3.2", Some("1.2.840.10045.3.1.7")) => &signature::ECDSA_P256_SHA256_ASN1,
            ("1.2.840.10045.4.3.3", Some("1.2.840.10045.3.1.7")) => &signature::ECDSA_P256_SHA384_ASN1,
            ("1.2.840.10045.4.3.2", Some("1.3.132.0.34")) => &signature::ECDSA_P384_SHA256_ASN1,
            ("1.2.840.10045.4.3.3", Some("1.3.132.0.34")) => &signature::ECDSA_P384_SHA384_ASN1,
            ("1.2.840.10045.4.3.4", Some("1.3.132.0.35")) => &signature::ECDSA_P521_SHA512_ASN1,
            ("1.2.840.113549.1.1.11", _) => &signature::RSA_PKCS1_2048_8192_SHA256,
            ("1.2.840.113549.1.1.12", _) => &signature::RSA_PKCS1_2048_8192_SHA384,
            ("1.2.840.113549.1.1.13", _) => &signature::RSA_PKCS1_2048_8192_SHA512,
            ("1.3.101.112", _) => &signature::ED25519,
            _ => return false,
        };
    UnparsedPublicKey::new(algorithm, spki.subject_public_key.data.as_ref())
        .verify(child.tbs_certificate.as_ref(), child.signature_value.data.as_ref())
        .is_ok()
}

fn is_ca(certificate: &X509Certificate<'_>) -> bool {
    matches!(certificate.basic_constraints(), Ok(Some(constraints)) if constraints.value.ca)
}

/// Whether `certificate` may be used for one of `usages` (a certificate without the extension may be
/// used for anything).
fn usage_allowed(certificate: &X509Certificate<'_>, usages: &[&str]) -> bool {
    if usages.contains(&ANY_USAGE) {
        return true;
    }
    let Ok(Some(extended)) = certificate.extended_key_usage() else { return true };
    let extended = extended.value;
    if extended.any {
        return true;
    }
    let mut listed: Vec<String> = extended.other.iter().map(|oid| oid.to_id_string()).collect();
    for (set, oid) in [
        (extended.server_auth, SERVER_AUTH),
        (extended.client_auth, "1.3.6.1.5.5.7.3.2"),
        (extended.code_signing, "1.3.6.1.5.5.7.3.3"),
        (extended.email_protection, "1.3.6.1.5.5.7.3.4"),
        (extended.time_stamping, "1.3.6.1.5.5.7.3.8"),
        (extended.ocsp_signing, "1.3.6.1.5.5.7.3.9"),
    ] {
        if set {
            listed.push(oid.to_owned());
        }
    }
    usages.iter().any(|usage| listed.iter().any(|oid| oid == usage))
}

/// Whether the leaf is for `host` (Go's `VerifyHostname`: IP addresses against IP SANs, names against
/// DNS SANs with a leftmost `*` label, case-insensitively).
fn matches_host(leaf: &X509Certificate<'_>, host: &str) -> bool {
    let Ok(Some(san)) = leaf.subject_alternative_name() else { return false };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let ip: Option<std::net::IpAddr> = host.trim_matches(['[', ']']).parse().ok();
    san.value.general_names.iter().any(|general| match (general, ip) {
        (GeneralName::IPAddress(bytes), Some(ip)) => match ip {
            std::net::IpAddr::V4(v4) => bytes[..] == v4.octets(),
            std::net::IpAddr::V6(v6) => bytes[..] == v6.octets(),
        },
        (GeneralName::DNSName(pattern), None) => {
            let pattern = pattern.trim_end_matches('.').to_ascii_lowercase();
            match pattern.strip_prefix("*.") {
                Some(suffix) => {
                    host.split_once('.').is_some_and(|(label, rest)| !label.is_empty() && rest == suffix)
                }
                None => pattern == host,
            }
        }
        _ => false,
    })
}

/// Indices of a verified chain, leaf first and root last, or why there is none.
fn chain(certificates: &[X509Certificate<'_>], options: &Options) -> Result<Vec<usize>> {
    if certificates.len() < 2 {
        bail!("must supply at least two certificates to be able to verify");
    }
    let leaf = certificates.len() - 1;
    let usages: Vec<&str> =
        if options.usages.is_empty() { vec![SERVER_AUTH] } else { options.usages.clone() };
    let current = &certificates[leaf];
    if !current.validity().is_valid_at(options.time) {
        bail!("x509: certificate has expired or is not yet valid");
    }
    if let Some(host) = &options.dns_name
        && !matches_host(current, host)
    {
        bail!("x509: certificate is not valid for {host}");
    }
    let mut path = vec![leaf];
    if extend(certificates, options, &usages, &mut path) {
        return Ok(path);
    }
    bail!("x509: certificate signed by unknown authority")
}

/// Depth-first search for an issuer of the last certificate of `path` until the root (index 0).
fn extend(
    certificates: &[X509Certificate<'_>],
    options: &Options,
    usages: &[&str],
    path: &mut Vec<usize>,
) -> bool {
    let Some(&last) = path.last() else { return false };
    let child = &certificates[last];
    if !usage_allowed(child, usages) || path.len() > MAX_CHAIN {
        return false;
    }
    for (index, issuer) in certificates.iter().enumerate().take(certificates.len() - 1) {
        if path.contains(&index)
            || issuer.subject().as_raw() != child.issuer().as_raw()
            // Go requires intermediates to be CAs; the root is trusted as given.
            || (index != 0 && !is_ca(issuer))
            || !issuer.validity().is_valid_at(options.time)
            || !signed_by(child, issuer)
        {
            continue;
        }
        path.push(index);
        if index == 0 {
            if usage_allowed(issuer, usages) {
                return true;
            }
        } else if extend(certificates, options, usages, path) {
            return true;
        }
        path.pop();
    }
    false
}

fn verified(name: &str, input: &str, options: &Options) -> Result<Value> {
    let unverified = || Value::from(vec![Value::from(false), Value::from(Vec::<Value>::new())]);
    let Ok(ders) = ders(name, input) else { return Ok(unverified()) };
    let parsed: Result<Vec<X509Certificate<'_>>, _> =
        ders.iter().map(|der| X509Certificate::from_der(der).map(|(_, c)| c)).collect();
    let Ok(parsed) = parsed else { return Ok(unverified()) };
    match chain(&parsed, options) {
        Ok(indices) => {
            let certificates =
                indices.iter().map(|index| certificate(&ders[*index])).collect::<Result<Vec<_>>>()?;
            Ok(Value::from(vec![Value::from(true), Value::from(certificates)]))
        }
        Err(_) => Ok(unverified()),
    }
}

fn parse_and_verify(args: &[Value]) -> Result<Value> {
    let name = "crypto.x509.parse_and_verify_certificates";
    verified(name, string(name, args, 0)?, &Options::new()?)
}

fn parse_and_verify_with_options(args: &[Value]) -> Result<Value> {
    let name = "crypto.x509.parse_and_verify_certificates_with_options";
    let input = string(name, args, 0)?;
    let options = Options::from_object(name, args.get(1).unwrap_or(&Value::Undefined))?;
    verified(name, input, &options)
}

pub const FUNCTIONS: &[super::Builtin] = &[
    ("crypto.x509.parse_and_verify_certificates", 1, parse_and_verify),
    ("crypto.x509.parse_and_verify_certificates_with_options", 2, parse_and_verify_with_options),
];

#[cfg(test)]
mod tests {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
        PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384, PKCS_ED25519,
    };

    use super::*;

    /// A root, an intermediate and a leaf, each with its key, as PEM.
    struct Chain {
        root: String,
        intermediate: String,
        leaf: String,
    }

    fn params(name: &str, ca: bool) -> CertificateParams {
        let mut params = CertificateParams::new(if ca { vec![] } else { vec![name.to_owned()] }).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        if ca {
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        }
        params
    }

    fn chain_with(
        leaf_algorithm: &'static rcgen::SignatureAlgorithm,
        intermediate_ca: bool,
        leaf_params: impl FnOnce(&mut CertificateParams),
    ) -> Chain {
        let root_key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).unwrap();
        let root_params = params("Test Root", true);
        let root = root_params.self_signed(&root_key).unwrap();
        let root_issuer = Issuer::new(root_params, root_key);
        let intermediate_key = KeyPair::generate_for(&PKCS_ED25519).unwrap();
        let mut intermediate_params = params("Test Intermediate", true);
        if !intermediate_ca {
            intermediate_params.is_ca = IsCa::ExplicitNoCa;
        }
        let intermediate = intermediate_params.signed_by(&intermediate_key, &root_issuer).unwrap();
        let intermediate_issuer = Issuer::new(intermediate_params, intermediate_key);
        let leaf_key = KeyPair::generate_for(leaf_algorithm).unwrap();
        let mut leaf = params("svc.example.com", false);
        leaf_params(&mut leaf);
        let leaf = leaf.signed_by(&leaf_key, &intermediate_issuer).unwrap();
        Chain { root: root.pem(), intermediate: intermediate.pem(), leaf: leaf.pem() }
    }

    fn chain() -> Chain {
        chain_with(&PKCS_ECDSA_P256_SHA256, true, |_| {})
    }

    fn common_names(result: &Value) -> (bool, Vec<String>) {
        let valid = result[0] == Value::from(true);
        let Value::Array(certificates) = &result[1] else { panic!("{result}") };
        let names = certificates
            .iter()
            .map(|c| c[&Value::from("Subject")][&Value::from("CommonName")].as_string().unwrap().to_string())
            .collect();
        (valid, names)
    }

    fn verify(pems: &[&str]) -> (bool, Vec<String>) {
        common_names(&parse_and_verify(&[Value::from(pems.concat())]).unwrap())
    }

    #[test]
    fn a_complete_chain_verifies_leaf_first() {
        let chain = chain();
        let (valid, names) = verify(&[&chain.root, &chain.intermediate, &chain.leaf]);
        assert!(valid);
        assert_eq!(names, ["svc.example.com", "Test Intermediate", "Test Root"]);
    }

    #[test]
    fn broken_chains_do_not_verify() {
        let chain = chain();
        let other = super::tests::chain();
        for (why, pems) in [
            ("one certificate", vec![chain.leaf.as_str()]),
            ("root last", vec![&chain.leaf, &chain.intermediate, &chain.root]),
            ("missing intermediate", vec![&chain.root, &chain.leaf]),
            ("another root", vec![&other.root, &chain.intermediate, &chain.leaf]),
            ("another intermediate", vec![&chain.root, &other.intermediate, &chain.leaf]),
        ] {
            assert_eq!(verify(&pems), (false, vec![]), "{why}");
        }
        let not_ca = chain_with(&PKCS_ECDSA_P256_SHA256, false, |_| {});
        assert_eq!(
            verify(&[&not_ca.root, &not_ca.intermediate, &not_ca.leaf]),
            (false, vec![]),
            "non-CA intermediate"
        );
        let expired = chain_with(&PKCS_ECDSA_P256_SHA256, true, |p| {
            p.not_before = rcgen::date_time_ymd(2001, 1, 1);
            p.not_after = rcgen::date_time_ymd(2002, 1, 1);
        });
        assert_eq!(
            verify(&[&expired.root, &expired.intermediate, &expired.leaf]),
            (false, vec![]),
            "expired"
        );
        let client_only = chain_with(&PKCS_ECDSA_P256_SHA256, true, |p| {
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        });
        let pems = [client_only.root.as_str(), &client_only.intermediate, &client_only.leaf].concat();
        assert_eq!(verify(&[&pems]), (false, vec![]), "client-auth leaf checked for server auth");
        let with_usage = |usages: Value| {
            let mut options = Value::new_object();
            options.as_object_mut().unwrap().insert(Value::from("KeyUsages"), usages);
            common_names(&parse_and_verify_with_options(&[Value::from(pems.as_str()), options]).unwrap()).0
        };
        assert!(with_usage(Value::from(vec![Value::from("KeyUsageClientAuth")])));
        assert!(with_usage(Value::from(vec![Value::from("KeyUsageAny")])));
        assert!(!with_usage(Value::from(vec![Value::from("KeyUsageCodeSigning")])));
    }

    #[test]
    fn options_set_the_name_and_the_time() {
        let chain =
            chain_with(&PKCS_ECDSA_P256_SHA256, true, |p| p.not_before = rcgen::date_time_ymd(2020, 1, 1));
        let pems = [chain.root.as_str(), &chain.intermediate, &chain.leaf].concat();
        let run = |fields: Vec<(&str, Value)>| {
            let mut options = Value::new_object();
            for (key, value) in fields {
                options.as_object_mut().unwrap().insert(Value::from(key), value);
            }
            parse_and_verify_with_options(&[Value::from(pems.as_str()), options])
        };
        assert!(common_names(&run(vec![("DNSName", Value::from("svc.example.com"))]).unwrap()).0);
        assert!(common_names(&run(vec![("DNSName", Value::from("SVC.example.com."))]).unwrap()).0);
        assert!(!common_names(&run(vec![("DNSName", Value::from("other.example.com"))]).unwrap()).0);
        let year_2000_ns = Value::from(946_684_800_000_000_000i64);
        assert!(!common_names(&run(vec![("CurrentTime", year_2000_ns)]).unwrap()).0);
        for bad in [
            vec![("DNSName", Value::from(1u64))],
            vec![("CurrentTime", Value::from("now"))],
            vec![("KeyUsages", Value::from(vec![Value::from("KeyUsageEverything")]))],
            vec![("Colour", Value::from("blue"))],
        ] {
            assert!(run(bad).is_err());
        }
    }

    #[test]
    fn wildcards_cover_one_label() {
        let chain = chain_with(&PKCS_ECDSA_P256_SHA256, true, |p| {
            p.subject_alt_names = vec![rcgen::SanType::DnsName("*.apps.example.com".try_into().unwrap())];
        });
        let der = ders("test", &chain.leaf).unwrap().remove(0);
        let (_, leaf) = X509Certificate::from_der(&der).unwrap();
        assert!(matches_host(&leaf, "web.apps.example.com"));
        assert!(!matches_host(&leaf, "apps.example.com"));
        assert!(!matches_host(&leaf, "a.web.apps.example.com"));
    }
}
