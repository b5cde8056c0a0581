//! Signing policy bundles in tests: a release key written where `verdict bundle sign --key` reads it,
//! and the bundle policy that trusts it for a registry's `acme/**` repositories.

use std::path::{Path, PathBuf};

/// A bundle policy (a verdict image policy) trusting `public_pem` for `host/acme/**`, key-based with the
/// transparency log waived — `bundle sign` logs nothing.
pub fn key_bundle_policy(host: &str, public_pem: &str) -> String {
    let indented: String = public_pem.lines().map(|line| format!("              {line}\n")).collect();
    format!(
        "apiVersion: verdict.dev/v1\nkind: ImagePolicy\nrules:\n  - name: our-bundles\n    images: [\"{host}/acme/**\"]\n    attestors:\n      entries:\n        - key:\n            publicKey: |\n{indented}            ignoreTlog: true\n"
    )
}

/// A fresh release key in `dir/release.key` (PKCS#8 PEM) and the bundle policy trusting it for `host`
/// in `dir/bundle-policy.yaml`.
pub struct ReleaseKey {
    /// The key pair (its public half for other policies).
    pub key: rcgen::KeyPair,
    /// Where the private key is.
    pub key_file: PathBuf,
    /// Where the bundle policy is.
    pub policy: PathBuf,
}

impl ReleaseKey {
    /// Generates the key and writes both files.
    pub fn new(dir: &Path, host: &str) -> Self {
        let key = rcgen::KeyPair::generate().unwrap_or_else(|err| panic!("cannot generate a key: {err}"));
        let key_file = dir.join("release.key");
        std::fs::write(&key_file, key.serialize_pem()).unwrap_or_else(|err| panic!("{err}"));
        let policy = dir.join("bundle-policy.yaml");
        std::fs::write(&policy, key_bundle_policy(host, &key.public_key_pem()))
            .unwrap_or_else(|err| panic!("{err}"));
        ReleaseKey { key, key_file, policy }
    }
}

/// An encrypted private key written by `cosign generate-key-pair` (scrypt + NaCl secretbox), whose
/// password is empty: a public test fixture of conforma/cli (`internal/validate/vsa`), which signs with
/// it under `COSIGN_PASSWORD=""`. Decrypting it checks the key derivation and cipher against cosign's
/// own output: the secretbox MAC opens only with the right key.
pub const COSIGN_ENCRYPTED_KEY: &str = "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----
eyJrZGYiOnsibmFtZSI6InNjcnlwdCIsInBhcmFtcyI6eyJOIjo2NTUzNiwiciI6
OCwicCI6MX0sInNhbHQiOiJLYU9OQzduQVJLOVgxM1FoaWFucjAwTTBGYys2Sitr
dnAxN1FuanpiVk9nPSJ9LCJjaXBoZXIiOnsibmFtZSI6Im5hY2wvc2VjcmV0Ym94
Iiwibm9uY2UiOiJVOHZqWWtqMlZOUFZGdlZFZWZ3bXZ5VGloUERrelBoaCJ9LCJj
aXBoZXJ0ZXh0IjoidWNWMnQ4TTZVNFJvb29FOXc0d3dkc3E1RDYrS2RKY245dERT
KzFwRDRGN040SVJOWEgzSTBua3h1a3NackFOUHR1emIvTkVYQ201dUp3Zjh3Qzl1
VlprbXdwNU5jRUZ6b3ZNS3JCZmNvdXdjaEkrMzkrQ0NhbVZPbzBucmRnZjhvcmpK
dXdrWDBYL1phY0RUTERGaUxyc1laMWVMMmlqMGU1MVRpZmVQNTl4WXNPK1FnM1Jv
OURRVjNQMk9ndDFDaVFHeGg1VXhUZytGc3c9PSJ9
-----END ENCRYPTED SIGSTORE PRIVATE KEY-----
";
