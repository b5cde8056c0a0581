//! `manifest.json`: what a bundle holds and where each part comes from.

use serde::{Deserialize, Serialize};

use crate::classify::FileKind;

/// The manifest format this build writes.
pub const MANIFEST_SCHEMA: &str = "verdict.dev/bundle/v1";

/// The manifest of a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleManifest {
    /// Always [`MANIFEST_SCHEMA`].
    pub schema: String,
    /// The sources, by name.
    pub sources: Vec<SourceEntry>,
    /// The default mode of each enforcement point using the bundle (`local`, `ci`, `admission` →
    /// `audit`, `warn` or `enforce`): one bundle, progressively enforced. A command's `--mode` wins.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub modes: std::collections::BTreeMap<String, String>,
}

/// The enforcement points a bundle can set a default mode for.
pub const ENFORCEMENT_POINTS: [&str; 3] = ["local", "ci", "admission"];
/// The modes, weakest first.
pub const MODES: [&str; 3] = ["audit", "warn", "enforce"];

/// One named source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceEntry {
    /// Its name (`security`, `platform`): the first segment of its files' paths in the bundle.
    pub name: String,
    /// Where it comes from.
    pub origin: Origin,
    /// Its files, sorted by path.
    pub files: Vec<FileEntry>,
}

/// Where a source comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Origin {
    /// A directory inside a git checkout.
    Git {
        /// The remote's URL, when the checkout has one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        url: Option<String>,
        /// The commit checked out when the bundle was built.
        commit: String,
        /// The directory inside the repository (`""` for its root).
        path: String,
    },
    /// A directory outside any checkout: the SHA-256 of its files' paths and digests.
    Directory {
        /// That digest.
        sha256: String,
    },
    /// Another bundle (`--source NAME=oci://REF` or `NAME=FILE.tar`): its files are filed under
    /// `NAME/ITS-SOURCE/PATH`, and its sources' origins are kept, so a policy's commit stays known.
    Bundle {
        /// The registry reference it was pulled by, or the file it was read from.
        reference: String,
        /// The SHA-256 of that bundle file (`sha256:…`).
        digest: String,
        /// That bundle's sources, by name, with their origins.
        sources: Vec<NestedSource>,
    },
}

/// A source of a bundle used as a source of another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NestedSource {
    /// Its name in that bundle.
    pub name: String,
    /// Where it came from.
    pub origin: Origin,
}

impl Origin {
    /// The git commit of the file at `path` (relative to the source this origin belongs to): the
    /// checkout's commit, or for a bundle source the commit of the nested source `path` starts with.
    /// Returns also the source's name below this one (`security` of `upstream/security/…`), if any.
    pub fn commit_of(&self, path: &str) -> (Option<String>, Option<String>) {
        match self {
            Origin::Git { commit, .. } => (Some(commit.clone()), None),
            Origin::Directory { .. } => (None, None),
            Origin::Bundle { sources, .. } => {
                let mut parts = path.splitn(2, '/');
                let first = parts.next().unwrap_or_default();
                let rest = parts.next().unwrap_or_default();
                match sources.iter().find(|s| s.name == first) {
                    Some(nested) => {
                        let (commit, below) = nested.origin.commit_of(rest);
                        let name = match below {
                            Some(below) => format!("{first}/{below}"),
                            None => first.to_owned(),
                        };
                        (commit, Some(name))
                    }
                    None => (None, None),
                }
            }
        }
    }
}

/// One file of a source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Its path inside the source (`/`-separated).
    pub path: String,
    /// The SHA-256 of its content.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// What verdict reads it as.
    pub kind: FileKind,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nested_bundle_keeps_each_sources_commit_and_reads_back() {
        let git = |commit: &str| Origin::Git { url: None, commit: commit.to_owned(), path: String::new() };
        let inner = Origin::Bundle {
            reference: "inner.tar".to_owned(),
            digest: "sha256:aa".to_owned(),
            sources: vec![NestedSource { name: "security".to_owned(), origin: git("c1") }],
        };
        let outer = Origin::Bundle {
            reference: "oci://registry.example/acme/upstream:v1".to_owned(),
            digest: "sha256:bb".to_owned(),
            sources: vec![
                NestedSource { name: "deep".to_owned(), origin: inner },
                NestedSource {
                    name: "docs".to_owned(),
                    origin: Origin::Directory { sha256: "00".to_owned() },
                },
            ],
        };
        assert_eq!(
            outer.commit_of("deep/security/gate.yml"),
            (Some("c1".to_owned()), Some("deep/security".to_owned()))
        );
        assert_eq!(outer.commit_of("docs/readme.md"), (None, Some("docs".to_owned())));
        assert_eq!(outer.commit_of("missing/x"), (None, None));
        assert_eq!(git("c2").commit_of("any/path"), (Some("c2".to_owned()), None));
        let text = serde_json::to_string(&outer).unwrap();
        assert_eq!(serde_json::from_str::<Origin>(&text).unwrap(), outer);
        assert!(text.contains(r#""type":"bundle""#), "{text}");
    }
}
