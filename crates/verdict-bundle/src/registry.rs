//! Bundles in OCI registries: an OCI 1.1 artifact (its own `artifactType`, the empty config, one layer
//! holding the bundle file), so any registry stores it — with or without the referrers API — and the
//! manifest digest pins one bundle.

use std::collections::BTreeMap;

use oci_client::client::{ClientConfig, ClientProtocol, Config, ImageLayer};
use oci_client::manifest::{OciDescriptor, OciImageManifest};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use sha2::{Digest, Sha256};

use crate::archive::{Bundle, BundleError, read_bundle};

/// The artifact type of a bundle's manifest.
pub const ARTIFACT_TYPE: &str = "application/vnd.verdict.bundle.v1";
/// The media type of the layer that holds the bundle file.
pub const LAYER_MEDIA_TYPE: &str = "application/vnd.verdict.bundle.layer.v1.tar";
/// OCI's empty config (`{}`), as artifacts without a config use.
pub const EMPTY_CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";
const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";

/// Why a registry operation failed. Every one means: no bundle from there is used.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// A malformed reference or refused credentials (exit 2).
    #[error("{0}")]
    Invalid(String),
    /// The reference names nothing, or something that is not a bundle (exit 2).
    #[error("{0}")]
    NotFound(String),
    /// The registry could not be reached or failed (exit 3).
    #[error("{0}")]
    Unavailable(String),
    /// What the registry served does not match its digests, or the bundle in it was altered (exit 1).
    #[error("{0}")]
    Tampered(String),
    /// The bundle is not signed as the bundle policy requires (exit 1).
    #[error("{0}")]
    Untrusted(String),
}

/// A pulled bundle and the manifest digest it was pulled by.
#[derive(Debug, Clone)]
pub struct Pulled {
    /// The bundle (already checked against its manifest).
    pub bundle: Bundle,
    /// The bundle file's bytes.
    pub bytes: Vec<u8>,
    /// `sha256:…` of the OCI manifest: what `REF@sha256:…` pins.
    pub manifest_digest: String,
}

/// Registry credentials: anonymous without them.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    /// User and password (or token), when given.
    pub basic: Option<(String, String)>,
}

fn client_for(reference: &Reference) -> Client {
    let protocol = if verdict_core::net::is_loopback_registry(reference.resolve_registry()) {
        ClientProtocol::Http
    } else {
        ClientProtocol::Https
    };
    Client::new(ClientConfig { protocol, ..ClientConfig::default() })
}

fn auth(credentials: &Credentials) -> RegistryAuth {
    match &credentials.basic {
        Some((user, password)) => RegistryAuth::Basic(user.clone(), password.clone()),
        None => RegistryAuth::Anonymous,
    }
}

fn parse(text: &str) -> Result<Reference, RegistryError> {
    text.parse::<Reference>()
        .map_err(|err| RegistryError::Invalid(format!("{text}: not an image reference: {err}")))
}

fn classify(reference: &str, error: oci_client::errors::OciDistributionError) -> RegistryError {
    use oci_client::errors::OciDistributionError as E;
    let message = format!("{reference}: {}", error);
    match error {
        E::ImageManifestNotFoundError(_) => RegistryError::NotFound(message),
        E::RegistryError { envelope, .. }
            if envelope.errors.iter().any(|e| {
                matches!(
                    e.code,
                    oci_client::errors::OciErrorCode::ManifestUnknown
                        | oci_client::errors::OciErrorCode::NameUnknown
                        | oci_client::errors::OciErrorCode::BlobUnknown
                )
            }) =>
        {
            RegistryError::NotFound(message)
        }
        E::AuthenticationFailure(_) | E::UnauthorizedError { .. } => {
            RegistryError::Invalid(format!("{message}; give --registry-username and --registry-password"))
        }
        E::DigestError(_) => RegistryError::Tampered(message),
        _ => RegistryError::Unavailable(message),
    }
}

/// `sha256:HEX` of `bytes`.
fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// The manifest at `image` and the digest of its bytes, refused when `image` pins another digest. The
/// digest the registry names it by is not trusted: verdict goes by the bytes.
async fn fetch_manifest(
    client: &Client,
    image: &Reference,
    auth: &RegistryAuth,
    reference: &str,
) -> Result<(bytes::Bytes, String), RegistryError> {
    let (body, _) = client
        .pull_manifest_raw(image, auth, &[MANIFEST_MEDIA_TYPE])
        .await
        .map_err(|err| classify(reference, err))?;
    let digest = sha256(&body);
    if let Some(pinned) = image.digest()
        && pinned != digest
    {
        return Err(RegistryError::Tampered(format!(
            "{reference}: the registry served a manifest with digest {digest}, not the pinned {pinned}"
        )));
    }
    Ok((body, digest))
}

