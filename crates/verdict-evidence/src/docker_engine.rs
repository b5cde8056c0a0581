//! The local Docker Engine, over its Unix socket: which containers run and from which images
//! (`snapshot docker`), and an image's fingerprint (`fingerprint -t docker`).
//!
//! An image's fingerprint is its repository digest (the registry manifest's SHA-256: what CI reports with
//! `fingerprint -t oci` and signs) when the engine knows one, so the same image has the same fingerprint
//! in CI, in a registry and on a Docker host. A locally built image that was never pushed or pulled has
//! none; then its image ID (the SHA-256 of its configuration) is used, and said so.

use std::path::{Path, PathBuf};

use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde_json::Value;

/// Where the engine listens by default.
pub const DEFAULT_SOCKET: &str = "/var/run/docker.sock";

/// Why the engine could not answer.
#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    /// The socket is missing, refuses connections, or the engine failed: exit 3.
    #[error("Docker Engine at {socket}: {message}")]
    Unavailable {
        /// The socket.
        socket: String,
        /// What happened.
        message: String,
    },
    /// The engine does not know the image, or the host is not a Unix socket: exit 2.
    #[error("{0}")]
    Invalid(String),
}

/// How an image's fingerprint was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DigestSource {
    /// The registry manifest's digest (`RepoDigests`).
    RepoDigest,
    /// The image ID: the image was never pushed or pulled.
    ImageId,
}

/// An image's fingerprint and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageDigest {
    /// 64 hex digits.
    pub fingerprint: String,
    /// Where the fingerprint came from.
    pub source: DigestSource,
}

/// One running container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Container {
    /// The container's name (without the leading `/`).
    pub name: String,
    /// The image reference it was started from.
    pub image: String,
    /// Its image's fingerprint.
    pub digest: ImageDigest,
    /// When it was created (RFC 3339, UTC), if the engine said.
    pub created_at: Option<String>,
}

/// A client of one engine socket.
#[derive(Debug, Clone)]
pub struct DockerEngine {
    socket: PathBuf,
}

impl DockerEngine {
    /// The engine at `host`: `unix:///path`, a plain socket path, or (None) `DOCKER_HOST`'s value or the
    /// default socket. TCP hosts are refused: verdict does not speak to engines over the network.
    pub fn new(host: Option<&str>) -> Result<Self, DockerError> {
        let from_env = std::env::var("DOCKER_HOST").ok().filter(|value| !value.is_empty());
        let host = host.map(str::to_owned).or(from_env).unwrap_or_else(|| DEFAULT_SOCKET.to_owned());
        let socket = match host.strip_prefix("unix://") {
            Some(path) => PathBuf::from(path),
            None if host.contains("://") => {
                return Err(DockerError::Invalid(format!(
                    "Docker host {host:?}: only a Unix socket (unix:///var/run/docker.sock) is supported"
                )));
            }
            None => PathBuf::from(host),
        };
        Ok(DockerEngine { socket })
    }

