//! The bundle file: a reproducible tar archive. `manifest.json` comes first, then every file under
//! `sources/NAME/PATH` in sorted order, each entry with mode 0644, owner 0:0 and time 0, so the same
//! inputs give the same bytes, and so the same digest, on any machine.

use std::collections::BTreeMap;
use std::io::Read;

use sha2::{Digest, Sha256};

use crate::manifest::{BundleManifest, MANIFEST_SCHEMA};

/// The largest bundle read (policies are text; a bundle of many megabytes is a mistake or an attack).
pub const MAX_BUNDLE_BYTES: u64 = 64 << 20;

/// Why a bundle file cannot be used. Each means: do not use any policy in it.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// Not a bundle this version reads (not a tar, no manifest first, an unknown schema, an unsafe path).
    #[error("not a usable policy bundle: {0}")]
    Malformed(String),
    /// A file differs from the manifest, is missing, or is not listed in it.
    #[error("the bundle was altered: {0}")]
    Tampered(String),
}

/// A bundle as read and checked: its manifest, its files by bundle path, and its digest.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// The manifest.
    pub manifest: BundleManifest,
    /// Every file's content, by `SOURCE/PATH`.
    pub files: BTreeMap<String, Vec<u8>>,
    /// `sha256:` and the SHA-256 of the bundle's bytes.
    pub digest: String,
}

/// `sha256:HEX` of `bytes`.
pub fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Writes the bundle: the manifest, then `files` (`SOURCE/PATH` → content) in sorted order.
pub fn write_bundle(
    manifest: &BundleManifest,
    files: &BTreeMap<String, Vec<u8>>,
) -> Result<Vec<u8>, BundleError> {
    let mut builder = tar::Builder::new(Vec::new());
    builder.mode(tar::HeaderMode::Deterministic);
    let mut manifest_json =
        serde_json::to_vec_pretty(manifest).map_err(|err| BundleError::Malformed(err.to_string()))?;
    manifest_json.push(b'\n');
    append(&mut builder, "manifest.json", &manifest_json)?;
    for (path, content) in files {
        append(&mut builder, &format!("sources/{path}"), content)?;
    }
    builder.into_inner().map_err(|err| BundleError::Malformed(err.to_string()))
}

fn append(builder: &mut tar::Builder<Vec<u8>>, path: &str, content: &[u8]) -> Result<(), BundleError> {
    let mut header = tar::Header::new_ustar();
    header.set_size(content.len() as u64);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::Regular);
    builder
        .append_data(&mut header, path, content)
        .map_err(|err| BundleError::Malformed(format!("{path}: {err}")))
}

/// Reads `bytes` as a bundle and checks every file against the manifest: a file changed, missing or
/// added is refused, as is any path that could escape a directory it is unpacked into.
pub fn read_bundle(bytes: &[u8]) -> Result<Bundle, BundleError> {
    if bytes.len() as u64 > MAX_BUNDLE_BYTES {
        return Err(BundleError::Malformed(format!(
            "{} bytes; the limit is {MAX_BUNDLE_BYTES}",
            bytes.len()
        )));
    }
    let mut archive = tar::Archive::new(bytes);
    let entries =
        archive.entries().map_err(|err| BundleError::Malformed(format!("not a tar archive: {err}")))?;
    let mut manifest: Option<BundleManifest> = None;
    let mut files = BTreeMap::new();
    for entry in entries {
        let mut entry = entry.map_err(|err| BundleError::Malformed(format!("unreadable entry: {err}")))?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            return Err(BundleError::Malformed("only regular files may be in a bundle".to_owned()));
        }
        let path = entry
            .path()
            .map_err(|err| BundleError::Malformed(format!("unreadable path: {err}")))?
            .to_str()
            .map(str::to_owned)
            .ok_or_else(|| BundleError::Malformed("a path is not UTF-8".to_owned()))?;
        let mut content = Vec::new();
        entry.read_to_end(&mut content).map_err(|err| BundleError::Malformed(format!("{path}: {err}")))?;
        match (&manifest, path.as_str()) {
            (None, "manifest.json") => {
                let parsed: BundleManifest = serde_json::from_slice(&content)
                    .map_err(|err| BundleError::Malformed(format!("manifest.json: {err}")))?;
                if parsed.schema != MANIFEST_SCHEMA {
                    return Err(BundleError::Malformed(format!(
                        "manifest schema {:?}; this verdict reads {MANIFEST_SCHEMA}",
                        parsed.schema
                    )));
                }
                manifest = Some(parsed);
            }
            (None, other) => {
                return Err(BundleError::Malformed(format!("the first entry is {other}, not manifest.json")));
            }
            (Some(_), other) => {
                let inner = other
                    .strip_prefix("sources/")
                    .filter(|inner| safe_path(inner))
                    .ok_or_else(|| BundleError::Malformed(format!("unexpected or unsafe entry {other:?}")))?;
                if files.insert(inner.to_owned(), content).is_some() {
                    return Err(BundleError::Tampered(format!("{inner} appears twice")));
                }
            }
        }
    }
    let manifest = manifest.ok_or_else(|| BundleError::Malformed("empty archive".to_owned()))?;
    check_files(&manifest, &files)?;
    Ok(Bundle { manifest, files, digest: digest_of(bytes) })
}

