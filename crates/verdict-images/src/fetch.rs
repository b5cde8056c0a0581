//! Fetching an image's digest, signatures and attestations from its registry (oci-client), within a
//! per-request timeout and an overall budget. What is fetched is checked against the digests that name
//! it before anything reads it.

use std::time::Duration;

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::manifest::OciImageManifest;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use serde_json::Value;
use sha2::{Digest, Sha256};
use verdict_imagepolicy::{AttestationCandidate, ImageReference};
use verdict_sigstore::Subject;

use crate::auth::Credentials;
use crate::cosign::{
    COSIGN_SIGN_PREDICATE, DSSE_LAYER, SIMPLE_SIGNING, legacy_attestation_bundle, legacy_signature_bundle,
    signed_image_digest, statement,
};

/// Why an image could not be verified at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    /// The reference is not an image reference.
    #[error("{0}")]
    InvalidReference(String),
    /// The registry has no such image.
    #[error("{reference}: no such image ({message})")]
    NotFound {
        /// The reference.
        reference: String,
        /// What the registry said.
        message: String,
    },
    /// The registry cannot be reached, failed, refused access, or took longer than allowed.
    #[error("registry unavailable for {reference}: {message}")]
    Unavailable {
        /// The reference.
        reference: String,
        /// What happened.
        message: String,
    },
    /// The registry served content that does not match the digest naming it.
    #[error("{reference}: {message}")]
    Tampered {
        /// The reference.
        reference: String,
        /// What did not match.
        message: String,
    },
}

/// How to reach the registry.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Credentials for the image's registry.
    pub credentials: Credentials,
    /// Each request's time limit.
    pub request_timeout: Duration,
    /// The time limit for fetching everything.
    pub budget: Duration,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            credentials: Credentials::Anonymous,
            request_timeout: Duration::from_secs(10),
            budget: Duration::from_secs(30),
        }
    }
}

/// Something that claims to sign or attest the image: a bundle and what it must be verified against.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Where it came from, for output (`referrer sha256:…`, `cosign .sig layer 0`).
    pub origin: String,
    /// The Sigstore bundle (JSON), converted when the registry held another format.
    pub bundle: String,
    /// What the bundle signs: the image digest (DSSE statements) or the signed payload (legacy).
    pub subject: Subject,
    /// A reason it fails whatever its signature (a legacy payload naming another image).
    pub refuse: Option<String>,
    /// The transparency log index of its entry, when it has one.
    pub log_index: Option<u64>,
}

/// What the registry holds for one image.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The image digest, computed from the manifest served.
    pub digest: String,
    /// Signatures of the image.
    pub signatures: Vec<Candidate>,
    /// Attestations about the image.
    pub attestations: Vec<AttestationCandidate<Candidate>>,
    /// What was found but could not be used, and why.
    pub skipped: Vec<String>,
}

