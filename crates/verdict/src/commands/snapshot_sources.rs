//! Where snapshots come from: paths on a server (globs), a paths file (Kosli's format), or Kubernetes
//! pods (`kubectl get pods -A -o json`). Each turns its input into running artifacts; nothing here talks
//! to the ledger.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::anyhow;
use serde_json::Value;
use verdict_evidence::{dir_fingerprint, file_fingerprint};
use verdict_ledger::records::{PodRef, RunningArtifact};

use crate::error::CliError;

fn fingerprint_path(path: &Path, excludes: &[String]) -> Result<String, CliError> {
    if path.is_dir() {
        dir_fingerprint(path, excludes).map_err(CliError::invalid)
    } else {
        file_fingerprint(path).map_err(CliError::invalid)
    }
}

fn running(name: String, fingerprint: String) -> RunningArtifact {
    RunningArtifact { name, fingerprint, instances: 1, started_at: None, pods: Vec::new() }
}

/// `snapshot server --paths GLOB,...`: every path matching a glob, named by its path. A glob matching
/// nothing is refused unless `allow_empty` (a typo would otherwise hide whatever does run there).
pub fn server_paths(
    patterns: &[String],
    excludes: &[String],
    allow_empty: bool,
) -> Result<Vec<RunningArtifact>, CliError> {
    let mut artifacts = Vec::new();
    for pattern in patterns {
        let matches = glob::glob(pattern)
            .map_err(|err| CliError::invalid(anyhow!("--paths {pattern:?} is not a valid glob: {err}")))?;
        let mut found = false;
        for entry in matches {
            let path = entry
                .map_err(|err| CliError::invalid(anyhow!("cannot read {}: {err}", err.path().display())))?;
            found = true;
            artifacts.push(running(path.display().to_string(), fingerprint_path(&path, excludes)?));
        }
        if !found && !allow_empty {
            return Err(CliError::invalid(anyhow!(
                "--paths {pattern:?} matches nothing: nothing recorded (pass --allow-empty if nothing runs there)"
            )));
        }
        if !found {
            tracing::warn!("--paths {pattern:?} matches nothing");
        }
    }
    Ok(artifacts)
}

/// Reads a paths file as JSON whatever its format.
fn paths_file_value(path: &Path) -> Result<Value, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| CliError::invalid(anyhow!("cannot read paths file {}: {err}", path.display())))?;
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or_default().to_ascii_lowercase();
    match extension.as_str() {
        "json" => serde_json::from_str(&text).map_err(|err| {
            CliError::invalid(anyhow!("{}:{}:{}: {err}", path.display(), err.line(), err.column()))
        }),
        "toml" => toml::from_str::<Value>(&text)
            .map_err(|err| CliError::invalid(anyhow!("{}: {}", path.display(), err.to_string().trim()))),
        "yml" | "yaml" => super::evidence::yaml_as_json(path, &text, "paths file"),
        _ => Err(CliError::invalid(anyhow!(
            "paths file {}: use a .yml, .yaml, .json or .toml file",
            path.display()
        ))),
    }
}

