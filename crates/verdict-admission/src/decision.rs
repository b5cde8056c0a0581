//! The admission decision: every image a request would run is judged (by an [`ImageJudge`]: the image
//! policy against the registry, in the webhook), within one time budget, and the outcome is turned into
//! an answer according to the mode. Deny by default and fail closed (DESIGN.md rule 10): an image that
//! cannot be judged — unreadable object, registry error, budget exhausted — fails, with the reason; the
//! modes run the same evaluation and differ only in what they do with a failure.

use std::time::Duration;

use kube::core::DynamicObject;
use kube::core::admission::{AdmissionReview, Operation};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::images::{changed_images, request_images};
use crate::manifest::{ManifestOutcome, ManifestPolicies};
use crate::review::{Request, allow, deny};

/// What the webhook does with a failed evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Allow silently (the decision is still recorded).
    Audit,
    /// Allow with the reasons as AdmissionResponse warnings (kubectl prints them).
    Warn,
    /// Deny with every reason.
    #[default]
    Enforce,
}

/// How one image fared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageOutcome {
    /// The reference as written in the object.
    pub image: String,
    /// Where it was found (`object.spec.containers[0].image`).
    pub path: String,
    /// Whether it satisfies the policies.
    pub allowed: bool,
    /// The digest it resolved to, when it was resolved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Why it fails (empty when allowed).
    pub reasons: Vec<String>,
}

/// What a judge says about one image.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Judgement {
    /// Whether it satisfies the policies that follow the configured mode.
    pub allowed: bool,
    /// The digest it resolved to, if it was resolved.
    pub digest: Option<String>,
    /// Why it fails those. An error (registry down, policy error) is a failure with its reason.
    pub reasons: Vec<String>,
    /// Failures of policies that carry a mode of their own, each with that mode (a policy in enforce
    /// mode denies even when the webhook audits; one in audit mode only records).
    pub notes: Vec<(Mode, String)>,
}

/// Judges one image. The webhook's judge verifies signatures and attestations with the image policies;
/// tests use stand-ins. Shared by every request the webhook serves, so it is `Send + Sync` and its
/// futures are `Send`.
pub trait ImageJudge: Send + Sync {
    /// The judgement of `image` (a reference as written in the object).
    fn judge(&self, image: &str) -> impl std::future::Future<Output = Judgement> + Send;

    /// Cache hits and misses so far, for a judge that caches (for `/metrics`).
    fn cache_stats(&self) -> (u64, u64) {
        (0, 0)
    }
}

/// Settings of one evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// What to do with a failure.
    pub mode: Mode,
    /// The time within which every image must be judged.
    pub budget: Duration,
    /// Namespaces whose requests are admitted without evaluation (the cluster's own).
    pub exempt_namespaces: Vec<String>,
    /// Whether images are judged (false when the configuration names no image policy: only manifest
    /// policies apply).
    pub judge_images: bool,
    /// Kyverno policies evaluated on the request's object.
    pub manifest: ManifestPolicies,
    /// The cluster manifest policies read (namespace labels, ConfigMaps, API GETs), when configured.
    pub cluster: Option<std::sync::Arc<crate::cluster::ClusterAccess>>,
    /// The policy bundle the configuration came from, named in every decision.
    pub policy_bundle: Option<PolicyBundle>,
}

/// The policy bundle a webhook's configuration came from (docs/bundles.md): which policy version decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct PolicyBundle {
    /// The bundle's digest (`sha256:…`).
    pub digest: String,
    /// The registry reference it was resolved from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The git commit of each of its sources built from a checkout, by source name.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub commits: std::collections::BTreeMap<String, String>,
}

/// The namespaces exempt by default: the control plane's and verdict's own, so the cluster cannot lock
/// itself out.
pub const DEFAULT_EXEMPT_NAMESPACES: [&str; 4] =
    ["kube-system", "kube-public", "kube-node-lease", "verdict-system"];

impl Default for Settings {
    fn default() -> Self {
        Settings {
            mode: Mode::Enforce,
            budget: Duration::from_secs(8),
            exempt_namespaces: DEFAULT_EXEMPT_NAMESPACES.iter().map(|n| (*n).to_owned()).collect(),
            judge_images: true,
            manifest: ManifestPolicies::default(),
            cluster: None,
            policy_bundle: None,
        }
    }
}

