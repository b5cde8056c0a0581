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
const INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";

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

/// Where `bundle sign` puts the signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignatureLayout {
    /// A Sigstore bundle as an OCI 1.1 referrer of the bundle's manifest (cosign 3's layout); on a
    /// registry without the referrers API, also listed in the `sha256-HEX` referrers tag.
    #[default]
    Referrer,
    /// cosign 2's simple-signing manifest under the `sha256-HEX.sig` tag.
    LegacyTag,
}

/// Signs the bundle at `reference` with `key` in `layout`; returns the signed `REPOSITORY@DIGEST`.
/// Only a verdict bundle is signed.
pub async fn sign(
    reference: &str,
    key: &crate::sign::SigningKey,
    credentials: &Credentials,
    layout: SignatureLayout,
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
    let invalid = |err: crate::sign::KeyError| RegistryError::Invalid(err.to_string());
    match layout {
        SignatureLayout::LegacyTag => {
            let (signature_manifest, blobs) = key.legacy_signature(&repository, &digest).map_err(invalid)?;
            let tag = format!("{repository}:{}.sig", digest.replace(':', "-"));
            push_manifest_with_blobs(&client, &auth, &tag, signature_manifest, blobs, MANIFEST_MEDIA_TYPE)
                .await?;
        }
        SignatureLayout::Referrer => {
            let bundle = key.sigstore_bundle(&repository, &digest).map_err(invalid)?;
            let blob = bundle.to_string().into_bytes();
            let subject =
                serde_json::json!({"mediaType": MANIFEST_MEDIA_TYPE, "digest": digest, "size": body.len()});
            let (referrer, blobs) = referrer_manifest(blob, subject);
            let referrer_digest = sha256(&referrer);
            let size = referrer.len();
            let target = format!("{repository}@{referrer_digest}");
            push_manifest_with_blobs(&client, &auth, &target, referrer, blobs, MANIFEST_MEDIA_TYPE).await?;
            let entry = serde_json::json!({
                "mediaType": MANIFEST_MEDIA_TYPE, "digest": referrer_digest, "size": size,
                "artifactType": crate::sign::SIGSTORE_BUNDLE,
            });
            list_referrer(&client, &auth, &repository, &digest, entry).await?;
        }
    }
    Ok(format!("{repository}@{digest}"))
}

/// The referrer manifest carrying the Sigstore bundle `blob` about `subject`, and its blobs.
fn referrer_manifest(blob: Vec<u8>, subject: serde_json::Value) -> (Vec<u8>, Vec<Vec<u8>>) {
    let empty = b"{}".to_vec();
    let body = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "artifactType": crate::sign::SIGSTORE_BUNDLE,
        "config": {"mediaType": EMPTY_CONFIG_MEDIA_TYPE, "digest": sha256(&empty), "size": empty.len()},
        "layers": [{"mediaType": crate::sign::SIGSTORE_BUNDLE, "digest": sha256(&blob), "size": blob.len()}],
        "subject": subject,
        "annotations": {
            "dev.sigstore.bundle.content": "dsse-envelope",
            "dev.sigstore.bundle.predicateType": crate::sign::COSIGN_SIGN_PREDICATE,
        },
    });
    (body.to_string().into_bytes(), vec![empty, blob])
}

/// Pushes `blobs` and then `manifest` to `target` (a tag or a digest reference).
async fn push_manifest_with_blobs(
    client: &Client,
    auth: &RegistryAuth,
    target: &str,
    manifest: Vec<u8>,
    blobs: Vec<Vec<u8>>,
    media_type: &'static str,
) -> Result<(), RegistryError> {
    let image = parse(target)?;
    client.store_auth_if_needed(image.resolve_registry(), auth).await;
    client
        .auth(&image, auth, oci_client::RegistryOperation::Push)
        .await
        .map_err(|err| classify(target, err))?;
    for blob in blobs {
        let blob_digest = sha256(&blob);
        client.push_blob(&image, blob, &blob_digest).await.map_err(|err| classify(target, err))?;
    }
    let content_type = http::HeaderValue::from_static(media_type);
    client.push_manifest_raw(&image, manifest, content_type).await.map_err(|err| classify(target, err))?;
    Ok(())
}

/// Makes the referrer `entry` of `digest` findable: a registry with the referrers API lists it by
/// itself; one without it (docker-registry 2.8, many mirrors) gets the OCI referrers tag schema's
/// `sha256-HEX` index, with the entries already there kept.
async fn list_referrer(
    client: &Client,
    auth: &RegistryAuth,
    repository: &str,
    digest: &str,
    entry: serde_json::Value,
) -> Result<(), RegistryError> {
    let subject = parse(&format!("{repository}@{digest}"))?;
    let wanted = entry["digest"].as_str().unwrap_or_default().to_owned();
    let listed = match client.pull_referrers(&subject, None).await {
        Ok(index) => index.manifests.iter().any(|m| m.digest == wanted),
        Err(err) => match classify(repository, err) {
            RegistryError::NotFound(_) => false,
            other => return Err(other),
        },
    };
    if listed {
        return Ok(());
    }
    let tag = format!("{repository}:{}", digest.replace(':', "-"));
    let tag_ref = parse(&tag)?;
    let mut manifests = match client.pull_manifest_raw(&tag_ref, auth, &[INDEX_MEDIA_TYPE]).await {
        Ok((existing, _)) => serde_json::from_slice::<serde_json::Value>(&existing)
            .ok()
            .and_then(|index| index.get("manifests").and_then(|m| m.as_array()).cloned())
            .unwrap_or_default(),
        Err(err) => match classify(&tag, err) {
            RegistryError::NotFound(_) => Vec::new(),
            other => return Err(other),
        },
    };
    manifests.retain(|m| m["digest"].as_str() != Some(wanted.as_str()));
    manifests.push(entry);
    let index =
        serde_json::json!({"schemaVersion": 2, "mediaType": INDEX_MEDIA_TYPE, "manifests": manifests});
    push_manifest_with_blobs(client, auth, &tag, index.to_string().into_bytes(), Vec::new(), INDEX_MEDIA_TYPE)
        .await
}
