//! Bundles as policy sources: `oci://REF[@sha256:…][#PATH]` or `FILE.tar[#PATH]` wherever a command takes
//! policy files. The bundle is checked (digests, and for a registry its signatures), unpacked once into a
//! cache directory named by its digest, and the argument becomes the path inside it — so relative
//! references between policy files keep working, and a pinned reference is usable offline afterwards.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::archive::{Bundle, BundleError, read_bundle};
use crate::manifest::BundleManifest;

/// A policy argument that names something inside a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleArg {
    /// Where the bundle is.
    pub location: Location,
    /// The path inside it (`security/pod.yaml`, or a directory); `None` for the whole bundle.
    pub inner: Option<String>,
}

/// Where a bundle is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// In a registry: `registry/repository:tag` or `…@sha256:…`.
    Registry(String),
    /// A bundle file.
    File(PathBuf),
}

/// Whether `arg` names a bundle: `oci://…`, or a path ending in `.tar` (before an optional `#PATH`).
pub fn parse_arg(arg: &str) -> Option<BundleArg> {
    let (location, inner) = match arg.split_once('#') {
        Some((location, inner)) => {
            (location, Some(inner.trim_matches('/').to_owned()).filter(|i| !i.is_empty()))
        }
        None => (arg, None),
    };
    if let Some(reference) = location.strip_prefix("oci://") {
        return Some(BundleArg { location: Location::Registry(reference.to_owned()), inner });
    }
    location.ends_with(".tar").then(|| BundleArg { location: Location::File(PathBuf::from(location)), inner })
}

/// Where a policy file used from a bundle came from: what every decision should name.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PolicyProvenance {
    /// The bundle's digest (`sha256:…` of the bundle file).
    pub bundle_digest: String,
    /// The reference it was pulled by, when it came from a registry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The source it belongs to.
    pub source: String,
    /// The source's git commit, when it came from a checkout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

/// A bundle unpacked in the cache.
#[derive(Debug, Clone)]
pub struct Unpacked {
    /// The directory holding `manifest.json` and `SOURCE/PATH`.
    pub root: PathBuf,
    /// The bundle's digest.
    pub digest: String,
    /// Its manifest.
    pub manifest: BundleManifest,
}

impl Unpacked {
    /// The on-disk path of `inner` (the whole bundle for `None`); an unknown path is an error naming
    /// what the bundle holds.
    pub fn path_of(&self, inner: Option<&str>) -> Result<PathBuf, BundleError> {
        let Some(inner) = inner else { return Ok(self.root.clone()) };
        if !crate::archive::safe_path(inner) {
            return Err(BundleError::Malformed(format!("#{inner}: not a path inside a bundle")));
        }
        let path = self.root.join(inner);
        if path.exists() {
            Ok(path)
        } else {
            let sources: Vec<&str> = self.manifest.sources.iter().map(|s| s.name.as_str()).collect();
            Err(BundleError::Malformed(format!(
                "the bundle {} has no {inner} (its sources: {})",
                self.digest,
                sources.join(", ")
            )))
        }
    }

    /// The provenance of a path inside this bundle (its first segment is the source).
    pub fn provenance(&self, inner: Option<&str>, reference: Option<&str>) -> Option<PolicyProvenance> {
        let mut parts = inner?.splitn(2, '/');
        let source_name = parts.next()?;
        let rest = parts.next().unwrap_or_default();
        let source = self.manifest.sources.iter().find(|s| s.name == source_name)?;
        let (commit, below) = source.origin.commit_of(rest);
        Some(PolicyProvenance {
            bundle_digest: self.digest.clone(),
            reference: reference.map(str::to_owned),
            source: match below {
                Some(below) => format!("{}/{below}", source.name),
                None => source.name.clone(),
            },
            commit,
        })
    }
}

/// The cache directory for bundles: `$VERDICT_CACHE_DIR`, else `$XDG_CACHE_HOME/verdict/bundles`, else
/// `~/.cache/verdict/bundles`.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("VERDICT_CACHE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("verdict").join("bundles")
}

fn cache_entry(cache: &Path, digest: &str) -> PathBuf {
    cache.join(digest.replace(':', "-"))
}

