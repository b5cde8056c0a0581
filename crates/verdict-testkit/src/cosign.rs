//! Images, signatures and attestations laid out in a registry the way cosign lays them out: an image
//! manifest; legacy signatures under the `sha256-<hex>.sig` tag (simple-signing layers with
//! annotations); Sigstore bundles as OCI 1.1 referrers (manifests whose `subject` is the image), and,
//! for registries without the referrers API, the `sha256-<hex>` tag holding the referrers index.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::registry::{FakeRegistry, Manifest};

/// Where images are pushed: the in-process fake registry, or a real one over the distribution API.
pub trait Store {
    /// Stores a blob in `repository`; returns its digest.
    fn put_blob(&self, repository: &str, blob: &[u8]) -> String;
    /// Stores a manifest (by digest, and by `tag` when given); returns its digest.
    fn put_manifest(&self, repository: &str, tag: Option<&str>, manifest: Manifest) -> String;
}

impl Store for FakeRegistry {
    fn put_blob(&self, repository: &str, blob: &[u8]) -> String {
        FakeRegistry::put_blob(self, repository, blob)
    }
    fn put_manifest(&self, repository: &str, tag: Option<&str>, manifest: Manifest) -> String {
        FakeRegistry::put_manifest(self, repository, tag, manifest)
    }
}

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const EMPTY: &str = "application/vnd.oci.empty.v1+json";
/// The artifact and layer type of a Sigstore bundle v0.3 referrer.
pub const BUNDLE_V03: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

fn descriptor(media_type: &str, digest: &str, size: usize) -> Value {
    json!({"mediaType": media_type, "digest": digest, "size": size})
}

/// Pushes a small image (`content` as its one layer) to `repository:tag`; returns its digest and its
/// manifest's size.
pub fn push_image(registry: &impl Store, repository: &str, tag: &str, content: &[u8]) -> (String, usize) {
    let config = br#"{"architecture":"amd64","os":"linux"}"#;
    let config_digest = registry.put_blob(repository, config);
    let layer_digest = registry.put_blob(repository, content);
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor("application/vnd.oci.image.config.v1+json", &config_digest, config.len()),
        "layers": [descriptor("application/vnd.oci.image.layer.v1.tar", &layer_digest, content.len())],
    });
    let body = manifest.to_string();
    (registry.put_manifest(repository, Some(tag), Manifest::new(OCI_MANIFEST, body.as_bytes())), body.len())
}

/// cosign's simple-signing payload for `name@digest`.
pub fn simple_signing_payload(name: &str, digest: &str) -> Vec<u8> {
    json!({
        "critical": {"identity": {"docker-reference": name}, "image": {"docker-manifest-digest": digest},
                     "type": "cosign container image signature"},
        "optional": null,
    })
    .to_string()
    .into_bytes()
}

/// Pushes legacy signature layers (payload, annotations) under `sha256-<hex>.sig` of `digest`.
pub fn push_legacy_signatures(
    registry: &impl Store,
    repository: &str,
    digest: &str,
    layers: &[(Vec<u8>, BTreeMap<String, String>)],
) {
    push_legacy(
        registry,
        repository,
        digest,
        "sig",
        "application/vnd.dev.cosign.simplesigning.v1+json",
        layers,
    );
}

/// Pushes legacy attestation layers (DSSE envelope, annotations) under `sha256-<hex>.att` of `digest`.
pub fn push_legacy_attestations(
    registry: &impl Store,
    repository: &str,
    digest: &str,
    layers: &[(Vec<u8>, BTreeMap<String, String>)],
) {
    push_legacy(registry, repository, digest, "att", "application/vnd.dsse.envelope.v1+json", layers);
}

