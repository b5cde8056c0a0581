//! Cluster access for verdict through kube-rs: every kubeconfig kind (tokens, client certificates, exec
//! plugins such as EKS's and GKE's, auth providers), the in-cluster service account, and paginated pod
//! lists turned into the running artifacts a snapshot records. Everything a pod is meant to run is
//! judged — containers, init containers (native sidecars keep running), ephemeral containers, in any
//! state — except what finished in a completed pod; a container that cannot be fingerprinted is an error,
//! never left out.

use std::collections::BTreeMap;
use std::path::Path;

use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{Api, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::Value;
use verdict_ledger::records::{PodRef, RunningArtifact};

/// Why the cluster could not be read.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    /// The kubeconfig, a namespace, or the cluster's answer is wrong (exit 2).
    #[error("{0}")]
    Invalid(String),
    /// The cluster cannot be reached or failed (exit 3).
    #[error("{0}")]
    Unavailable(String),
}

/// Where the cluster is.
#[derive(Debug, Clone)]
pub enum ClusterSource<'a> {
    /// A kubeconfig file (`None`: `$KUBECONFIG`, else `~/.kube/config`), its current context.
    Kubeconfig(Option<&'a Path>),
    /// The pod's own service account (running inside the cluster).
    InCluster,
}

/// Page size of list requests.
const PAGE: u32 = 500;

/// A client for the cluster `source` names.
pub async fn client(source: ClusterSource<'_>) -> Result<Client, KubeError> {
    let config = match source {
        ClusterSource::InCluster => Config::incluster().map_err(|err| {
            KubeError::Invalid(format!("not running in a cluster (no service account): {err}"))
        })?,
        ClusterSource::Kubeconfig(path) => {
            let path = match path {
                Some(path) => path.to_owned(),
                None => match std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
                    Some(value) => std::path::PathBuf::from(value),
                    None => std::env::var_os("HOME")
                        .map(|home| std::path::PathBuf::from(home).join(".kube/config"))
                        .ok_or_else(|| {
                            KubeError::Invalid("no --kubeconfig, KUBECONFIG or HOME".to_owned())
                        })?,
                },
            };
            let kubeconfig = Kubeconfig::read_from(&path)
                .map_err(|err| KubeError::Invalid(format!("kubeconfig {}: {err}", path.display())))?;
            Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
                .await
                .map_err(|err| KubeError::Invalid(format!("kubeconfig {}: {err}", path.display())))?
        }
    };
    let mut config = config;
    config.read_timeout = Some(std::time::Duration::from_secs(30));
    config.connect_timeout = Some(std::time::Duration::from_secs(10));
    Client::try_from(config)
        .map_err(|err| KubeError::Invalid(format!("cannot use the cluster's configuration: {err}")))
}

/// An API error as verdict reports it: refusals and unknown things are invalid input, the rest
/// unavailable.
fn api_error(what: &str, error: kube::Error) -> KubeError {
    match &error {
        kube::Error::Api(status) if status.code < 500 => {
            let code = if status.code == 0 { String::new() } else { format!("{} ", status.code) };
            KubeError::Invalid(format!("the Kubernetes API refused {what}: {code}{}", status.message))
        }
        kube::Error::Auth(_) => {
            KubeError::Invalid(format!("cannot authenticate to the Kubernetes API: {error}"))
        }
        _ => KubeError::Unavailable(format!("the Kubernetes API is unavailable ({what}): {error}")),
    }
}

/// Every pod of `namespaces` (all when empty), as JSON, read page by page (`limit`/`continue`). A
/// namespace that does not exist is an error: it would give an empty, harmless-looking list.
pub async fn pods(client: &Client, namespaces: &[String]) -> Result<Vec<Value>, KubeError> {
    let mut apis: Vec<(String, Api<Pod>)> = Vec::new();
    if namespaces.is_empty() {
        apis.push(("pods of every namespace".to_owned(), Api::all(client.clone())));
    } else {
        let all_namespaces: Api<Namespace> = Api::all(client.clone());
        for namespace in namespaces {
            let found = all_namespaces
                .get_opt(namespace)
                .await
                .map_err(|err| api_error(&format!("namespace {namespace:?}"), err))?;
            if found.is_none() {
                return Err(KubeError::Invalid(format!(
                    "namespace {namespace:?} does not exist in the cluster"
                )));
            }
            apis.push((
                format!("pods of namespace {namespace:?}"),
                Api::namespaced(client.clone(), namespace),
            ));
        }
    }
    let mut pods = Vec::new();
    for (what, api) in apis {
        let mut params = ListParams::default().limit(PAGE);
        loop {
            let page = api.list(&params).await.map_err(|err| api_error(&what, err))?;
            let next = page.metadata.continue_.clone().filter(|token| !token.is_empty());
            for pod in page.items {
                pods.push(
                    serde_json::to_value(pod).map_err(|err| KubeError::Invalid(format!("{what}: {err}")))?,
                );
            }
            match next {
                Some(token) => params = params.continue_token(&token),
                None => break,
            }
        }
    }
    Ok(pods)
}

/// The image digest of a container status: the `sha256:` part of `imageID`.
fn image_digest(image_id: &str) -> Option<&str> {
    let hex = image_id.rsplit_once("sha256:")?.1;
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then_some(hex)
}

/// The running artifacts of pods (a pod list's `items`, from a file or the API), grouped by image and
/// digest; `source` names where they came from in errors and warnings.
pub fn running_artifacts(
    pods: &[Value],
    source: &str,
    namespaces: &[String],
    excluded: &[String],
) -> Result<Vec<RunningArtifact>, KubeError> {
    let mut grouped: BTreeMap<(String, String), RunningArtifact> = BTreeMap::new();
    for (index, pod) in pods.iter().enumerate() {
        let namespace = pod["metadata"]["namespace"].as_str().unwrap_or("default");
        let name = pod["metadata"]["name"].as_str().ok_or_else(|| {
            KubeError::Invalid(format!("{source}: items[{index}].metadata.name is missing"))
        })?;
        if (!namespaces.is_empty() && !namespaces.iter().any(|n| n == namespace))
            || excluded.iter().any(|n| n == namespace)
        {
            continue;
        }
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
            // A container that cannot be fingerprinted is refused, never left out: leaving it out would
            // let a snapshot look compliant while something unjudged runs.
            let Some(digest) = image_digest(image_id) else {
                return Err(KubeError::Invalid(format!(
                    "{source}: pod {namespace}/{name} runs {image} with no sha256 image digest in imageID {image_id:?}: it cannot be fingerprinted"
                )));
            };
            let started_at = state["running"]["startedAt"].as_str().map(str::to_owned);
            let entry =
                grouped.entry((image.to_owned(), digest.to_owned())).or_insert_with(|| RunningArtifact {
                    name: image.to_owned(),
                    fingerprint: digest.to_owned(),
                    instances: 0,
                    started_at: None,
                    pods: Vec::new(),
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