/// Unpacks a checked bundle into `cache` (once: an existing entry of the same digest is reused).
/// Written beside and renamed into place, so a concurrent reader never sees half a bundle.
pub fn unpack_into_cache(bundle: &Bundle, cache: &Path) -> Result<Unpacked, BundleError> {
    let root = cache_entry(cache, &bundle.digest);
    let io =
        |what: &Path, err: std::io::Error| BundleError::Malformed(format!("cache {}: {err}", what.display()));
    if !root.join("manifest.json").exists() {
        std::fs::create_dir_all(cache).map_err(|err| io(cache, err))?;
        let staging =
            cache.join(format!(".staging-{}-{}", std::process::id(), bundle.digest.replace(':', "-")));
        let _ = std::fs::remove_dir_all(&staging);
        for (path, content) in &bundle.files {
            let target = staging.join(path);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).map_err(|err| io(parent, err))?;
            }
            std::fs::write(&target, content).map_err(|err| io(&target, err))?;
        }
        let manifest = serde_json::to_vec_pretty(&bundle.manifest)
            .map_err(|err| BundleError::Malformed(err.to_string()))?;
        std::fs::create_dir_all(&staging).map_err(|err| io(&staging, err))?;
        std::fs::write(staging.join("manifest.json"), manifest).map_err(|err| io(&staging, err))?;
        if std::fs::rename(&staging, &root).is_err() {
            // Another process put it there first: theirs is the same bytes.
            let _ = std::fs::remove_dir_all(&staging);
        }
    }
    Ok(Unpacked { root, digest: bundle.digest.clone(), manifest: bundle.manifest.clone() })
}

/// A bundle file: read, checked against its manifest, unpacked into `cache`.
pub fn unpack_file(path: &Path, cache: &Path) -> Result<Unpacked, BundleError> {
    let bytes = std::fs::read(path)
        .map_err(|err| BundleError::Malformed(format!("cannot read bundle {}: {err}", path.display())))?;
    unpack_into_cache(&read_bundle(&bytes)?, cache)
}

/// An already unpacked, already trusted bundle for a pinned `digest`, if the cache holds one that was
/// trusted under `trust_key` (the bundle policy's digest, or `insecure`): what makes a pinned reference
/// usable offline.
pub fn cached_trusted(cache: &Path, digest: &str, trust_key: &str) -> Option<Unpacked> {
    let root = cache_entry(cache, digest);
    let trusted = std::fs::read_to_string(root.join(".trusted")).ok()?;
    if !trusted.lines().any(|line| line == trust_key) {
        return None;
    }
    let manifest: BundleManifest =
        serde_json::from_slice(&std::fs::read(root.join("manifest.json")).ok()?).ok()?;
    Some(Unpacked { root, digest: digest.to_owned(), manifest })
}

/// Records that the cached bundle was trusted under `trust_key`.
pub fn mark_trusted(unpacked: &Unpacked, trust_key: &str) {
    let path = unpacked.root.join(".trusted");
    let mut keys = std::fs::read_to_string(&path).unwrap_or_default();
    if !keys.lines().any(|line| line == trust_key) {
        keys.push_str(trust_key);
        keys.push('\n');
        let _ = std::fs::write(path, keys);
    }
}

/// The key a bundle policy's trust is cached under: the SHA-256 of its text.
pub fn trust_key(policy_text: Option<&str>) -> String {
    match policy_text {
        Some(text) => format!("policy sha256:{}", hex::encode(Sha256::digest(text.as_bytes()))),
        None => "insecure-unsigned".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_arguments_are_recognised() {
        assert_eq!(
            parse_arg("oci://ghcr.io/acme/policies@sha256:ab#security/pod.yaml"),
            Some(BundleArg {
                location: Location::Registry("ghcr.io/acme/policies@sha256:ab".into()),
                inner: Some("security/pod.yaml".into())
            })
        );
        assert_eq!(
            parse_arg("bundle.tar#platform/"),
            Some(BundleArg { location: Location::File("bundle.tar".into()), inner: Some("platform".into()) })
        );
        assert_eq!(
            parse_arg("bundle.tar"),
            Some(BundleArg { location: Location::File("bundle.tar".into()), inner: None })
        );
        assert_eq!(parse_arg("policies/gate.yml"), None);
        assert_eq!(parse_arg("release-gate"), None);
    }
}
