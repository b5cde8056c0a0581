//! Where snapshots come from: paths on a server (globs), a paths file (Kosli's format), or Kubernetes
//! pods (`kubectl get pods -A -o json`). Each turns its input into running artifacts; nothing here talks
//! to the ledger.

use std::path::Path;

use anyhow::anyhow;
use serde_json::Value;
use verdict_evidence::{dir_fingerprint, file_fingerprint};
use verdict_ledger::records::RunningArtifact;

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
    let mut paths = Vec::new();
    for pattern in patterns {
        let matches = glob::glob(pattern)
            .map_err(|err| CliError::invalid(anyhow!("--paths {pattern:?} is not a valid glob: {err}")))?;
        let mut found = false;
        for entry in matches {
            let path = entry
                .map_err(|err| CliError::invalid(anyhow!("cannot read {}: {err}", err.path().display())))?;
            found = true;
            paths.push(path);
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
    let progress = crate::render::Progress::new(paths.len(), "fingerprinting");
    let mut artifacts = Vec::with_capacity(paths.len());
    for path in paths {
        progress.step(&path.display().to_string());
        artifacts.push(running(path.display().to_string(), fingerprint_path(&path, excludes)?));
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
        "yml" | "yaml" => crate::input::yaml_as_json(path, &text, "paths file"),
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
    let progress = crate::render::Progress::new(artifacts.len(), "fingerprinting");
    for (name, spec) in artifacts {
        progress.step(name);
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

/// A cluster error as a CLI error: refusals and bad configuration exit 2, an unreachable cluster 3.
fn kube_error(error: verdict_kube::KubeError) -> CliError {
    match error {
        verdict_kube::KubeError::Invalid(message) => CliError::invalid(anyhow!("{message}")),
        verdict_kube::KubeError::Unavailable(message) => CliError::unavailable(anyhow!("{message}")),
    }
}

/// `snapshot k8s --pods-file F`: the pods of `kubectl get pods -A -o json` output, filtered by namespace.
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
    let items = value.get("items").and_then(Value::as_array).ok_or_else(|| {
        CliError::invalid(anyhow!(
            "{source}: expected a pod list like `kubectl get pods -A -o json` (an object with items)"
        ))
    })?;
    // A namespace asked for that no pod in the file belongs to is most likely a typo: refuse it rather
    // than record an empty part of the environment.
    let seen: std::collections::BTreeSet<&str> =
        items.iter().map(|pod| pod["metadata"]["namespace"].as_str().unwrap_or("default")).collect();
    if let Some(missing) = namespaces.iter().find(|n| !seen.contains(n.as_str())) {
        return Err(CliError::invalid(anyhow!(
            "{source}: no pod is in namespace {missing:?} (namespaces in the file: {})",
            seen.into_iter().collect::<Vec<_>>().join(", ")
        )));
    }
    verdict_kube::running_artifacts(items, &source, namespaces, excluded).map_err(kube_error)
}

/// `snapshot k8s` from the cluster's API (kube-rs: every kubeconfig kind, or the in-cluster service
/// account), paginated; every pod of the cluster or of `namespaces`.
pub async fn k8s_api(
    source: verdict_kube::ClusterSource<'_>,
    namespaces: &[String],
    excluded: &[String],
) -> Result<Vec<RunningArtifact>, CliError> {
    let client = verdict_kube::client(source).await.map_err(kube_error)?;
    let pods = verdict_kube::pods(&client, namespaces).await.map_err(kube_error)?;
    verdict_kube::running_artifacts(&pods, "the Kubernetes API", namespaces, excluded).map_err(kube_error)
}

/// `snapshot docker`: the images of the running containers, one entry per (image, fingerprint) with its
/// container count and the earliest creation time.
pub async fn docker_containers(host: Option<&str>) -> Result<Vec<RunningArtifact>, CliError> {
    use verdict_evidence::docker_engine::{DockerEngine, DockerError};
    let engine = DockerEngine::new(host).map_err(CliError::invalid)?;
    let containers = engine.running().await.map_err(|err| match err {
        DockerError::Invalid(_) => CliError::invalid(err),
        DockerError::Unavailable { .. } => CliError::unavailable(err),
    })?;
    let artifacts = containers
        .into_iter()
        .map(|container| RunningArtifact {
            name: container.image,
            fingerprint: container.digest.fingerprint,
            instances: 1,
            started_at: container.created_at,
            pods: Vec::new(),
        })
        .collect();
    // Containers of the same image add up, the earliest start wins.
    Ok(verdict_enforce::snapshots::normalise(artifacts))
}
