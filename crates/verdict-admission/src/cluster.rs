//! The cluster as manifest policies read it at admission, through kube-rs: namespace labels for
//! `namespaceSelector`, ConfigMaps and API GETs for `configMap` and `apiCall` context entries. The
//! client is made on first use (a webhook whose policies never read the cluster never connects), and
//! every failure is an error of the rule that needed the data — a failure, never a pass.

use std::path::PathBuf;
use std::sync::Arc;

use axum::http::Request as HttpRequest;
use serde_json::{Map, Value};
use tokio::sync::OnceCell;
use verdict_kube::ClusterSource;
use verdict_kyverno::engine::ClusterData;

/// Which cluster: the pod's service account, or a kubeconfig file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ClusterConfig {
    /// Running inside the cluster.
    InCluster,
    /// A kubeconfig file (its current context).
    Kubeconfig(PathBuf),
}

/// A lazily connected cluster, shared by every request.
pub struct ClusterAccess {
    config: ClusterConfig,
    client: OnceCell<kube::Client>,
}

impl std::fmt::Debug for ClusterAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterAccess")
            .field("config", &self.config)
            .field("connected", &self.client.initialized())
            .finish()
    }
}

impl PartialEq for ClusterAccess {
    fn eq(&self, other: &Self) -> bool {
        self.config == other.config
    }
}

impl Eq for ClusterAccess {}

impl ClusterAccess {
    /// Access to the cluster `config` names (nothing is connected yet).
    pub fn new(config: ClusterConfig) -> Self {
        ClusterAccess { config, client: OnceCell::new() }
    }

    async fn client(&self) -> Result<kube::Client, String> {
        self.client
            .get_or_try_init(|| async {
                let source = match &self.config {
                    ClusterConfig::InCluster => ClusterSource::InCluster,
                    ClusterConfig::Kubeconfig(path) => ClusterSource::Kubeconfig(Some(path.as_path())),
                };
                verdict_kube::client(source).await.map_err(|err| err.to_string())
            })
            .await
            .cloned()
    }

    /// The labels of namespace `name`.
    pub async fn namespace_labels(&self, name: &str) -> Result<Map<String, Value>, String> {
        let client = self.client().await?;
        let namespace = get(&client, &format!("/api/v1/namespaces/{name}")).await?;
        Ok(namespace.pointer("/metadata/labels").and_then(Value::as_object).cloned().unwrap_or_default())
    }

    /// The data source for the engine's context entries; its reads block the calling worker thread
    /// (`block_in_place`), so it is used on a multi-threaded runtime only.
    pub async fn data(&self) -> Result<Arc<dyn ClusterData + Send + Sync>, String> {
        let client = self.client().await?;
        Ok(Arc::new(BlockingCluster { client, handle: tokio::runtime::Handle::current() }))
    }
}

async fn get(client: &kube::Client, path: &str) -> Result<Value, String> {
    let request =
        HttpRequest::get(path).body(Vec::new()).map_err(|err| format!("invalid path {path:?}: {err}"))?;
    client.request::<Value>(request).await.map_err(|err| err.to_string())
}

/// The engine's synchronous view of the cluster.
struct BlockingCluster {
    client: kube::Client,
    handle: tokio::runtime::Handle,
}

impl ClusterData for BlockingCluster {
    fn config_map(&self, namespace: &str, name: &str) -> Result<Value, String> {
        self.api_get(&format!("/api/v1/namespaces/{namespace}/configmaps/{name}"))
    }

    fn api_get(&self, url_path: &str) -> Result<Value, String> {
        if !url_path.starts_with('/') {
            return Err(format!("urlPath {url_path:?} must start with /"));
        }
        tokio::task::block_in_place(|| self.handle.block_on(get(&self.client, url_path)))
    }
}
