//! Evidence producers: what verdict computes from the things it is asked about before anything is
//! recorded. Today: artifact fingerprints, bit-for-bit compatible with Kosli's, so a fingerprint reported
//! by either tool names the same artifact; for OCI images, the manifest digest in the registry. And the
//! processed results of typed attestations: JUnit test counts and SARIF finding counts.

pub mod custom;
pub mod docker_engine;
pub mod fingerprint;
pub mod git;
pub mod http_api;
pub mod jira;
pub mod junit;
pub mod oci;
pub mod pullrequest;
pub mod sarif;
pub mod sonar;

pub use fingerprint::{FingerprintError, dir_fingerprint, file_fingerprint, read_ignore_file};
pub use oci::{OciError, RegistryCredentials, oci_fingerprint};
