//! "May this artifact run?": the one decision behind `verdict assert artifact` (and, later, the admission
//! webhook's environment check). It chooses the policies, names the artifact the way the environment
//! does, evaluates, and optionally records the decision — never printing and never exiting, so every
//! caller decides from the same value.

use std::collections::BTreeMap;

use serde::Serialize;
use verdict_ledger::records::Snapshot;
use verdict_ledger::{Ledger, LedgerError, RecordKind};

use crate::environments::require_environment;
use crate::evaluation::{AppliedPolicy, Evaluation, PolicySet, allow_list, evaluate_artifacts, policy_set};
use crate::policies::{attached_policies, policy};

/// Without an environment or policies, an artifact is judged by its flows' templates: it needs
/// provenance, and a COMPLIANT status in some trail and NON-COMPLIANT in none (DESIGN.md rules 4 and 6).
const TEMPLATE_POLICY: &str = "_schema: https://kosli.com/schemas/policy/environment/v1\nartifacts:\n  provenance:\n    required: true\n  trail-compliance:\n    required: true\n";

/// Which policies judge the artifact.
#[derive(Debug, Clone)]
pub enum PolicyChoice {
    /// The policies attached to this environment, with its allow-list.
    Environment(String),
    /// Policies loaded by the caller (files) and policies stored in the ledger, by name (latest version).
    Policies {
        /// Already loaded policies (from files).
        loaded: PolicySet,
        /// Names of policies stored with `create policy`.
        stored: Vec<String>,
    },
    /// The artifact's flows' templates (provenance and trail compliance).
    FlowTemplates,
}

/// What to decide.
#[derive(Debug, Clone)]
pub struct AssertRequest {
    /// The artifact's SHA-256.
    pub fingerprint: String,
    /// The name policies see as `artifact.name`; `None` to resolve it (see [`artifact_name`]).
    pub name: Option<String>,
    /// The name to use when nothing else names the artifact (a path it was fingerprinted from).
    pub fallback_name: Option<String>,
    /// Which policies judge it.
    pub policies: PolicyChoice,
    /// Only evidence from this flow.
    pub flow: Option<String>,
    /// Record the decision in the ledger.
    pub record: bool,
}

/// The decision: the evaluation and where it was made.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AssertDecision {
    /// The evaluation of the one artifact.
    #[serde(flatten)]
    pub evaluation: Evaluation,
    /// Where it was judged (an environment, "the given policies", "its flows' templates").
    pub scope: String,
    /// Whether the decision was recorded in the ledger.
    pub recorded: bool,
}

/// A decision as recorded in the ledger (`decision` records).
#[derive(Serialize)]
struct RecordedDecision<'a> {
    fingerprint: &'a str,
    name: &'a str,
    scope: &'a str,
    status: &'a str,
    compliant: bool,
    policies: &'a [AppliedPolicy],
    evidence_digest: &'a str,
    reasons: &'a [String],
}

/// What the environment calls the artifact when it runs there: its name in the latest snapshot of the
/// environment (or of a member of a logical environment). This is the name the snapshot evaluation
/// judged it under, so `assert` and snapshots agree.
pub async fn running_name(
    ledger: &impl Ledger,
    org: &str,
    environment: &str,
    fingerprint: &str,
) -> Result<Option<String>, LedgerError> {
    let env = require_environment(ledger, org, environment).await?.record;
    let members =
        if env.kind == "logical" { env.included_environments } else { vec![environment.to_owned()] };
    for member in members {
        let Some(record) = ledger.latest_record(org, RecordKind::Snapshot, &member).await? else { continue };
        let snapshot: Snapshot = serde_json::from_value(record.record)
            .map_err(|err| LedgerError::Corrupt { seq: record.seq, message: err.to_string() })?;
        if let Some(running) = snapshot.artifacts.iter().find(|a| a.fingerprint == fingerprint) {
            return Ok(Some(running.name.clone()));
        }
    }
    Ok(None)
}

