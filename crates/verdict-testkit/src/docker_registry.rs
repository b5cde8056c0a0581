//! A real registry for tests: Debian's `docker-registry` (CNCF distribution 2.8, which has no OCI 1.1
//! referrers API) started on a free loopback port with its storage in a temporary directory, and a
//! pusher that uploads blobs and manifests through the distribution API.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::cosign::Store;
use crate::registry::Manifest;

const BINARY: &str = "/usr/bin/docker-registry";

/// A running `docker-registry`; killed when dropped.
pub struct DockerRegistry {
    child: Child,
    address: String,
    _dir: tempfile::TempDir,
    runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
}

impl DockerRegistry {
    /// Starts one, or returns `None` when the package is not installed — unless
    /// `VERDICT_REQUIRE_DOCKER_REGISTRY=1`, which turns its absence into a test failure.
    pub fn start() -> Option<Self> {
        if !std::path::Path::new(BINARY).exists() {
            if std::env::var("VERDICT_REQUIRE_DOCKER_REGISTRY").is_ok_and(|v| v == "1") {
                panic!(
                    "VERDICT_REQUIRE_DOCKER_REGISTRY=1 but {BINARY} is missing: apt-get install docker-registry"
                );
            }
            eprintln!(
                "docker-registry is not installed; skipping (set VERDICT_REQUIRE_DOCKER_REGISTRY=1 to fail instead)"
            );
            return None;
        }
        // The port is free when chosen, but parallel tests may take it before the registry binds it:
        // then the registry exits, and it starts again on another port.
        for _attempt in 0..5 {
            if let Some(registry) = DockerRegistry::start_once() {
                return Some(registry);
            }
        }
        panic!("docker-registry did not start in 5 attempts");
    }

    /// One attempt on a fresh port; `None` when the registry exited (its port was taken).
    fn start_once() -> Option<DockerRegistry> {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temporary directory: {e}"));
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .unwrap_or_else(|e| panic!("cannot find a free port: {e}"))
            .port();
        let address = format!("127.0.0.1:{port}");
        let config = dir.path().join("config.yml");
        let storage = dir.path().join("storage");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {address}\n",
                storage.display()
            ),
        )
        .unwrap_or_else(|e| panic!("cannot write the registry config: {e}"));
        let child = Command::new(BINARY)
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {BINARY}: {e}"));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("runtime: {e}"));
        let mut registry =
            DockerRegistry { child, address, _dir: dir, runtime, http: reqwest::Client::new() };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            // Exited: whatever answers on the port is not this registry.
            if registry.child.try_wait().is_ok_and(|status| status.is_some()) {
                return None;
            }
            let url = format!("http://{}/v2/", registry.address);
            if registry
                .runtime
                .block_on(registry.http.get(&url).send())
                .is_ok_and(|r| r.status().is_success())
                && registry.child.try_wait().is_ok_and(|status| status.is_none())
            {
                return Some(registry);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("docker-registry did not start on {} within 20 s", registry.address);
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        self.address.clone()
    }
}

impl Drop for DockerRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Store for DockerRegistry {
    fn put_blob(&self, repository: &str, blob: &[u8]) -> String {
        let digest = format!("sha256:{}", hex::encode(Sha256::digest(blob)));
        let base = format!("http://{}", self.address);
        self.runtime.block_on(async {
            let started = self
                .http
                .post(format!("{base}/v2/{repository}/blobs/uploads/"))
                .send()
                .await
                .unwrap_or_else(|e| panic!("start upload: {e}"));
            assert_eq!(started.status().as_u16(), 202, "start upload of {digest}");
            let location = started
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_else(|| panic!("no upload location"))
                .to_owned();
            let location = if location.starts_with("http") { location } else { format!("{base}{location}") };
            let separator = if location.contains('?') { '&' } else { '?' };
            let done = self
                .http
                .put(format!("{location}{separator}digest={digest}"))
                .header("content-type", "application/octet-stream")
                .body(blob.to_vec())
                .send()
                .await
                .unwrap_or_else(|e| panic!("upload: {e}"));
            assert_eq!(
                done.status().as_u16(),
                201,
                "upload {digest}: {}",
                done.text().await.unwrap_or_default()
            );
        });
        digest
    }

    fn put_manifest(&self, repository: &str, tag: Option<&str>, manifest: Manifest) -> String {
        let digest = manifest.digest();
        let reference = tag.map_or_else(|| digest.clone(), str::to_owned);
        self.runtime.block_on(async {
            let response = self
                .http
                .put(format!("http://{}/v2/{repository}/manifests/{reference}", self.address))
                .header("content-type", manifest.media_type.clone())
                .body(manifest.body.clone())
                .send()
                .await
                .unwrap_or_else(|e| panic!("push manifest: {e}"));
            let status = response.status().as_u16();
            assert_eq!(
                status,
                201,
                "push manifest {reference}: {}",
                response.text().await.unwrap_or_default()
            );
        });
        digest
    }
}
