//! The fingerprint of an OCI image: the SHA-256 of its manifest as the registry serves it (what
//! `docker pull` reports as the repo digest, and what Kosli records for `--artifact-type oci`). The
//! manifest is downloaded and hashed here; the registry's own digest header is only checked against it,
//! never trusted alone.

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use sha2::{Digest, Sha256};

/// Why an image could not be fingerprinted.
#[derive(Debug, thiserror::Error)]
pub enum OciError {
    /// The image reference does not parse.
    #[error("invalid image reference {reference:?}: {message}")]
    InvalidReference {
        /// What was given.
        reference: String,
        /// Why it does not parse.
        message: String,
    },
    /// The registry answered, but has no such image (or refused the credentials).
    #[error("{reference}: {message}")]
    NotFound {
        /// The image.
        reference: String,
        /// What the registry said.
        message: String,
    },
    /// The registry refused the credentials (or wants some).
    #[error(
        "{reference}: the registry refused access ({message}); give credentials with --registry-username and --registry-password"
    )]
    Unauthorized {
        /// The image.
        reference: String,
        /// What the registry said.
        message: String,
    },
    /// The registry served a manifest that does not match the digest it sent with it.
    #[error("{reference}: the registry served a manifest that does not match its digest ({message})")]
    Tampered {
        /// The image.
        reference: String,
        /// The expected and actual digests.
        message: String,
    },
    /// The registry could not be reached or failed.
    #[error("registry unavailable for {reference}: {message}")]
    Unavailable {
        /// The image.
        reference: String,
        /// What went wrong.
        message: String,
    },
    /// The manifest the registry served does not hash to the digest it (or the reference) claims.
    #[error(
        "{reference}: the registry served a manifest whose SHA-256 is {computed}, not the {claimed} it claims"
    )]
    DigestMismatch {
        /// The image.
        reference: String,
        /// What the registry or the reference claimed.
        claimed: String,
        /// What the served bytes hash to.
        computed: String,
    },
}

/// A registry user name and password (or token).
#[derive(Debug, Clone)]
pub struct RegistryCredentials {
    /// User name.
    pub username: String,
    /// Password or access token.
    pub password: String,
}

/// The manifest media types accepted, index types first so a multi-platform image is fingerprinted by
/// its index (as `docker pull` reports it), not by one platform's manifest.
const ACCEPTED: &[&str] = &[
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

/// The fingerprint (64 hex characters) of the image `reference` (`registry/repo:tag` or `…@sha256:…`).
pub async fn oci_fingerprint(
    reference: &str,
    credentials: Option<&RegistryCredentials>,
) -> Result<String, OciError> {
    let parsed: Reference = reference.parse().map_err(|err: oci_client::ParseError| {
        OciError::InvalidReference { reference: reference.to_owned(), message: err.to_string() }
    })?;
    let registry = parsed.resolve_registry().to_owned();
    let protocol = if verdict_core::net::is_loopback_registry(&registry) {
        ClientProtocol::Http
    } else {
        ClientProtocol::Https
    };
    let client = Client::new(ClientConfig { protocol, ..ClientConfig::default() });
    let auth = match credentials {
        Some(credentials) => RegistryAuth::Basic(credentials.username.clone(), credentials.password.clone()),
        None => RegistryAuth::Anonymous,
    };
    let (manifest, claimed) =
        client.pull_manifest_raw(&parsed, &auth, ACCEPTED).await.map_err(|err| classify(reference, err))?;
    let computed = hex::encode(Sha256::digest(&manifest));
    for claim in [Some(claimed.as_str()), parsed.digest()].into_iter().flatten() {
        if let Some(hex) = claim.strip_prefix("sha256:")
            && hex != computed
        {
            return Err(OciError::DigestMismatch {
                reference: reference.to_owned(),
                claimed: claim.to_owned(),
                computed,
            });
        }
    }
    Ok(computed)
}

fn classify(reference: &str, error: oci_client::errors::OciDistributionError) -> OciError {
    use oci_client::errors::OciDistributionError as E;
    let message = error.to_string();
    let reference = reference.to_owned();
    match error {
        E::AuthenticationFailure(_) | E::UnauthorizedError { .. } => {
            OciError::Unauthorized { reference, message }
        }
        E::ImageManifestNotFoundError(_) => OciError::NotFound { reference, message },
        E::RegistryError { envelope, .. }
            if envelope.errors.iter().any(|e| {
                matches!(
                    e.code,
                    oci_client::errors::OciErrorCode::ManifestUnknown
                        | oci_client::errors::OciErrorCode::NameUnknown
                        | oci_client::errors::OciErrorCode::Unauthorized
                        | oci_client::errors::OciErrorCode::Denied
                )
            }) =>
        {
            OciError::NotFound { reference, message }
        }
        E::DigestError(_) => OciError::Tampered { reference, message },
        _ => OciError::Unavailable { reference, message },
    }
}