/// `snapshot paths --paths-file F`: Kosli's format, `version: 1` and
/// `artifacts: {NAME: {path: P, exclude: [GLOB, ...]}}`; relative paths are relative to the file.
pub fn paths_file(path: &Path) -> Result<Vec<RunningArtifact>, CliError> {
    let value = paths_file_value(path)?;
    let file = path.display();
    let bad = |message: String| CliError::invalid(anyhow!("paths file {file}: {message}"));
    let object =
        value.as_object().ok_or_else(|| bad("expected a mapping with version and artifacts".into()))?;
    for key in object.keys() {
        if key != "version" && key != "artifacts" {
            return Err(bad(format!("unknown key {key:?} (expected version and artifacts)")));
        }
    }
    match object.get("version") {
        Some(v) if v.as_i64() == Some(1) || v.as_str() == Some("1") => {}
        Some(v) => return Err(bad(format!("version must be 1, not {v}"))),
        None => return Err(bad("version is required (write `version: 1`)".into())),
    }
    let artifacts = object
        .get("artifacts")
        .and_then(Value::as_object)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| bad("artifacts must be a non-empty mapping of NAME: {path, exclude}".into()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut running_artifacts = Vec::new();
    for (name, spec) in artifacts {
        let spec = spec.as_object().ok_or_else(|| bad(format!("artifacts.{name} must be a mapping")))?;
        for key in spec.keys() {
            if key != "path" && key != "exclude" {
                return Err(bad(format!("unknown key artifacts.{name}.{key} (expected path and exclude)")));
            }
        }
        let artifact_path = spec
            .get("path")
            .and_then(Value::as_str)
            .ok_or_else(|| bad(format!("artifacts.{name}.path is required")))?;
        let excludes: Vec<String> = match spec.get("exclude") {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| bad(format!("artifacts.{name}.exclude must list strings")))
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(bad(format!("artifacts.{name}.exclude must be a list"))),
        };
        let full = base.join(artifact_path);
        if !full.exists() {
            return Err(bad(format!("artifacts.{name}.path {} does not exist", full.display())));
        }
        running_artifacts.push(running(name.clone(), fingerprint_path(&full, &excludes)?));
    }
    Ok(running_artifacts)
}

/// The image digest of a container status: the `sha256:` part of `imageID`.
fn image_digest(image_id: &str) -> Option<&str> {
    let hex = image_id.rsplit_once("sha256:")?.1;
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then_some(hex)
}

/// `snapshot k8s --pods-file F`: running containers of `kubectl get pods -A -o json` output, grouped by
/// image and digest, filtered by namespace.
pub fn k8s_pods(
    path: &Path,
    namespaces: &[String],
    excluded: &[String],
) -> Result<Vec<RunningArtifact>, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| CliError::invalid(anyhow!("cannot read pods file {}: {err}", path.display())))?;
    let value: Value = serde_json::from_str(&text).map_err(|err| {
        CliError::invalid(anyhow!("pods file {}:{}:{}: {err}", path.display(), err.line(), err.column()))
    })?;
    let source = format!("pods file {}", path.display());
    // A namespace asked for that no pod in the file belongs to is most likely a typo: refuse it rather
    // than record an empty part of the environment.
    let seen: std::collections::BTreeSet<&str> = value["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|pod| pod["metadata"]["namespace"].as_str().unwrap_or("default"))
        .collect();
    if let Some(missing) = namespaces.iter().find(|n| !seen.contains(n.as_str())) {
        return Err(CliError::invalid(anyhow!(
            "{source}: no pod is in namespace {missing:?} (namespaces in the file: {})",
            seen.into_iter().collect::<Vec<_>>().join(", ")
        )));
    }
    pod_list(&value, &source, namespaces, excluded)
}

