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