/// The decision about one request: what was checked, the outcome and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AdmissionDecision {
    /// The request's uid.
    pub uid: String,
    /// Its namespace, if any.
    pub namespace: Option<String>,
    /// The kind of the object (`Deployment`).
    pub kind: String,
    /// The object's name.
    pub name: String,
    /// `CREATE`, `UPDATE`, ….
    pub operation: String,
    /// Whether the request was a dry run (evaluated, no side effects).
    pub dry_run: bool,
    /// The mode the answer was given in.
    pub mode: Mode,
    /// Whether the evaluation passed (every image allowed). The answer also depends on the mode.
    pub passed: bool,
    /// Whether the request was admitted.
    pub admitted: bool,
    /// The images checked, each with its outcome.
    pub images: Vec<ImageOutcome>,
    /// Every reason the evaluation failed, or why nothing was evaluated.
    pub reasons: Vec<String>,
    /// Failures of policies with a mode of their own, with that mode.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<(Mode, String)>,
    /// The manifest policies' rules that applied, each with its result.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub manifest: Vec<ManifestOutcome>,
    /// The policy bundle the configuration came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_bundle: Option<PolicyBundle>,
}

fn operation_name(operation: &Operation) -> &'static str {
    match operation {
        Operation::Create => "CREATE",
        Operation::Update => "UPDATE",
        Operation::Delete => "DELETE",
        Operation::Connect => "CONNECT",
    }
}

/// Decides `request`: its images judged by `judge` within `settings.budget`.
pub async fn decide(request: &Request, judge: &impl ImageJudge, settings: &Settings) -> AdmissionDecision {
    let mut decision = AdmissionDecision {
        uid: request.uid.clone(),
        namespace: request.namespace.clone(),
        kind: request.kind.kind.clone(),
        name: request.name.clone(),
        operation: operation_name(&request.operation).to_owned(),
        dry_run: request.dry_run,
        mode: settings.mode,
        passed: true,
        admitted: true,
        images: Vec::new(),
        reasons: Vec::new(),
        notes: Vec::new(),
        manifest: Vec::new(),
        policy_bundle: settings.policy_bundle.clone(),
    };
    if let Some(namespace) = &request.namespace
        && settings.exempt_namespaces.iter().any(|n| n == namespace)
    {
        decision.reasons.push(format!("namespace {namespace} is exempt: not evaluated"));
        return decision;
    }
    let object = request.object.as_ref().map(to_json).unwrap_or(Value::Null);
    let old_object = request.old_object.as_ref().map(to_json).unwrap_or(Value::Null);
    if matches!(request.operation, Operation::Create | Operation::Update) && !settings.manifest.is_empty() {
        judge_manifest(request, &object, &old_object, settings, &mut decision).await;
    }
    if !settings.judge_images {
        return finish(decision);
    }
    let images = match request.operation {
        Operation::Create => request_images(&request.kind.kind, &object, &Value::Null),
        // An unchanged image was admitted when it was introduced; only new ones are checked.
        Operation::Update => changed_images(&request.kind.kind, &object, &old_object),
        Operation::Delete | Operation::Connect => {
            decision.reasons.push("nothing runs because of this operation: not evaluated".to_owned());
            return decision;
        }
    };
    let images = match images {
        Ok(images) => images,
        Err(err) => {
            decision.passed = false;
            decision.reasons.push(format!("the object cannot be checked: {err}"));
            return finish(decision);
        }
    };
    let judged = tokio::time::timeout(
        settings.budget,
        futures_util::future::join_all(images.iter().map(|image| judge.judge(&image.image))),
    )
    .await;
    match judged {
        Ok(judgements) => {
            for (image, judgement) in images.into_iter().zip(judgements) {
                for reason in &judgement.reasons {
                    decision.reasons.push(format!("{} ({}): {reason}", image.image, image.path));
                }
                if !judgement.allowed && judgement.reasons.is_empty() {
                    decision.reasons.push(format!("{} ({}): denied", image.image, image.path));
                }
                for (mode, note) in &judgement.notes {
                    decision.notes.push((*mode, format!("{} ({}): {note}", image.image, image.path)));
                }
                decision.passed &= judgement.allowed && judgement.notes.is_empty();
                decision.images.push(ImageOutcome {
                    image: image.image,
                    path: image.path,
                    allowed: judgement.allowed && judgement.notes.is_empty(),
                    digest: judgement.digest,
                    reasons: judgement.reasons,
                });
            }
        }
        Err(_) => {
            decision.passed = false;
            let reason = format!("the images were not verified within the budget of {:?}", settings.budget);
            for image in images {
                decision.reasons.push(format!("{} ({}): {reason}", image.image, image.path));
                decision.images.push(ImageOutcome {
                    image: image.image,
                    path: image.path,
                    allowed: false,
                    digest: None,
                    reasons: vec![reason.clone()],
                });
            }
        }
    }
    finish(decision)
}

