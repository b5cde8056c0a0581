//! A fake OCI registry for tests, on a free loopback port: serves the manifests and blobs it is given (by
//! tag and by digest) the way the distribution API does, answers the OCI 1.1 referrers API from the
//! manifests' `subject` (or 404s it, like a registry without the API), optionally behind basic auth,
//! optionally lying about a digest, and on demand failing: every request 404, 500, or slow. It takes
//! pushes too (blob uploads, monolithic or chunked, and manifests), checking each digest as a registry
//! does.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use sha2::{Digest, Sha256};

/// A manifest the registry serves.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// Its media type (the Content-Type it is served with).
    pub media_type: String,
    /// Its exact bytes.
    pub body: Vec<u8>,
    /// A Docker-Content-Digest to send instead of the true one.
    pub lie: Option<String>,
}

impl Manifest {
    /// A manifest of `media_type` with `body`, served honestly.
    pub fn new(media_type: &str, body: &[u8]) -> Self {
        Manifest { media_type: media_type.to_owned(), body: body.to_vec(), lie: None }
    }

    /// `sha256:<hex>` of the body.
    pub fn digest(&self) -> String {
        format!("sha256:{}", hex::encode(Sha256::digest(&self.body)))
    }
}

/// How the registry misbehaves, for every request, until changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fault {
    /// Serve normally.
    #[default]
    None,
    /// Answer 404 to everything.
    NotFound,
    /// Answer 500 to everything.
    ServerError,
    /// Wait this long before answering.
    Slow(Duration),
}

#[derive(Debug, Default)]
struct Contents {
    /// (repository, tag or digest) → manifest.
    manifests: BTreeMap<(String, String), Manifest>,
    /// (repository, digest) → blob.
    blobs: BTreeMap<(String, String), Vec<u8>>,
    credentials: Option<(String, String)>,
    bearer: Option<String>,
    referrers_api: bool,
    fault: Fault,
    /// Upload session id → bytes received so far.
    uploads: BTreeMap<u64, Vec<u8>>,
    next_upload: u64,
}

/// A running fake registry; stops when dropped (with its runtime).
pub struct FakeRegistry {
    address: SocketAddr,
    contents: Arc<Mutex<Contents>>,
    _runtime: tokio::runtime::Runtime,
}

fn lock(contents: &Mutex<Contents>) -> std::sync::MutexGuard<'_, Contents> {
    contents.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl FakeRegistry {
    /// Starts a registry holding `manifests` as `(repository, tag, manifest)`; each is also reachable by
    /// its digest. With `credentials`, every request needs that basic-auth user and password.
    pub fn start(manifests: Vec<(&str, &str, Manifest)>, credentials: Option<(&str, &str)>) -> Self {
        let registry = Self::empty(credentials, true);
        for (repository, tag, manifest) in manifests {
            registry.put_manifest(repository, Some(tag), manifest);
        }
        registry
    }

    /// Starts an empty registry; `referrers_api` false makes `/referrers/` answer 404, as registries
    /// without OCI 1.1 support do (clients then read the `sha256-<hex>` tag instead).
    pub fn empty(credentials: Option<(&str, &str)>, referrers_api: bool) -> Self {
        let contents = Arc::new(Mutex::new(Contents {
            credentials: credentials.map(|(u, p)| (u.to_owned(), p.to_owned())),
            referrers_api,
            ..Contents::default()
        }));
        let app = Router::new()
            .route("/v2/", axum::routing::get(root))
            .route(
                "/v2/{*rest}",
                axum::routing::get(serve).head(serve).post(upload).patch(upload).put(upload),
            )
            .with_state(contents.clone());
        let (address, runtime) = crate::serve_on_loopback(app);
        FakeRegistry { address, contents, _runtime: runtime }
    }

    /// Starts an empty registry that wants `Authorization: Bearer <token>` on every request.
    pub fn empty_with_token(token: &str, referrers_api: bool) -> Self {
        let registry = Self::empty(None, referrers_api);
        lock(&registry.contents).bearer = Some(token.to_owned());
        registry
    }

    /// Stores `manifest` in `repository`, by digest and (when given) by `tag`; returns its digest.
    pub fn put_manifest(&self, repository: &str, tag: Option<&str>, manifest: Manifest) -> String {
        let digest = manifest.digest();
        let mut contents = lock(&self.contents);
        if let Some(tag) = tag {
            contents.manifests.insert((repository.to_owned(), tag.to_owned()), manifest.clone());
        }
        contents.manifests.insert((repository.to_owned(), digest.clone()), manifest);
        digest
    }

    /// Stores a blob in `repository`; returns its digest.
    pub fn put_blob(&self, repository: &str, blob: &[u8]) -> String {
        let digest = format!("sha256:{}", hex::encode(Sha256::digest(blob)));
        lock(&self.contents).blobs.insert((repository.to_owned(), digest.clone()), blob.to_vec());
        digest
    }

    /// Stores `blob` under `digest` whatever its content: a registry (or a path to it) that serves
    /// altered bytes.
    pub fn put_blob_as(&self, repository: &str, digest: &str, blob: &[u8]) {
        lock(&self.contents).blobs.insert((repository.to_owned(), digest.to_owned()), blob.to_vec());
    }

    /// The manifest stored in `repository` under `reference` (a tag or a digest), if any.
    pub fn manifest(&self, repository: &str, reference: &str) -> Option<Manifest> {
        lock(&self.contents).manifests.get(&(repository.to_owned(), reference.to_owned())).cloned()
    }

    /// Makes every later request fail (or succeed again) as `fault` says.
    pub fn set_fault(&self, fault: Fault) {
        lock(&self.contents).fault = fault;
    }

    /// `127.0.0.1:PORT`, the registry part of image references.
    pub fn host(&self) -> String {
        self.address.to_string()
    }
}