/// The artifact's name for policy expressions, in order: the name the environment runs it under (so
/// `assert artifact --environment` and the snapshot evaluation judge the same name), the name it was
/// last reported with in a flow, `fallback`, or the fingerprint's first 12 characters.
pub async fn artifact_name(
    ledger: &impl Ledger,
    org: &str,
    fingerprint: &str,
    environment: Option<&str>,
    fallback: Option<&str>,
) -> Result<String, LedgerError> {
    if let Some(environment) = environment
        && let Some(name) = running_name(ledger, org, environment, fingerprint).await?
    {
        return Ok(name);
    }
    if let Some(report) = ledger.artifact_reports(org, fingerprint).await?.pop() {
        return Ok(report.record.name);
    }
    Ok(fallback.map(str::to_owned).unwrap_or_else(|| fingerprint.get(..12).unwrap_or(fingerprint).to_owned()))
}

/// The built-in policy that judges an artifact by its flows' templates.
fn template_policies() -> Result<PolicySet, LedgerError> {
    let loaded = verdict_policy::load_policy("flow templates", "flow-templates", TEMPLATE_POLICY)
        .map_err(|_| LedgerError::Invalid("the built-in template policy does not load".to_owned()))?;
    Ok(vec![(
        AppliedPolicy { name: "flow-templates".to_owned(), version: None, file: None, bundle: None },
        loaded.policy,
    )])
}

/// Decides whether the artifact may run, by the chosen policies, and records the decision when asked.
pub async fn assert_artifact(
    ledger: &impl Ledger,
    org: &str,
    request: &AssertRequest,
) -> Result<AssertDecision, LedgerError> {
    let fingerprint = &request.fingerprint;
    let environment = match &request.policies {
        PolicyChoice::Environment(environment) => Some(environment.as_str()),
        _ => None,
    };
    let (policies, allowed, scope) = match &request.policies {
        PolicyChoice::Environment(environment) => {
            require_environment(ledger, org, environment).await?;
            let attached = attached_policies(ledger, org, environment).await?;
            (policy_set(&attached)?, allow_list(ledger, org, environment).await?, environment.clone())
        }
        PolicyChoice::Policies { loaded, stored } => {
            let mut set = loaded.clone();
            for name in stored {
                let version = policy(ledger, org, name, None).await?;
                set.extend(policy_set(std::slice::from_ref(&version))?);
            }
            if set.is_empty() {
                return Err(LedgerError::Invalid("no policy was given".to_owned()));
            }
            (set, BTreeMap::new(), "the given policies".to_owned())
        }
        PolicyChoice::FlowTemplates => {
            (template_policies()?, BTreeMap::new(), "its flows' templates".to_owned())
        }
    };
    let name = match &request.name {
        Some(name) => name.clone(),
        None => {
            artifact_name(ledger, org, fingerprint, environment, request.fallback_name.as_deref()).await?
        }
    };
    let evaluation = evaluate_artifacts(
        ledger,
        org,
        &[(name, fingerprint.clone())],
        &policies,
        &allowed,
        &scope,
        request.flow.as_deref(),
    )
    .await?;
    if request.record {
        let Some(verdict) = evaluation.artifacts.first() else {
            return Err(LedgerError::Invalid("nothing was evaluated".to_owned()));
        };
        let decision = RecordedDecision {
            fingerprint,
            name: &verdict.decision.name,
            scope: &scope,
            status: &evaluation.status,
            compliant: evaluation.compliant,
            policies: &evaluation.policies,
            evidence_digest: &verdict.evidence_digest,
            reasons: &verdict.decision.reasons,
        };
        let body = serde_json::to_value(&decision).map_err(|err| LedgerError::Invalid(err.to_string()))?;
        ledger.append_record(org, RecordKind::Decision, fingerprint, body).await?;
    }
    Ok(AssertDecision { evaluation, scope, recorded: request.record })
}
