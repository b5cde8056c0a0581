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