fn authorized(contents: &Contents, headers: &HeaderMap) -> bool {
    let presented = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    if let Some(token) = &contents.bearer {
        return presented == Some(&format!("Bearer {token}"));
    }
    let Some((user, password)) = &contents.credentials else { return true };
    let expected = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) == Some(&format!("Basic {expected}"))
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({"errors": [{"code": code, "message": message}]}).to_string();
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/json"));
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Basic realm=\"fake\""));
    }
    response
}

async fn root(State(contents): State<Arc<Mutex<Contents>>>, headers: HeaderMap) -> Response {
    if !authorized(&lock(&contents), &headers) {
        return error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "authentication required");
    }
    Response::new(Body::from("{}"))
}

fn header_value(text: &str) -> header::HeaderValue {
    header::HeaderValue::from_str(text).unwrap_or_else(|e| panic!("{e}"))
}

fn content(method: &Method, media_type: &str, body: Vec<u8>, digest: &str) -> Response {
    let length = body.len();
    let body = if method == Method::HEAD { Body::empty() } else { Body::from(body) };
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, header_value(media_type));
    headers.insert(header::CONTENT_LENGTH, header_value(&length.to_string()));
    headers.insert("docker-content-digest", header_value(digest));
    response
}

async fn serve(
    State(contents): State<Arc<Mutex<Contents>>>,
    method: Method,
    headers: HeaderMap,
    Path(rest): Path<String>,
) -> Response {
    if let Some(failed) = misbehave(&contents).await {
        return failed;
    }
    let contents = lock(&contents);
    if !authorized(&contents, &headers) {
        return error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "authentication required");
    }
    if let Some((repository, reference)) = rest.rsplit_once("/manifests/") {
        let Some(manifest) = contents.manifests.get(&(repository.to_owned(), reference.to_owned())) else {
            return error(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN", "manifest unknown");
        };
        let digest = manifest.lie.clone().unwrap_or_else(|| manifest.digest());
        return content(&method, &manifest.media_type, manifest.body.clone(), &digest);
    }
    if let Some((repository, digest)) = rest.rsplit_once("/blobs/") {
        let Some(blob) = contents.blobs.get(&(repository.to_owned(), digest.to_owned())) else {
            return error(StatusCode::NOT_FOUND, "BLOB_UNKNOWN", "blob unknown");
        };
        return content(&method, "application/octet-stream", blob.clone(), digest);
    }
    if let Some((repository, digest)) = rest.rsplit_once("/referrers/") {
        if !contents.referrers_api {
            return error(StatusCode::NOT_FOUND, "NAME_UNKNOWN", "no such endpoint");
        }
        let index = referrers(&contents, repository, digest);
        return content(&method, "application/vnd.oci.image.index.v1+json", index, "");
    }
    error(StatusCode::NOT_FOUND, "NAME_UNKNOWN", "no such endpoint")
}

/// What the current [`Fault`] makes of a request: an error response, a delay, or nothing.
async fn misbehave(contents: &Mutex<Contents>) -> Option<Response> {
    let fault = lock(contents).fault;
    match fault {
        Fault::None => None,
        Fault::NotFound => Some(error(StatusCode::NOT_FOUND, "NAME_UNKNOWN", "repository unknown")),
        Fault::ServerError => Some(error(StatusCode::INTERNAL_SERVER_ERROR, "UNKNOWN", "internal error")),
        Fault::Slow(delay) => {
            tokio::time::sleep(delay).await;
            None
        }
    }
}