    /// The socket's path.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    fn unavailable(&self, message: String) -> DockerError {
        DockerError::Unavailable { socket: self.socket.display().to_string(), message }
    }

    /// GETs `path` from the engine; `None` on 404.
    async fn get(&self, path: &str) -> Result<Option<Value>, DockerError> {
        let stream = tokio::net::UnixStream::connect(&self.socket)
            .await
            .map_err(|err| self.unavailable(err.to_string()))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|err| self.unavailable(verdict_core::error_chain::describe(&err)))?;
        let driver = tokio::spawn(connection);
        let request = hyper::Request::get(path)
            .header("host", "docker")
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .map_err(|err| DockerError::Invalid(format!("{path}: {err}")))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|err| self.unavailable(verdict_core::error_chain::describe(&err)))?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|err| self.unavailable(verdict_core::error_chain::describe(&err)))?
            .to_bytes();
        driver.abort();
        if status == hyper::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            let message = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v["message"].as_str().map(str::to_owned))
                .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
            return Err(self.unavailable(format!("{path}: {status}: {message}")));
        }
        serde_json::from_slice(&body)
            .map(Some)
            .map_err(|err| self.unavailable(format!("{path}: unreadable answer: {err}")))
    }

    /// The fingerprint of image `reference` (a name, `name:tag`, or an image ID) as the engine knows it.
    pub async fn image_digest(&self, reference: &str) -> Result<ImageDigest, DockerError> {
        let path = format!("/images/{}/json", crate::http_api::encode(reference));
        let image = self.get(&path).await?.ok_or_else(|| {
            DockerError::Invalid(format!(
                "the Docker Engine has no image {reference:?} (pull or build it first)"
            ))
        })?;
        Ok(digest_of(&image, reference))
    }

    /// Every running container with its image's fingerprint.
    pub async fn running(&self) -> Result<Vec<Container>, DockerError> {
        let list = self.get("/containers/json").await?.unwrap_or(Value::Null);
        let mut containers = Vec::new();
        for container in list.as_array().into_iter().flatten() {
            let image = container["Image"].as_str().unwrap_or_default().to_owned();
            let image_id = container["ImageID"].as_str().unwrap_or_default();
            // Inspect by ID: the tag the container was started from may point elsewhere since.
            let inspected = self.get(&format!("/images/{}/json", crate::http_api::encode(image_id))).await?;
            let digest = match inspected {
                Some(details) => digest_of(&details, &image),
                None => ImageDigest { fingerprint: hex_of(image_id), source: DigestSource::ImageId },
            };
            let name = container["Names"][0].as_str().unwrap_or_default().trim_start_matches('/').to_owned();
            let created_at = container["Created"]
                .as_i64()
                .and_then(|seconds| time::OffsetDateTime::from_unix_timestamp(seconds).ok())
                .and_then(|at| at.format(&time::format_description::well_known::Rfc3339).ok());
            containers.push(Container { name, image, digest, created_at });
        }
        Ok(containers)
    }
}

/// The image's repository digest for `reference`'s repository (else its first), else its ID.
fn digest_of(image: &Value, reference: &str) -> ImageDigest {
    let repository = repository_of(reference);
    let digests: Vec<&str> =
        image["RepoDigests"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let chosen =
        digests.iter().find(|d| d.split('@').next() == Some(repository.as_str())).or(digests.first());
    match chosen.and_then(|d| d.split_once("@sha256:")) {
        Some((_, hex)) => ImageDigest { fingerprint: hex.to_owned(), source: DigestSource::RepoDigest },
        None => ImageDigest {
            fingerprint: hex_of(image["Id"].as_str().unwrap_or_default()),
            source: DigestSource::ImageId,
        },
    }
}

/// `registry/repo` of `registry/repo:tag` or `repo@sha256:…` (a port's colon is kept).
fn repository_of(reference: &str) -> String {
    let without_digest = reference.split('@').next().unwrap_or(reference);
    match without_digest.rsplit_once(':') {
        Some((repository, tag)) if !tag.contains('/') => repository.to_owned(),
        _ => without_digest.to_owned(),
    }
}

fn hex_of(id: &str) -> String {
    id.trim_start_matches("sha256:").to_owned()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_repository_digest_wins_over_the_image_id() {
        let image = json!({"Id": "sha256:aaaa", "RepoDigests": ["ghcr.io/acme/other@sha256:1111", "ghcr.io/acme/web@sha256:2222"]});
        assert_eq!(digest_of(&image, "ghcr.io/acme/web:1.2").fingerprint, "2222");
        assert_eq!(digest_of(&image, "something/else").fingerprint, "1111");
        let local = json!({"Id": "sha256:aaaa", "RepoDigests": []});
        assert_eq!(
            digest_of(&local, "web:dev"),
            ImageDigest { fingerprint: "aaaa".into(), source: DigestSource::ImageId }
        );
    }

    #[test]
    fn repositories_keep_registry_ports() {
        assert_eq!(repository_of("localhost:5000/web:1"), "localhost:5000/web");
        assert_eq!(repository_of("localhost:5000/web"), "localhost:5000/web");
        assert_eq!(repository_of("web@sha256:abcd"), "web");
    }

    #[test]
    fn hosts_are_unix_sockets() {
        assert_eq!(DockerEngine::new(Some("unix:///run/d.sock")).unwrap().socket(), Path::new("/run/d.sock"));
        assert_eq!(DockerEngine::new(Some("/run/d.sock")).unwrap().socket(), Path::new("/run/d.sock"));
        assert!(DockerEngine::new(Some("tcp://10.0.0.1:2375")).is_err());
    }
}