/// The running artifacts of a PodList (from a file or the API); `source` names it in errors.
pub fn pod_list(
    value: &Value,
    source: &str,
    namespaces: &[String],
    excluded: &[String],
) -> Result<Vec<RunningArtifact>, CliError> {
    let items = value.get("items").and_then(Value::as_array).ok_or_else(|| {
        CliError::invalid(anyhow!(
            "{source}: expected a pod list like `kubectl get pods -A -o json` (an object with items)"
        ))
    })?;
    let mut grouped: BTreeMap<(String, String), RunningArtifact> = BTreeMap::new();
    for (index, pod) in items.iter().enumerate() {
        let namespace = pod["metadata"]["namespace"].as_str().unwrap_or("default");
        let name = pod["metadata"]["name"]
            .as_str()
            .ok_or_else(|| CliError::invalid(anyhow!("{source}: items[{index}].metadata.name is missing")))?;
        if (!namespaces.is_empty() && !namespaces.iter().any(|n| n == namespace))
            || excluded.iter().any(|n| n == namespace)
        {
            continue;
        }
        // Everything the pod is meant to run is judged, whatever its state: init containers (native
        // sidecars keep running), ephemeral debug containers, and waiting or crash-looping containers —
        // except what has finished in a completed pod.
        let completed = matches!(pod["status"]["phase"].as_str(), Some("Succeeded" | "Failed"));
        let statuses = ["initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses"]
            .into_iter()
            .flat_map(|field| pod["status"][field].as_array().into_iter().flatten());
        for status in statuses {
            let state = &status["state"];
            if completed && state.get("terminated").is_some() {
                continue;
            }
            let image = status["image"].as_str().unwrap_or_default();
            let image_id = status["imageID"].as_str().unwrap_or_default();
            if image_id.is_empty() && state.get("running").is_none() {
                // Not started and never pulled (e.g. ErrImagePull): nothing of it runs, and there is no
                // digest to judge. Said, never silent.
                tracing::warn!(
                    "{source}: pod {namespace}/{name}: container {} ({image}) has not started and has no image digest yet; it is not in this snapshot",
                    status["name"].as_str().unwrap_or_default()
                );
                continue;
            }
            let started = state["running"].as_object();
            // A running container that cannot be fingerprinted is refused, never left out: leaving it out
            // would let a snapshot look compliant while something unjudged runs.
            let Some(digest) = status["imageID"].as_str().and_then(image_digest) else {
                return Err(CliError::invalid(anyhow!(
                    "{source}: pod {namespace}/{name} runs {image} with no sha256 image digest in imageID {:?}: it cannot be fingerprinted",
                    status["imageID"].as_str().unwrap_or_default()
                )));
            };
            let started_at =
                started.and_then(|s| s.get("startedAt")).and_then(Value::as_str).map(str::to_owned);
            let entry = grouped.entry((image.to_owned(), digest.to_owned())).or_insert_with(|| {
                RunningArtifact { instances: 0, ..running(image.to_owned(), digest.to_owned()) }
            });
            entry.instances += 1;
            entry.pods.push(PodRef { namespace: namespace.to_owned(), pod: name.to_owned() });
            entry.started_at = match (entry.started_at.take(), started_at) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
    }
    Ok(grouped.into_values().collect())
}

/// The cluster of a kubeconfig's current context: API server URL, bearer token, CA certificate.
struct Cluster {
    server: String,
    token: Option<String>,
    ca_pem: Option<Vec<u8>>,
}

fn kubeconfig(path: &Path) -> Result<Cluster, CliError> {
    use base64::Engine;
    let text = std::fs::read_to_string(path)
        .map_err(|err| CliError::invalid(anyhow!("cannot read kubeconfig {}: {err}", path.display())))?;
    let bad = |message: String| CliError::invalid(anyhow!("kubeconfig {}: {message}", path.display()));
    let config = verdict_policy::yaml::parse(&text)
        .map_err(|err| bad(format!("{}:{}: {}", err.position.line, err.position.column, err.message)))?
        .map(|node| node.to_json())
        .ok_or_else(|| bad("it is empty".into()))?;
    let current = config["current-context"].as_str().ok_or_else(|| bad("no current-context".into()))?;
    let named = |list: &str, name: &str| {
        config[list].as_array().into_iter().flatten().find(|e| e["name"] == name).cloned()
    };
    let context = named("contexts", current).ok_or_else(|| bad(format!("no context named {current:?}")))?;
    let cluster_name = context["context"]["cluster"].as_str().unwrap_or_default();
    let cluster =
        named("clusters", cluster_name).ok_or_else(|| bad(format!("no cluster named {cluster_name:?}")))?;
    let server =
        cluster["cluster"]["server"].as_str().ok_or_else(|| bad("the cluster has no server".into()))?;
    let user_name = context["context"]["user"].as_str().unwrap_or_default();
    let user = named("users", user_name).map(|u| u["user"].clone()).unwrap_or(Value::Null);
    if user.get("client-certificate-data").is_some() || user.get("exec").is_some() {
        return Err(bad(format!(
            "user {user_name:?} authenticates with a client certificate or an exec plugin; verdict supports token users (or use --pods-file with `kubectl get pods -A -o json`)"
        )));
    }
    let token = user["token"].as_str().map(str::to_owned);
    let ca_pem = match cluster["cluster"]["certificate-authority-data"].as_str() {
        Some(data) => Some(
            base64::engine::general_purpose::STANDARD
                .decode(data.trim())
                .map_err(|err| bad(format!("certificate-authority-data is not base64: {err}")))?,
        ),
        None => None,
    };
    Ok(Cluster { server: server.trim_end_matches('/').to_owned(), token, ca_pem })
}

/// `snapshot k8s` from the API: the pods of every namespace (or of `namespaces`) via `GET /api/v1/…/pods`.
pub fn k8s_api(
    config: Option<&Path>,
    namespaces: &[String],
    excluded: &[String],
) -> Result<Vec<RunningArtifact>, CliError> {
    let path = match config {
        Some(path) => path.to_owned(),
        None => match std::env::var_os("KUBECONFIG") {
            Some(value) => std::path::PathBuf::from(value),
            None => std::env::var_os("HOME")
                .map(|home| std::path::PathBuf::from(home).join(".kube/config"))
                .ok_or_else(|| CliError::invalid(anyhow!("no --kubeconfig, KUBECONFIG or HOME")))?,
        },
    };
    let cluster = kubeconfig(&path)?;
    let mut builder = reqwest::Client::builder().timeout(std::time::Duration::from_secs(30));
    if let Some(pem) = &cluster.ca_pem {
        let certificate = reqwest::Certificate::from_pem(pem).map_err(|err| {
            CliError::invalid(anyhow!("kubeconfig {}: bad CA certificate: {err}", path.display()))
        })?;
        builder = builder.add_root_certificate(certificate);
    }
    let client = builder.build().map_err(|err| CliError::unavailable(anyhow!("{err}")))?;
    let urls: Vec<String> = if namespaces.is_empty() {
        vec![format!("{}/api/v1/pods", cluster.server)]
    } else {
        namespaces.iter().map(|ns| format!("{}/api/v1/namespaces/{ns}/pods", cluster.server)).collect()
    };
    let runtime = super::ledger::runtime()?;
    // A namespace that does not exist would give an empty, harmless-looking list: refuse it.
    for namespace in namespaces {
        let url = format!("{}/api/v1/namespaces/{namespace}", cluster.server);
        runtime.block_on(async {
            let mut request = client.get(&url);
            if let Some(token) = &cluster.token {
                request = request.bearer_auth(token);
            }
            let response = request
                .send()
                .await
                .map_err(|err| CliError::unavailable(anyhow!("cannot reach {url}: {err}")))?;
            match response.status() {
                status if status.is_success() => Ok(()),
                reqwest::StatusCode::NOT_FOUND => {
                    Err(CliError::invalid(anyhow!("namespace {namespace:?} does not exist in the cluster")))
                }
                status if status.is_client_error() => {
                    Err(CliError::invalid(anyhow!("the Kubernetes API refused {url}: {status}")))
                }
                status => Err(CliError::unavailable(anyhow!("{url}: {status}"))),
            }
        })?;
    }
    let mut artifacts = Vec::new();
    for url in urls {
        let value: Value = runtime.block_on(async {
            let mut request = client.get(&url);
            if let Some(token) = &cluster.token {
                request = request.bearer_auth(token);
            }
            let response = request
                .send()
                .await
                .map_err(|err| CliError::unavailable(anyhow!("cannot reach {url}: {err}")))?;
            let status = response.status();
            let text = response.text().await.unwrap_or_default();
            if status.is_client_error() {
                return Err(CliError::invalid(anyhow!(
                    "the Kubernetes API refused {url}: {status}: {}",
                    text.trim()
                )));
            }
            if !status.is_success() {
                return Err(CliError::unavailable(anyhow!("{url}: {status}")));
            }
            serde_json::from_str(&text)
                .map_err(|err| CliError::unavailable(anyhow!("{url}: unreadable pod list: {err}")))
        })?;
        artifacts.extend(pod_list(&value, &url, namespaces, excluded)?);
    }
    Ok(artifacts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_digests() {
        let hex = "a".repeat(64);
        assert_eq!(image_digest(&format!("docker-pullable://nginx@sha256:{hex}")), Some(hex.as_str()));
        assert_eq!(image_digest(&format!("sha256:{hex}")), Some(hex.as_str()));
        assert_eq!(image_digest("nginx:1.25"), None);
        assert_eq!(image_digest("sha256:abc"), None);
    }
}