/// Evaluates the manifest policies on the request: an enforced rule's failure (or error) is a failure
/// in the configured mode, an audited one a note recorded in audit mode. With a cluster configured,
/// the namespace's labels and the context entries that read the cluster come from it; a cluster that
/// cannot be read fails the request (it would otherwise skip the rules that select by its data).
async fn judge_manifest(
    request: &Request,
    object: &Value,
    old_object: &Value,
    settings: &Settings,
    decision: &mut AdmissionDecision,
) {
    // The API server names the namespace in the request; a new object may not carry it yet.
    let with_namespace = |value: &Value| {
        let mut value = value.clone();
        if let (Some(namespace), Some(metadata)) =
            (&request.namespace, value.get_mut("metadata").and_then(Value::as_object_mut))
            && !metadata.contains_key("namespace")
        {
            metadata.insert("namespace".to_owned(), Value::String(namespace.clone()));
        }
        value
    };
    let mut info = verdict_kyverno::RequestInfo {
        operation: operation_name(&request.operation).to_owned(),
        user_info: serde_json::to_value(&request.user_info).unwrap_or(Value::Null),
        subresource: request.sub_resource.clone().unwrap_or_default(),
        ..verdict_kyverno::RequestInfo::default()
    };
    let mut data = None;
    if let Some(cluster) = &settings.cluster {
        let multi_threaded =
            tokio::runtime::Handle::current().runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread;
        let read = async {
            if !multi_threaded {
                return Err("reading the cluster needs a multi-threaded runtime".to_owned());
            }
            if let Some(namespace) = &request.namespace {
                info.namespace_labels = Some(cluster.namespace_labels(namespace).await?);
            }
            cluster.data().await
        };
        match read.await {
            Ok(source) => data = Some(source),
            Err(err) => {
                decision.passed = false;
                decision.reasons.push(format!("the manifest policies cannot read the cluster: {err}"));
                return;
            }
        }
    }
    let (object, old_object) = (with_namespace(object), with_namespace(old_object));
    let manifest = &settings.manifest;
    let outcomes = if data.is_some() {
        // Context entries read the cluster synchronously: this worker thread waits for them.
        tokio::task::block_in_place(|| manifest.evaluate(&object, &old_object, info, data))
    } else {
        manifest.evaluate(&object, &old_object, info, None)
    };
    for outcome in outcomes {
        if outcome.failed() {
            decision.passed = false;
            match outcome.action {
                verdict_kyverno::Action::Enforce => decision.reasons.push(outcome.reason()),
                verdict_kyverno::Action::Audit => decision.notes.push((Mode::Audit, outcome.reason())),
            }
        }
        decision.manifest.push(outcome);
    }
}

/// The failures an answer acts on in `mode`: the configured mode's own failures (`reasons`) when it is
/// `mode`, and the notes of policies in `mode`.
fn failures_in(decision: &AdmissionDecision, mode: Mode) -> Vec<String> {
    let mut failures = if decision.mode == mode { decision.reasons.clone() } else { Vec::new() };
    failures.extend(decision.notes.iter().filter(|(m, _)| *m == mode).map(|(_, note)| note.clone()));
    failures
}

/// Sets whether the request is admitted: it is denied when a failure is in enforce mode — the configured
/// mode's failures when that is enforce, or any policy of its own in enforce mode.
fn finish(mut decision: AdmissionDecision) -> AdmissionDecision {
    decision.admitted = decision.passed || failures_in(&decision, Mode::Enforce).is_empty();
    decision
}

fn to_json(object: &DynamicObject) -> Value {
    serde_json::to_value(object).unwrap_or(Value::Null)
}

/// The AdmissionReview answer for `decision`: a denial with every reason in enforce mode, an admission
/// with the reasons as warnings in warn mode, a silent admission in audit mode.
pub fn answer(request: &Request, decision: &AdmissionDecision) -> AdmissionReview<DynamicObject> {
    if decision.passed {
        return allow(request, Vec::new());
    }
    let enforced = failures_in(decision, Mode::Enforce);
    if !enforced.is_empty() {
        return deny(request, &format!("verdict: {}", enforced.join("; ")));
    }
    allow(request, failures_in(decision, Mode::Warn).iter().map(|r| format!("verdict: {r}")).collect())
}