const MANIFESTS: &[&str] = &[
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

/// The registry client for one image.
struct Registry {
    client: Client,
    auth: RegistryAuth,
    reference: String,
}

impl Registry {
    fn error(&self, error: oci_client::errors::OciDistributionError) -> ImageError {
        use oci_client::errors::OciDistributionError as E;
        let message = error.to_string();
        let reference = self.reference.clone();
        match error {
            E::ImageManifestNotFoundError(_) => ImageError::NotFound { reference, message },
            E::RegistryError { envelope, .. }
                if envelope.errors.iter().any(|e| {
                    matches!(
                        e.code,
                        oci_client::errors::OciErrorCode::ManifestUnknown
                            | oci_client::errors::OciErrorCode::NameUnknown
                    )
                }) =>
            {
                ImageError::NotFound { reference, message }
            }
            E::AuthenticationFailure(_) | E::UnauthorizedError { .. } => ImageError::Unavailable {
                reference,
                message: format!(
                    "{message}; give credentials with --registry-username/--registry-password or `docker login`"
                ),
            },
            _ => ImageError::Unavailable { reference, message },
        }
    }

    /// A manifest's bytes, checked: they must hash to `expected` when given, and to what the registry
    /// claims.
    async fn manifest(
        &self,
        reference: &Reference,
        expected: Option<&str>,
    ) -> Result<(Vec<u8>, String), ImageError> {
        let (bytes, claimed) = self
            .client
            .pull_manifest_raw(reference, &self.auth, MANIFESTS)
            .await
            .map_err(|err| self.error(err))?;
        let computed = format!("sha256:{}", hex::encode(Sha256::digest(&bytes)));
        for claim in [Some(claimed.as_str()), expected].into_iter().flatten() {
            if claim.starts_with("sha256:") && claim != computed {
                return Err(ImageError::Tampered {
                    reference: reference.whole(),
                    message: format!(
                        "the registry served a manifest whose digest is {computed}, not {claim}"
                    ),
                });
            }
        }
        Ok((bytes.to_vec(), computed))
    }

    /// A blob, checked against its descriptor's digest.
    async fn blob(
        &self,
        reference: &Reference,
        descriptor: &oci_client::manifest::OciDescriptor,
    ) -> Result<Vec<u8>, ImageError> {
        let mut bytes = Vec::new();
        self.client.pull_blob(reference, descriptor, &mut bytes).await.map_err(|err| self.error(err))?;
        let computed = format!("sha256:{}", hex::encode(Sha256::digest(&bytes)));
        if computed != descriptor.digest {
            return Err(ImageError::Tampered {
                reference: reference.whole(),
                message: format!(
                    "the registry served a blob whose digest is {computed}, not {}",
                    descriptor.digest
                ),
            });
        }
        Ok(bytes)
    }
}

/// Resolves `image` to its digest and fetches its signatures and attestations, within `options`'
/// time limits.
pub async fn fetch(image: &ImageReference, options: &FetchOptions) -> Result<Fetched, ImageError> {
    let text = image.to_string();
    match tokio::time::timeout(options.budget, fetch_within(image, options)).await {
        Ok(result) => result,
        Err(_) => Err(ImageError::Unavailable {
            reference: text,
            message: format!("fetching took longer than the {} s budget", options.budget.as_secs_f64()),
        }),
    }
}

/// Resolves `image` to the digest of the manifest its registry serves (checked against the bytes, and
/// against the reference's own digest when it has one), within `options`' time limits: what a cache of
/// verification results is keyed by, since a tag can move.
pub async fn resolve_digest(image: &ImageReference, options: &FetchOptions) -> Result<String, ImageError> {
    let text = image.to_string();
    let resolve = async {
        let (registry, reference) = registry_for(image, options)?;
        registry.manifest(&reference, image.digest.as_deref()).await.map(|(_, digest)| digest)
    };
    match tokio::time::timeout(options.budget, resolve).await {
        Ok(result) => result,
        Err(_) => Err(ImageError::Unavailable {
            reference: text,
            message: format!(
                "resolving the digest took longer than the {} s budget",
                options.budget.as_secs_f64()
            ),
        }),
    }
}

/// A registry client shared by every fetch with the same protocol, time limits and credentials, so a
/// long-running process (the admission webhook) keeps its connections and tokens instead of opening new
/// ones for each image. Credentials are part of the key: a token obtained with one set is never used
/// for another.
fn shared_client(protocol: ClientProtocol, options: &FetchOptions) -> Client {
    type Key = (bool, Duration, u64);
    static CLIENTS: std::sync::OnceLock<std::sync::Mutex<std::collections::HashMap<Key, Client>>> =
        std::sync::OnceLock::new();
    let credentials = {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        match &options.credentials {
            Credentials::Anonymous => 0u8.hash(&mut hasher),
            Credentials::Basic { username, password } => (1u8, username, password).hash(&mut hasher),
            Credentials::Bearer(token) => (2u8, token).hash(&mut hasher),
        }
        hasher.finish()
    };
    let key = (matches!(protocol, ClientProtocol::Http), options.request_timeout, credentials);
    let mut clients =
        CLIENTS.get_or_init(Default::default).lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    // Bounded: a process that sees many distinct credentials starts over rather than grow.
    if clients.len() >= 64 {
        clients.clear();
    }
    clients
        .entry(key)
        .or_insert_with(|| {
            Client::new(ClientConfig {
                protocol,
                read_timeout: Some(options.request_timeout),
                connect_timeout: Some(options.request_timeout),
                ..ClientConfig::default()
            })
        })
        .clone()
}

/// The registry client for `image` and its parsed reference.
fn registry_for(image: &ImageReference, options: &FetchOptions) -> Result<(Registry, Reference), ImageError> {
    let text = image.to_string();
    let reference =
        text.parse::<Reference>().map_err(|err| ImageError::InvalidReference(format!("{text}: {err}")))?;
    let protocol = if verdict_core::net::is_loopback_registry(&image.registry) {
        ClientProtocol::Http
    } else {
        ClientProtocol::Https
    };
    let client = shared_client(protocol, options);
    let auth = match &options.credentials {
        Credentials::Anonymous => RegistryAuth::Anonymous,
        Credentials::Basic { username, password } => RegistryAuth::Basic(username.clone(), password.clone()),
        Credentials::Bearer(token) => RegistryAuth::Bearer(token.clone()),
    };
    Ok((Registry { client, auth, reference: text }, reference))
}

async fn fetch_within(image: &ImageReference, options: &FetchOptions) -> Result<Fetched, ImageError> {
    let parse = |reference: &str| {
        reference
            .parse::<Reference>()
            .map_err(|err| ImageError::InvalidReference(format!("{reference}: {err}")))
    };
    let (registry, reference) = registry_for(image, options)?;
    let (_, digest) = registry.manifest(&reference, image.digest.as_deref()).await?;
    let hex = digest.trim_start_matches("sha256:").to_owned();
    let name = image.name();
    let mut fetched = Fetched {
        digest: digest.clone(),
        signatures: Vec::new(),
        attestations: Vec::new(),
        skipped: Vec::new(),
    };

    // cosign's legacy signature tag.
    let signature_tag = parse(&format!("{name}:sha256-{hex}.sig"))?;
    match registry.manifest(&signature_tag, None).await {
        Ok((bytes, _)) => legacy_signatures(&registry, &signature_tag, &bytes, &digest, &mut fetched).await?,
        Err(ImageError::NotFound { .. }) => {}
        Err(err) => return Err(err),
    }

    // cosign's legacy attestation tag.
    let attestation_tag = parse(&format!("{name}:sha256-{hex}.att"))?;
    match registry.manifest(&attestation_tag, None).await {
        Ok((bytes, _)) => {
            legacy_attestations(&registry, &attestation_tag, &bytes, &hex, &mut fetched).await?
        }
        Err(ImageError::NotFound { .. }) => {}
        Err(err) => return Err(err),
    }

    // OCI 1.1 referrers (oci-client falls back to the `sha256-<hex>` tag when the API is missing).
    let by_digest = parse(&format!("{name}@{digest}"))?;
    let index = match registry.client.pull_referrers(&by_digest, None).await {
        Ok(index) => index.manifests,
        Err(err) => match registry.error(err) {
            ImageError::NotFound { .. } => Vec::new(),
            other => return Err(other),
        },
    };
    for entry in index {
        let is_bundle = entry
            .artifact_type
            .as_deref()
            .is_some_and(|t| t.starts_with("application/vnd.dev.sigstore.bundle"));
        if !is_bundle {
            fetched.skipped.push(format!(
                "referrer {}: artifact type {:?} is not a Sigstore bundle",
                entry.digest, entry.artifact_type
            ));
            continue;
        }
        let manifest_ref = parse(&format!("{name}@{}", entry.digest))?;
        let (bytes, _) = registry.manifest(&manifest_ref, Some(&entry.digest)).await?;
        let manifest: OciImageManifest = match serde_json::from_slice(&bytes) {
            Ok(manifest) => manifest,
            Err(err) => {
                fetched.skipped.push(format!("referrer {}: not an image manifest ({err})", entry.digest));
                continue;
            }
        };
        for layer in
            manifest.layers.iter().filter(|l| l.media_type.starts_with("application/vnd.dev.sigstore.bundle"))
        {
            let blob = registry.blob(&manifest_ref, layer).await?;
            let origin = format!("referrer {}", entry.digest);
            match bundle_candidate(&origin, &blob, &hex) {
                Ok(Found::Signature(candidate)) => fetched.signatures.push(candidate),
                Ok(Found::Attestation(candidate)) => fetched.attestations.push(candidate),
                Err(reason) => fetched.skipped.push(format!("{origin}: {reason}")),
            }
        }
    }
    Ok(fetched)
}

enum Found {
    Signature(Candidate),
    Attestation(AttestationCandidate<Candidate>),
}

fn log_index(bundle: &Value) -> Option<u64> {
    bundle.pointer("/verificationMaterial/tlogEntries/0/logIndex").and_then(|v| match v {
        Value::String(text) => text.parse().ok(),
        other => other.as_u64(),
    })
}

/// A bundle found as a referrer: a signature (cosign's sign statement) or an attestation.
fn bundle_candidate(origin: &str, blob: &[u8], image_hex: &str) -> Result<Found, String> {
    let text = String::from_utf8(blob.to_vec()).map_err(|_| "the bundle is not UTF-8".to_owned())?;
    let value: Value = serde_json::from_str(&text).map_err(|err| format!("the bundle is not JSON: {err}"))?;
    let parsed = statement(&value).map_err(|reason| {
        format!("{reason} (a bundle for an image must hold an in-toto statement about it)")
    })?;
    let candidate = Candidate {
        origin: origin.to_owned(),
        log_index: log_index(&value),
        bundle: text,
        subject: Subject::Digest(image_hex.to_owned()),
        refuse: None,
    };
    if parsed.predicate_type == COSIGN_SIGN_PREDICATE {
        return Ok(Found::Signature(candidate));
    }
    Ok(Found::Attestation(AttestationCandidate {
        envelope: candidate,
        predicate_type: parsed.predicate_type,
        subject_digests: parsed.subject_digests,
        predicate: parsed.predicate,
    }))
}

/// A legacy tag's manifest, or `None` (noted in `skipped`) when it is not an image manifest.
fn legacy_manifest(tag: &Reference, manifest: &[u8], fetched: &mut Fetched) -> Option<OciImageManifest> {
    match serde_json::from_slice(manifest) {
        Ok(manifest) => Some(manifest),
        Err(err) => {
            fetched.skipped.push(format!("{}: not an image manifest ({err})", tag.whole()));
            None
        }
    }
}

/// The DSSE layers of a legacy `.att` manifest, as attestation candidates.
async fn legacy_attestations(
    registry: &Registry,
    tag: &Reference,
    manifest: &[u8],
    image_hex: &str,
    fetched: &mut Fetched,
) -> Result<(), ImageError> {
    let Some(manifest) = legacy_manifest(tag, manifest, fetched) else { return Ok(()) };
    for (index, layer) in manifest.layers.iter().enumerate() {
        let origin = format!("cosign .att layer {index}");
        if layer.media_type != DSSE_LAYER {
            fetched.skipped.push(format!("{origin}: media type {} is not a DSSE envelope", layer.media_type));
            continue;
        }
        let envelope = registry.blob(tag, layer).await?;
        let annotations = layer.annotations.clone().unwrap_or_default();
        let converted = legacy_attestation_bundle(&envelope, &annotations)
            .and_then(|bundle| statement(&bundle).map(|statement| (bundle, statement)));
        let (bundle, statement) = match converted {
            Ok(converted) => converted,
            Err(reason) => {
                fetched.skipped.push(format!("{origin}: {reason}"));
                continue;
            }
        };
        fetched.attestations.push(AttestationCandidate {
            envelope: Candidate {
                origin,
                log_index: log_index(&bundle),
                bundle: bundle.to_string(),
                subject: Subject::Digest(image_hex.to_owned()),
                refuse: None,
            },
            predicate_type: statement.predicate_type,
            subject_digests: statement.subject_digests,
            predicate: statement.predicate,
        });
    }
    Ok(())
}

/// The simple-signing layers of a legacy `.sig` manifest, as candidates.
async fn legacy_signatures(
    registry: &Registry,
    tag: &Reference,
    manifest: &[u8],
    digest: &str,
    fetched: &mut Fetched,
) -> Result<(), ImageError> {
    let Some(manifest) = legacy_manifest(tag, manifest, fetched) else { return Ok(()) };
    for (index, layer) in manifest.layers.iter().enumerate() {
        let origin = format!("cosign .sig layer {index}");
        if layer.media_type != SIMPLE_SIGNING {
            fetched
                .skipped
                .push(format!("{origin}: media type {} is not a cosign signature", layer.media_type));
            continue;
        }
        let payload = registry.blob(tag, layer).await?;
        let annotations = layer.annotations.clone().unwrap_or_default();
        let bundle = match legacy_signature_bundle(&payload, &annotations) {
            Ok(bundle) => bundle,
            Err(reason) => {
                fetched.skipped.push(format!("{origin}: {reason}"));
                continue;
            }
        };
        let refuse = match signed_image_digest(&payload) {
            Ok(named) if named == digest => None,
            Ok(named) => Some(format!("the signed payload names {named}, not the image {digest}")),
            Err(reason) => Some(reason),
        };
        fetched.signatures.push(Candidate {
            origin,
            log_index: log_index(&bundle),
            bundle: bundle.to_string(),
            subject: Subject::Bytes(payload),
            refuse,
        });
    }
    Ok(())
}
