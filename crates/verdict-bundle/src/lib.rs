//! Policy bundles: one versioned artifact holding every policy a team enforces, gathered from several
//! named sources (a security team's repository, a platform team's, curated upstream policies).
//!
//! A bundle is a tar archive whose first entry, `manifest.json`, names each source with its origin (git
//! remote and commit, read without a `git` binary, or a digest of its content) and every file with its
//! SHA-256 and kind; the files follow under `sources/NAME/`. Building validates every policy and runs the
//! bundle's own tests, and identical inputs give byte-identical bundles, so the bundle's digest names
//! exactly one set of policies.

pub mod archive;
pub mod build;
pub mod classify;
mod cosign_key;
pub mod manifest;
pub mod registry;
pub mod resolve;
pub mod sign;
pub mod trust;

pub use archive::{Bundle, BundleError, read_bundle, write_bundle};
pub use build::{BuildError, BuildOptions, BuildReport, Problem, SourceDir, TestFailure, build};
pub use classify::FileKind;
pub use manifest::{BundleManifest, FileEntry, Origin, SourceEntry};
