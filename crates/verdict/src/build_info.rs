//! What this binary was built from, for `--version` and bug reports.

/// `0.1.0 (commit 1a2b3c4d5e6f, built 2026-11-29)`: the crate version, the git commit and the build date
/// (stamped by build.rs; `unknown` outside a git checkout).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("VERDICT_GIT_COMMIT"),
    ", built ",
    env!("VERDICT_BUILD_DATE"),
    ")"
);