/// Every listed file is present with its digest and size, and nothing else is.
fn check_files(manifest: &BundleManifest, files: &BTreeMap<String, Vec<u8>>) -> Result<(), BundleError> {
    let mut listed = 0;
    for source in &manifest.sources {
        for file in &source.files {
            listed += 1;
            let path = format!("{}/{}", source.name, file.path);
            let content =
                files.get(&path).ok_or_else(|| BundleError::Tampered(format!("{path} is missing")))?;
            let actual = hex::encode(Sha256::digest(content));
            if actual != file.sha256 || content.len() as u64 != file.size {
                return Err(BundleError::Tampered(format!(
                    "{path} has SHA-256 {actual}, the manifest says {}",
                    file.sha256
                )));
            }
        }
    }
    if listed != files.len() {
        let extra: Vec<&String> = files
            .keys()
            .filter(|path| {
                !manifest
                    .sources
                    .iter()
                    .any(|s| s.files.iter().any(|f| **path == format!("{}/{}", s.name, f.path)))
            })
            .collect();
        return Err(BundleError::Tampered(format!("files not in the manifest: {extra:?}")));
    }
    Ok(())
}

/// A relative path of plain segments: no `..`, no `.`, no empty segment, no absolute path.
pub fn safe_path(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && !path.contains('\\')
        && path.split('/').all(|segment| !segment.is_empty() && segment != "." && segment != "..")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::FileKind;
    use crate::manifest::{FileEntry, Origin, SourceEntry};

    fn sample() -> (BundleManifest, BTreeMap<String, Vec<u8>>) {
        let content = b"package policy\n".to_vec();
        let manifest = BundleManifest {
            schema: MANIFEST_SCHEMA.to_owned(),
            sources: vec![SourceEntry {
                name: "security".into(),
                origin: Origin::Directory { sha256: "00".repeat(32) },
                files: vec![FileEntry {
                    path: "p.rego".into(),
                    sha256: hex::encode(Sha256::digest(&content)),
                    size: content.len() as u64,
                    kind: FileKind::Rego,
                }],
            }],
            modes: Default::default(),
        };
        (manifest, BTreeMap::from([("security/p.rego".to_owned(), content)]))
    }

    #[test]
    fn a_bundle_reads_back_as_written_and_the_same_inputs_give_the_same_bytes() {
        let (manifest, files) = sample();
        let bytes = write_bundle(&manifest, &files).unwrap();
        assert_eq!(bytes, write_bundle(&manifest, &files).unwrap());
        let bundle = read_bundle(&bytes).unwrap();
        assert_eq!(bundle.manifest, manifest);
        assert_eq!(bundle.files, files);
        assert_eq!(bundle.digest, digest_of(&bytes));
    }

    #[test]
    fn altered_bundles_are_refused() {
        let (manifest, mut files) = sample();
        files.insert("security/p.rego".into(), b"package evil\n".to_vec());
        let changed = write_bundle(&manifest, &files).unwrap();
        assert!(matches!(read_bundle(&changed), Err(BundleError::Tampered(_))));
        let (manifest, mut files) = sample();
        files.insert("security/extra.rego".into(), b"package extra\n".to_vec());
        assert!(matches!(
            read_bundle(&write_bundle(&manifest, &files).unwrap()),
            Err(BundleError::Tampered(_))
        ));
        let (manifest, _) = sample();
        assert!(matches!(
            read_bundle(&write_bundle(&manifest, &BTreeMap::new()).unwrap()),
            Err(BundleError::Tampered(_))
        ));
        assert!(matches!(read_bundle(b"not a tar at all"), Err(BundleError::Malformed(_))));
    }

    #[test]
    fn paths_cannot_escape() {
        for bad in ["", "/etc/passwd", "a/../b", "./a", "a//b", "a\\b", ".."] {
            assert!(!safe_path(bad), "{bad}");
        }
        assert!(safe_path("security/k8s/pod.yaml"));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..4096)) {
            let _ = read_bundle(&bytes);
        }
    }
}