fn push_legacy(
    registry: &impl Store,
    repository: &str,
    digest: &str,
    suffix: &str,
    media_type: &str,
    layers: &[(Vec<u8>, BTreeMap<String, String>)],
) {
    let config = b"{}";
    let config_digest = registry.put_blob(repository, config);
    let layers: Vec<Value> = layers
        .iter()
        .map(|(payload, annotations)| {
            let digest = registry.put_blob(repository, payload);
            let mut layer = descriptor(media_type, &digest, payload.len());
            layer["annotations"] = json!(annotations);
            layer
        })
        .collect();
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor("application/vnd.oci.image.config.v1+json", &config_digest, config.len()),
        "layers": layers,
    });
    let tag = format!("{}.{suffix}", digest.replace(':', "-"));
    registry.put_manifest(
        repository,
        Some(&tag),
        Manifest::new(OCI_MANIFEST, manifest.to_string().as_bytes()),
    );
}

/// The referrer manifest of `bundle` about the image `digest` (`subject` names the image manifest,
/// `image_size` bytes); returns (manifest JSON, bundle blob).
pub fn bundle_referrer(
    registry: &impl Store,
    repository: &str,
    digest: &str,
    image_size: usize,
    bundle: &Value,
    predicate_type: &str,
) -> Manifest {
    let blob = bundle.to_string().into_bytes();
    let blob_digest = registry.put_blob(repository, &blob);
    let empty_digest = registry.put_blob(repository, b"{}");
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": BUNDLE_V03,
        "config": descriptor(EMPTY, &empty_digest, 2),
        "layers": [descriptor(BUNDLE_V03, &blob_digest, blob.len())],
        "subject": descriptor(OCI_MANIFEST, digest, image_size),
        "annotations": {"dev.sigstore.bundle.content": "dsse-envelope", "dev.sigstore.bundle.predicateType": predicate_type},
    });
    Manifest::new(OCI_MANIFEST, manifest.to_string().as_bytes())
}

/// Pushes bundles as referrers of `digest`; with `tag_fallback`, also writes the `sha256-<hex>` tag
/// holding the referrers index (what clients do on registries without the referrers API).
pub fn push_bundles(
    registry: &impl Store,
    repository: &str,
    digest: &str,
    image_size: usize,
    bundles: &[(Value, &str)],
    tag_fallback: bool,
) {
    let mut entries = Vec::new();
    for (bundle, predicate_type) in bundles {
        let manifest = bundle_referrer(registry, repository, digest, image_size, bundle, predicate_type);
        let mut entry = descriptor(OCI_MANIFEST, &manifest.digest(), manifest.body.len());
        entry["artifactType"] = json!(BUNDLE_V03);
        registry.put_manifest(repository, None, manifest);
        entries.push(entry);
    }
    if tag_fallback {
        let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries});
        registry.put_manifest(
            repository,
            Some(&digest.replace(':', "-")),
            Manifest::new(OCI_INDEX, index.to_string().as_bytes()),
        );
    }
}

/// The predicate type of cosign's signing statement: a bundle carrying it is the image's signature.
pub const COSIGN_SIGN: &str = "https://sigstore.dev/cosign/sign/v1";

/// Pushes `host/repository:tag` (its content the repository's name) signed keyless by `who` (identity,
/// issuer) — the signing statement and an empty attestation of each of `predicate_types` — as OCI 1.1
/// referrers (and the referrers tag), the way `cosign sign` and `cosign attest` with the new bundle
/// format lay them out; returns the image's digest.
pub fn push_signed_image(
    registry: &impl Store,
    host: &str,
    sigstore: &crate::sigstore::TestSigstore,
    key: &crate::sigstore::SigningKey,
    (repository, tag): (&str, &str),
    who: (&str, &str),
    predicate_types: &[&str],
) -> String {
    use crate::sigstore::{Options, statement};
    let (digest, size) = push_image(registry, repository, tag, repository.as_bytes());
    let name = format!("{host}/{repository}");
    let bundles: Vec<(Value, &str)> = std::iter::once(COSIGN_SIGN)
        .chain(predicate_types.iter().copied())
        .map(|predicate_type| {
            let bundle = sigstore.attest(
                key,
                &statement(&name, &digest, predicate_type, json!({})),
                Some(who),
                &Options::default(),
            );
            (bundle, predicate_type)
        })
        .collect();
    // The referrers tag too, so registries without the referrers API (docker-registry 2.8) serve them.
    push_bundles(registry, repository, &digest, size, &bundles, true);
    digest
}
