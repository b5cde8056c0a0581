//! `verdict admission replay`: the recorded decisions of a running webhook judged again with a candidate
//! configuration — what enforce would have blocked. It is the audit → enforce exit criterion: switch to
//! enforce when replaying the audit period blocks nothing you want to run.

use serde::Serialize;
use serde_json::Value;

use crate::decision::{ImageJudge, Settings};

/// One recorded decision replayed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Replayed {
    /// The request's uid.
    pub uid: String,
    /// `namespace/kind/name`.
    pub workload: String,
    /// When it was decided.
    pub recorded_at: String,
    /// Whether it was admitted then.
    pub admitted_then: bool,
    /// Whether the candidate would pass it (and so admit it in enforce).
    pub passes_now: bool,
    /// Why the candidate would block it.
    pub reasons: Vec<String>,
    /// The digest of the policy bundle it was decided under, when it was decided under one: with the
    /// candidate's bundle, which policy version made each difference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bundle_then: Option<String>,
}

/// The decisions recorded in the last `since` (records of kind `admission_decision` as the ledger
/// returns them, by subject), oldest first, with when each was recorded.
pub fn recent(
    records: Vec<(String, verdict_ledger::Recorded<Value>)>,
    since: std::time::Duration,
) -> (String, Vec<(String, Value)>) {
    use time::format_description::well_known::Rfc3339;
    let cutoff = time::OffsetDateTime::now_utc() - since;
    let mut recent: Vec<(String, Value)> = records
        .into_iter()
        .filter(|(_, record)| {
            time::OffsetDateTime::parse(&record.recorded_at, &Rfc3339).is_ok_and(|at| at >= cutoff)
        })
        .map(|(_, record)| (record.recorded_at, record.record))
        .collect();
    recent.sort_by(|a, b| a.0.cmp(&b.0));
    (cutoff.format(&Rfc3339).unwrap_or_default(), recent)
}

/// Replays `decisions` (records' bodies with when they were recorded) with `judge` and `settings`. An
/// image is judged at the digest it had when it was decided, when that was recorded.
pub async fn replay(
    decisions: &[(String, Value)],
    judge: &impl ImageJudge,
    settings: &Settings,
) -> Vec<Replayed> {
    let mut replayed = Vec::with_capacity(decisions.len());
    for (recorded_at, decision) in decisions {
        let text = |key: &str| decision.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
        let namespace = text("namespace");
        let mut outcome = Replayed {
            uid: text("uid"),
            workload: format!("{}/{}/{}", namespace, text("kind"), text("name")),
            recorded_at: recorded_at.clone(),
            admitted_then: decision.get("admitted").and_then(Value::as_bool).unwrap_or(false),
            passes_now: true,
            reasons: Vec::new(),
            bundle_then: decision.pointer("/policy_bundle/digest").and_then(Value::as_str).map(str::to_owned),
        };
        if settings.exempt_namespaces.contains(&namespace) {
            replayed.push(outcome);
            continue;
        }
        for image in decision.get("images").and_then(Value::as_array).into_iter().flatten() {
            let reference = image.get("image").and_then(Value::as_str).unwrap_or_default();
            // Judge what ran: the digest recorded, when the reference did not pin one itself.
            let pinned = match image.get("digest").and_then(Value::as_str) {
                Some(digest) if !reference.contains('@') => format!("{reference}@{digest}"),
                _ => reference.to_owned(),
            };
            let judgement = judge.judge(&pinned).await;
            if !judgement.allowed {
                outcome.passes_now = false;
                outcome.reasons.extend(judgement.reasons.iter().map(|r| format!("{reference}: {r}")));
            }
        }
        replayed.push(outcome);
    }
    replayed
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::decision::Judgement;

    struct OnlyPinnedSigned;

    impl ImageJudge for OnlyPinnedSigned {
        async fn judge(&self, image: &str) -> Judgement {
            let allowed = image.contains(":signed@sha256:");
            Judgement {
                allowed,
                digest: None,
                reasons: if allowed { vec![] } else { vec!["not signed".into()] },
                notes: Vec::new(),
            }
        }
    }

    #[tokio::test]
    async fn replay_judges_what_ran_and_says_what_enforce_would_block() {
        let decision = |uid: &str, namespace: &str, image: &str| {
            json!({"uid": uid, "namespace": namespace, "kind": "Deployment", "name": "web", "admitted": true,
                   "images": [{"image": image, "path": "object.spec.template.spec.containers[0].image", "allowed": true,
                               "digest": format!("sha256:{}", "1".repeat(64)), "reasons": []}]})
        };
        let decisions = vec![
            ("t1".to_owned(), decision("u-1", "shop", "ghcr.io/acme/app:signed")),
            ("t2".to_owned(), decision("u-2", "shop", "ghcr.io/acme/app:unsigned")),
            ("t3".to_owned(), decision("u-3", "kube-system", "ghcr.io/acme/app:unsigned")),
        ];
        let replayed = replay(&decisions, &OnlyPinnedSigned, &Settings::default()).await;
        let passes: Vec<bool> = replayed.iter().map(|r| r.passes_now).collect();
        assert_eq!(passes, [true, false, true], "{replayed:?}");
        assert_eq!(replayed[1].reasons, ["ghcr.io/acme/app:unsigned: not signed"]);
        assert_eq!(replayed[1].workload, "shop/Deployment/web");
    }
}
