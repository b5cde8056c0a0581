//! Image verification: resolve an image reference to its digest, fetch what claims to sign or attest it
//! (cosign's legacy `sha256-<hex>.sig` tag and OCI 1.1 referrers carrying Sigstore bundles, with the
//! referrers-tag fallback), turn every format into a Sigstore bundle so one verification core serves them
//! all, and decide with the image policy. Every failure, timeout or ambiguity is a failure to verify
//! (DESIGN.md rule 2); an unreachable registry is reported as such so callers can say so (exit 3).

pub mod auth;
pub mod cosign;
pub mod fetch;
pub mod verify;

pub use auth::{Credentials, credentials_for};
pub use fetch::{Candidate, FetchOptions, Fetched, ImageError, fetch, resolve_digest};
pub use verify::{check, verify_image};
