//! Manifest policies at admission: Kyverno ClusterPolicies and Policies evaluated on the request's
//! object, oldObject, operation and requester by the same engine as `verdict apply` and `verdict
//! test`. A failing rule whose action is Enforce (or that errors) is a failure in the webhook's mode —
//! denied in enforce, a warning in warn, recorded in audit — and one whose action is Audit is recorded
//! only. So one policy file gives local warn → CI fail → runtime block.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use verdict_kyverno::engine::{ClusterData, Prepared, evaluate_prepared};
use verdict_kyverno::{Action, Policy, Request, RequestInfo, Status, Values, load_policy_file};

/// The loaded manifest policies, shared by every request; compared by the digest of their sources.
#[derive(Debug, Clone, Default)]
pub struct ManifestPolicies {
    policies: Arc<Vec<Policy>>,
    digest: String,
}

impl PartialEq for ManifestPolicies {
    fn eq(&self, other: &Self) -> bool {
        self.digest == other.digest
    }
}

impl Eq for ManifestPolicies {}

/// Why the manifest policies cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// A file cannot be read.
    #[error("cannot read the manifest policy {}: {message}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// A policy does not load (every diagnostic, rendered).
    #[error("the manifest policy does not load:\n{0}")]
    Invalid(String),
}

impl ManifestPolicies {
    /// Loads every ClusterPolicy and Policy of `files`; a file without one is an error (a file of
    /// another kind in this list is a mistake, not something to skip).
    pub fn load(files: &[PathBuf]) -> Result<Self, ManifestError> {
        let mut policies = Vec::new();
        let mut digest = Sha256::new();
        for path in files {
            let source = std::fs::read_to_string(path)
                .map_err(|err| ManifestError::Read { path: path.clone(), message: err.to_string() })?;
            let name = path.display().to_string();
            let loaded = load_policy_file(&name, &source).map_err(|diagnostics| {
                ManifestError::Invalid(
                    diagnostics.iter().map(|d| d.render(&source)).collect::<Vec<_>>().join("\n"),
                )
            })?;
            if loaded.policies.is_empty() {
                let kinds: Vec<&str> = loaded.others.iter().map(|o| o.kind.as_str()).collect();
                return Err(ManifestError::Invalid(format!(
                    "{name}: no Kyverno ClusterPolicy or Policy (found {})",
                    if kinds.is_empty() { "nothing".to_owned() } else { kinds.join(", ") }
                )));
            }
            digest.update(source.as_bytes());
            policies.extend(loaded.policies);
        }
        Ok(ManifestPolicies { policies: Arc::new(policies), digest: hex::encode(digest.finalize()) })
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }

    /// How many policies and rules (for start-up logs).
    pub fn counts(&self) -> (usize, usize) {
        (self.policies.len(), self.policies.iter().map(|p| p.rules.len()).sum())
    }

    /// Evaluates every policy on the request.
    pub fn evaluate(
        &self,
        object: &Value,
        old_object: &Value,
        info: RequestInfo,
        cluster: Option<Arc<dyn ClusterData + Send + Sync>>,
    ) -> Vec<ManifestOutcome> {
        let request = Request {
            resource: object.clone(),
            old_object: (!old_object.is_null()).then(|| old_object.clone()),
            info,
            cluster,
            resources: None,
            images: None,
        };
        // The request's data is converted once for every policy.
        let prepared = Prepared::new(&request, None);
        let mut outcomes = Vec::new();
        for policy in self.policies.iter() {
            for response in evaluate_prepared(policy, &prepared, &Values::new()) {
                outcomes.push(ManifestOutcome {
                    policy: policy.name.clone(),
                    rule: response.rule,
                    result: response.status,
                    message: response.message,
                    action: response.action,
                });
            }
        }
        outcomes
    }
}

/// One rule's result on the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManifestOutcome {
    /// The policy.
    pub policy: String,
    /// The rule.
    pub rule: String,
    /// pass, fail, warn, error or skip.
    pub result: Status,
    /// Why.
    pub message: String,
    /// The rule's failure action for this namespace.
    pub action: Action,
}

impl ManifestOutcome {
    /// Whether the rule failed (an error is a failure: it never passes).
    pub fn failed(&self) -> bool {
        matches!(self.result, Status::Fail | Status::Error)
    }

    /// The reason as shown to the requester.
    pub fn reason(&self) -> String {
        format!("policy {} rule {}: {}", self.policy, self.rule, self.message)
    }
}
