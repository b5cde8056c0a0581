//! Helpers shared by verdict's tests. Test-only: no production crate depends on it.

pub mod bundles;
pub mod cosign;
pub mod docker_registry;
pub mod git;
pub mod json_api;
pub mod postgres;
pub mod registry;
pub mod server;
pub mod sigstore;

use std::path::PathBuf;

/// The workspace root (the directory holding `Cargo.lock`), found from this crate's location.
pub fn workspace_root() -> PathBuf {
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    while !dir.join("Cargo.lock").exists() {
        if !dir.pop() {
            panic!("workspace root not found above {}", env!("CARGO_MANIFEST_DIR"));
        }
    }
    dir
}

/// `../shared/oracles` beside the workspace, or `VERDICT_ORACLES`. Panics (failing the test, never
/// skipping it) when the directory is missing.
pub fn oracles() -> PathBuf {
    let path = match std::env::var("VERDICT_ORACLES") {
        Ok(path) => PathBuf::from(path),
        Err(_) => workspace_root().join("../shared/oracles"),
    };
    assert!(
        path.is_dir(),
        "the external oracles are missing: {} (clone verdict beside shared/)",
        path.display()
    );
    path
}

/// Serves `app` on a free loopback port from a runtime of its own (dropping the runtime stops it), for
/// the fake services tests talk to.
pub fn serve_on_loopback(app: axum::Router) -> (std::net::SocketAddr, tokio::runtime::Runtime) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("cannot start a runtime for a fake service: {e}"));
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap_or_else(|e| panic!("cannot bind a fake service: {e}"));
    let address = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    runtime.spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (address, runtime)
}

/// Runs `check` on every entry of the cargo-fuzz corpus `fuzz/corpus/TARGET` (read as UTF-8, lossily, as
/// the fuzz targets read their bytes), so each fuzzer's properties hold under plain `cargo test`. Panics
/// naming the entry that breaks a property, when the corpus is missing, or when it has fewer than
/// `minimum` entries (a corpus that silently shrank would test nothing).
pub fn replay_fuzz_corpus(target: &str, minimum: usize, check: impl Fn(&str) -> Result<(), String>) {
    let dir = workspace_root().join("fuzz/corpus").join(target);
    let entries =
        std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("fuzz corpus {} is missing: {e}", dir.display()));
    let mut count = 0;
    for entry in entries {
        let path = entry.unwrap_or_else(|e| panic!("{}: {e}", dir.display())).path();
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if let Err(problem) = check(&String::from_utf8_lossy(&bytes)) {
            panic!("{}: {problem}", path.display());
        }
        count += 1;
    }
    assert!(count >= minimum, "the {target} corpus has only {count} entries");
}

/// A Kyverno ClusterPolicy (Enforce) that fails a Pod whose container image uses the `latest` tag, with
/// the message "latest tag": the smallest real manifest policy, for tests of what carries policies
/// (bundles, output handling) rather than of the engine.
pub const DISALLOW_LATEST: &str = r#"apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: disallow-latest
spec:
  validationFailureAction: Enforce
  rules:
    - name: no-latest
      match:
        any:
          - resources:
              kinds: [Pod]
      validate:
        message: "latest tag"
        pattern:
          spec:
            containers:
              - image: "!*:latest"
"#;