/// Pushes the bundle file `bytes` to `reference` (a tag); returns the manifest digest. The bundle is
/// read back first: only a well-formed bundle is published.
pub async fn push(bytes: &[u8], reference: &str, credentials: &Credentials) -> Result<String, RegistryError> {
    read_bundle(bytes).map_err(|err| RegistryError::Invalid(err.to_string()))?;
    let image = parse(reference)?;
    let client = client_for(&image);
    let auth = auth(credentials);
    let layer = ImageLayer::new(
        bytes.to_vec(),
        LAYER_MEDIA_TYPE.to_owned(),
        Some(BTreeMap::from([("org.opencontainers.image.title".to_owned(), "bundle.tar".to_owned())])),
    );
    let config = Config::new(b"{}".to_vec(), EMPTY_CONFIG_MEDIA_TYPE.to_owned(), None);
    let mut manifest = OciImageManifest::build(std::slice::from_ref(&layer), &config, None);
    manifest.media_type = Some(MANIFEST_MEDIA_TYPE.to_owned());
    manifest.artifact_type = Some(ARTIFACT_TYPE.to_owned());
    let body = serde_json::to_vec(&manifest).map_err(|err| RegistryError::Invalid(err.to_string()))?;
    let digest = sha256(&body);
    client.store_auth_if_needed(image.resolve_registry(), &auth).await;
    client
        .auth(&image, &auth, oci_client::RegistryOperation::Push)
        .await
        .map_err(|err| classify(reference, err))?;
    for (data, descriptor) in
        [(layer.data.clone(), &manifest.layers[0]), (config.data.clone(), &manifest.config)]
    {
        client.push_blob(&image, data, &descriptor.digest).await.map_err(|err| classify(reference, err))?;
    }
    let content_type = http::HeaderValue::from_static(MANIFEST_MEDIA_TYPE);
    client.push_manifest_raw(&image, body, content_type).await.map_err(|err| classify(reference, err))?;
    Ok(digest)
}

/// Pulls the bundle at `reference` (`REF:tag` or `REF@sha256:…`) and checks it all the way down: the
/// manifest against a pinned digest, the layer against the manifest, and the bundle's files against its
/// own manifest. Nothing unchecked is returned.
pub async fn pull(reference: &str, credentials: &Credentials) -> Result<Pulled, RegistryError> {
    let image = parse(reference)?;
    let client = client_for(&image);
    let auth = auth(credentials);
    let (body, manifest_digest) = fetch_manifest(&client, &image, &auth, reference).await?;
    let manifest: OciImageManifest = serde_json::from_slice(&body)
        .map_err(|err| RegistryError::NotFound(format!("{reference}: not an OCI image manifest: {err}")))?;
    let layer: &OciDescriptor = match manifest.layers.as_slice() {
        [layer] if layer.media_type == LAYER_MEDIA_TYPE => layer,
        _ => {
            return Err(RegistryError::NotFound(format!(
                "{reference} is not a verdict policy bundle (artifact type {:?}; a bundle has one {LAYER_MEDIA_TYPE} layer)",
                manifest.artifact_type
            )));
        }
    };
    let mut bytes = Vec::new();
    client.pull_blob(&image, layer, &mut bytes).await.map_err(|err| classify(reference, err))?;
    if sha256(&bytes) != layer.digest {
        return Err(RegistryError::Tampered(format!(
            "{reference}: the bundle layer has digest {}, the manifest says {}",
            sha256(&bytes),
            layer.digest
        )));
    }
    let bundle = read_bundle(&bytes).map_err(|err| match err {
        BundleError::Tampered(_) => RegistryError::Tampered(format!("{reference}: {err}")),
        BundleError::Malformed(_) => RegistryError::NotFound(format!("{reference}: {err}")),
    })?;
    Ok(Pulled { bundle, bytes, manifest_digest })
}

/// `registry/repository` of `registry/repository:tag` or `…@sha256:…`.
pub fn repository_of(reference: &Reference) -> String {
    format!("{}/{}", reference.resolve_registry(), reference.repository())
}

/// Signs the bundle at `reference` with `key` (cosign's key-based signature format, under the
/// `sha256-HEX.sig` tag); returns the signed `REPOSITORY@DIGEST`. Only a verdict bundle is signed.
pub async fn sign(
    reference: &str,
    key: &crate::sign::SigningKey,
    credentials: &Credentials,
) -> Result<String, RegistryError> {
    let image = parse(reference)?;
    let client = client_for(&image);
    let auth = auth(credentials);
    let (body, digest) = fetch_manifest(&client, &image, &auth, reference).await?;
    let manifest: OciImageManifest = serde_json::from_slice(&body)
        .map_err(|err| RegistryError::NotFound(format!("{reference}: not an OCI image manifest: {err}")))?;
    if manifest.artifact_type.as_deref() != Some(ARTIFACT_TYPE) {
        return Err(RegistryError::NotFound(format!(
            "{reference} is not a verdict policy bundle: not signed"
        )));
    }
    let repository = repository_of(&image);
    let (signature_manifest, blobs) =
        key.legacy_signature(&repository, &digest).map_err(|err| RegistryError::Invalid(err.to_string()))?;
    let tag = format!("{repository}:{}.sig", digest.replace(':', "-"));
    let target = parse(&tag)?;
    client
        .auth(&target, &auth, oci_client::RegistryOperation::Push)
        .await
        .map_err(|err| classify(&tag, err))?;
    for blob in blobs {
        let blob_digest = sha256(&blob);
        client.push_blob(&target, blob, &blob_digest).await.map_err(|err| classify(&tag, err))?;
    }
    let content_type = http::HeaderValue::from_static(MANIFEST_MEDIA_TYPE);
    client
        .push_manifest_raw(&target, signature_manifest, content_type)
        .await
        .map_err(|err| classify(&tag, err))?;
    Ok(format!("{repository}@{digest}"))
}