/// A push: `POST …/blobs/uploads/` opens a session, `PATCH` appends a chunk, `PUT …?digest=` closes it
/// (with the last bytes, or all of them for a monolithic push) and stores the blob if its digest is the
/// one claimed; `PUT …/manifests/REF` stores a manifest (by digest too).
async fn upload(
    State(contents): State<Arc<Mutex<Contents>>>,
    method: Method,
    headers: HeaderMap,
    Path(rest): Path<String>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
    body: axum::body::Bytes,
) -> Response {
    if let Some(failed) = misbehave(&contents).await {
        return failed;
    }
    let mut contents = lock(&contents);
    if !authorized(&contents, &headers) {
        return error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "authentication required");
    }
    let located = |status: StatusCode, location: String| {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = status;
        response.headers_mut().insert(header::LOCATION, header_value(&location));
        response
    };
    if let Some((repository, reference)) = rest.rsplit_once("/manifests/") {
        if method != Method::PUT {
            return error(StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED", "manifests are PUT");
        }
        let media_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/vnd.oci.image.manifest.v1+json");
        let manifest = Manifest::new(media_type, &body);
        let digest = manifest.digest();
        if reference.starts_with("sha256:") && reference != digest {
            return error(StatusCode::BAD_REQUEST, "DIGEST_INVALID", "the manifest is not the digest named");
        }
        let repository = repository.to_owned();
        if !reference.starts_with("sha256:") {
            contents.manifests.insert((repository.clone(), reference.to_owned()), manifest.clone());
        }
        contents.manifests.insert((repository.clone(), digest.clone()), manifest);
        return located(StatusCode::CREATED, format!("/v2/{repository}/manifests/{digest}"));
    }
    let Some((repository, session)) = rest.split_once("/blobs/uploads") else {
        return error(StatusCode::NOT_FOUND, "NAME_UNKNOWN", "no such endpoint");
    };
    let session = session.trim_start_matches('/');
    if method == Method::POST {
        let id = contents.next_upload;
        contents.next_upload += 1;
        contents.uploads.insert(id, Vec::new());
        return located(StatusCode::ACCEPTED, format!("/v2/{repository}/blobs/uploads/{id}"));
    }
    let Some(id) = session.parse::<u64>().ok().filter(|id| contents.uploads.contains_key(id)) else {
        return error(StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN", "upload unknown");
    };
    if let Some(received) = contents.uploads.get_mut(&id) {
        received.extend_from_slice(&body);
    }
    if method == Method::PATCH {
        return located(StatusCode::ACCEPTED, format!("/v2/{repository}/blobs/uploads/{id}"));
    }
    let claimed = query
        .as_deref()
        .unwrap_or_default()
        .split('&')
        .find_map(|pair| pair.strip_prefix("digest="))
        .map(|d| d.replace("%3A", ":").replace("%3a", ":"))
        .unwrap_or_default();
    let received = contents.uploads.remove(&id).unwrap_or_default();
    let digest = format!("sha256:{}", hex::encode(Sha256::digest(&received)));
    if digest != claimed {
        return error(StatusCode::BAD_REQUEST, "DIGEST_INVALID", "the upload is not the digest named");
    }
    contents.blobs.insert((repository.to_owned(), digest.clone()), received);
    located(StatusCode::CREATED, format!("/v2/{repository}/blobs/{digest}"))
}

/// The OCI 1.1 referrers index of `digest`: every manifest of `repository` whose `subject` names it.
fn referrers(contents: &Contents, repository: &str, digest: &str) -> Vec<u8> {
    let mut manifests = Vec::new();
    for ((repo, reference), manifest) in &contents.manifests {
        if repo != repository || !reference.starts_with("sha256:") {
            continue;
        }
        let Ok(parsed) = serde_json::from_slice::<serde_json::Value>(&manifest.body) else { continue };
        if parsed.pointer("/subject/digest").and_then(serde_json::Value::as_str) != Some(digest) {
            continue;
        }
        let mut descriptor = serde_json::json!({
            "mediaType": manifest.media_type,
            "digest": manifest.digest(),
            "size": manifest.body.len(),
        });
        if let Some(artifact_type) = parsed.get("artifactType") {
            descriptor["artifactType"] = artifact_type.clone();
        }
        if let Some(annotations) = parsed.get("annotations") {
            descriptor["annotations"] = annotations.clone();
        }
        manifests.push(descriptor);
    }
    serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests})
        .to_string()
        .into_bytes()
}
