//! A fake OCI registry for tests, on a free loopback port: serves the manifests it is given (by tag and
//! by digest) the way the distribution API does, optionally behind basic auth, optionally lying about a
//! digest (to test that clients check what they are served).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

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

#[derive(Debug, Default)]
struct Contents {
    /// (repository, tag or digest) → manifest.
    manifests: BTreeMap<(String, String), Manifest>,
    credentials: Option<(String, String)>,
}

/// A running fake registry; stops when dropped (with its runtime).
pub struct FakeRegistry {
    address: SocketAddr,
    _runtime: tokio::runtime::Runtime,
}

impl FakeRegistry {
    /// Starts a registry holding `manifests` as `(repository, tag, manifest)`; each is also reachable by
    /// its digest. With `credentials`, every request needs that basic-auth user and password.
    pub fn start(manifests: Vec<(&str, &str, Manifest)>, credentials: Option<(&str, &str)>) -> Self {
        let mut contents = Contents::default();
        for (repository, tag, manifest) in manifests {
            contents.manifests.insert((repository.to_owned(), manifest.digest()), manifest.clone());
            contents.manifests.insert((repository.to_owned(), tag.to_owned()), manifest);
        }
        contents.credentials = credentials.map(|(u, p)| (u.to_owned(), p.to_owned()));
        let app = Router::new()
            .route("/v2/", axum::routing::get(root))
            .route("/v2/{*rest}", axum::routing::get(manifest).head(manifest))
            .with_state(Arc::new(contents));
        let (address, runtime) = crate::serve_on_loopback(app);
        FakeRegistry { address, _runtime: runtime }
    }

    /// `127.0.0.1:PORT`, the registry part of image references.
    pub fn host(&self) -> String {
        self.address.to_string()
    }
}

fn authorized(contents: &Contents, headers: &HeaderMap) -> bool {
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

async fn root(State(contents): State<Arc<Contents>>, headers: HeaderMap) -> Response {
    if !authorized(&contents, &headers) {
        return error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "authentication required");
    }
    Response::new(Body::from("{}"))
}

async fn manifest(
    State(contents): State<Arc<Contents>>,
    method: Method,
    headers: HeaderMap,
    Path(rest): Path<String>,
) -> Response {
    if !authorized(&contents, &headers) {
        return error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "authentication required");
    }
    let Some((repository, reference)) = rest.rsplit_once("/manifests/") else {
        return error(StatusCode::NOT_FOUND, "NAME_UNKNOWN", "no such endpoint");
    };
    let Some(manifest) = contents.manifests.get(&(repository.to_owned(), reference.to_owned())) else {
        return error(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN", "manifest unknown");
    };
    let digest = manifest.lie.clone().unwrap_or_else(|| manifest.digest());
    let body = if method == Method::HEAD { Body::empty() } else { Body::from(manifest.body.clone()) };
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    let value = |text: &str| header::HeaderValue::from_str(text).unwrap_or_else(|e| panic!("{e}"));
    headers.insert(header::CONTENT_TYPE, value(&manifest.media_type));
    headers.insert(header::CONTENT_LENGTH, value(&manifest.body.len().to_string()));
    headers.insert("docker-content-digest", value(&digest));
    response
}
