//! The webhook and the evidence ledger. With `ledger.environment` configured, an image that satisfies
//! the image policies must also pass `assert artifact` against that environment's attached policies —
//! the very function the CLI calls (`verdict_enforce::assert_artifact`, given here by the caller, which
//! owns the ledger) — and a ledger that cannot answer fails the image. Every decision is also evidence:
//! it is appended to the ledger asynchronously, from a bounded buffer with retries, never delaying or
//! changing the answer.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;

use crate::decision::{AdmissionDecision, ImageJudge, Judgement};

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// What the environment's policies say about an image digest (`sha256:…`), given the image reference as
/// written: `Ok(None)` compliant, `Ok(Some(reasons))` not compliant, `Err` the ledger could not answer.
pub type EnvironmentCheck =
    Arc<dyn Fn(String, String) -> BoxFuture<Result<Option<String>, String>> + Send + Sync>;

/// The `assert artifact` request the environment check makes for an image: its digest, against the
/// environment's attached policies, named as written when the ledger knows no name, recording nothing
/// (the admission decision is recorded on its own).
pub fn environment_request(
    digest: &str,
    image: String,
    environment: String,
) -> verdict_enforce::AssertRequest {
    verdict_enforce::AssertRequest {
        fingerprint: digest.trim_start_matches("sha256:").to_owned(),
        name: None,
        fallback_name: Some(image),
        policies: verdict_enforce::PolicyChoice::Environment(environment),
        flow: None,
        record: false,
    }
}

/// What an `assert artifact` outcome means at admission, as an [`EnvironmentCheck`] answers: compliant
/// passes; anything else fails the image with the status and every reason; a ledger that could not answer
/// is an error, which fails it too.
pub fn environment_outcome(
    outcome: Result<verdict_enforce::AssertDecision, verdict_ledger::LedgerError>,
) -> Result<Option<String>, String> {
    match outcome {
        Ok(decision) if decision.evaluation.compliant => Ok(None),
        Ok(decision) => {
            let reasons: Vec<String> =
                decision.evaluation.artifacts.iter().flat_map(|a| a.decision.reasons.clone()).collect();
            Ok(Some(format!("{}: {}", decision.evaluation.status, reasons.join("; "))))
        }
        Err(err) => Err(err.to_string()),
    }
}

/// Judges with an image judge, then with the environment's policies in the ledger; the image passes
/// only if both pass.
pub struct EnvironmentJudge<J> {
    inner: J,
    environment: String,
    check: EnvironmentCheck,
}

impl<J> EnvironmentJudge<J> {
    /// `inner` first, then `check` against `environment`.
    pub fn new(inner: J, environment: String, check: EnvironmentCheck) -> Self {
        EnvironmentJudge { inner, environment, check }
    }
}

impl<J: ImageJudge> ImageJudge for EnvironmentJudge<J> {
    async fn judge(&self, image: &str) -> Judgement {
        // The environment is checked even when the image already failed, so a denial gives every
        // reason at once (unsigned *and* not compliant) rather than one per attempt.
        let mut judgement = self.inner.judge(image).await;
        let Some(digest) = judgement.digest.clone() else {
            if judgement.allowed {
                judgement.allowed = false;
                judgement
                    .reasons
                    .push("the image's digest is unknown, so its evidence cannot be looked up".to_owned());
            }
            return judgement;
        };
        match (self.check)(digest, image.to_owned()).await {
            Ok(None) => judgement,
            Ok(Some(reasons)) => {
                judgement.allowed = false;
                judgement
                    .reasons
                    .push(format!("not compliant in environment {}: {reasons}", self.environment));
                judgement
            }
            Err(err) => {
                judgement.allowed = false;
                judgement.reasons.push(format!(
                    "environment {}'s policies could not be checked (ledger unavailable?): {err}",
                    self.environment
                ));
                judgement
            }
        }
    }

    fn cache_stats(&self) -> (u64, u64) {
        self.inner.cache_stats()
    }
}

/// Appends one decision (subject: the request's uid; body: the decision as JSON).
pub type AppendDecision = Arc<dyn Fn(String, Value) -> BoxFuture<Result<(), String>> + Send + Sync>;

/// Records decisions in the ledger in the background: a bounded queue (a full queue drops the newest
/// and counts it — the answer is never held back for the record), each append retried with backoff.
#[derive(Clone)]
pub struct DecisionRecorder {
    queue: mpsc::Sender<(String, Value)>,
    counters: Arc<RecorderCounters>,
}

/// What the recorder did, for `/metrics`.
#[derive(Debug, Default)]
pub struct RecorderCounters {
    /// Decisions appended.
    pub recorded: AtomicU64,
    /// Decisions dropped because the queue was full.
    pub dropped: AtomicU64,
    /// Decisions given up on after every retry failed.
    pub failed: AtomicU64,
}

impl DecisionRecorder {
    /// Starts the recorder's task (on the current tokio runtime), holding at most `capacity` decisions.
    pub fn start(append: AppendDecision, capacity: usize, attempts: u32) -> Self {
        let (queue, mut decisions) = mpsc::channel::<(String, Value)>(capacity.max(1));
        let counters = Arc::new(RecorderCounters::default());
        let worker = Arc::clone(&counters);
        tokio::spawn(async move {
            while let Some((uid, body)) = decisions.recv().await {
                let mut delay = Duration::from_millis(100);
                let mut done = false;
                for attempt in 1..=attempts.max(1) {
                    match append(uid.clone(), body.clone()).await {
                        Ok(()) => {
                            worker.recorded.fetch_add(1, Ordering::Relaxed);
                            done = true;
                            break;
                        }
                        Err(err) => {
                            tracing::warn!(%uid, attempt, "recording the admission decision failed: {err}");
                            tokio::time::sleep(delay).await;
                            delay = (delay * 2).min(Duration::from_secs(5));
                        }
                    }
                }
                if !done {
                    worker.failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        DecisionRecorder { queue, counters }
    }

    /// Queues `decision` for the ledger; never waits.
    pub fn record(&self, decision: &AdmissionDecision) {
        let body = serde_json::to_value(decision).unwrap_or(Value::Null);
        if self.queue.try_send((decision.uid.clone(), body)).is_err() {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(uid = %decision.uid, "the decision queue is full: this decision is not recorded in the ledger");
        }
    }

    /// The counters.
    pub fn counters(&self) -> &RecorderCounters {
        &self.counters
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::decision::Mode;

    fn decision(uid: &str) -> AdmissionDecision {
        AdmissionDecision {
            uid: uid.into(),
            namespace: Some("shop".into()),
            kind: "Pod".into(),
            name: "p".into(),
            operation: "CREATE".into(),
            dry_run: false,
            mode: Mode::Enforce,
            passed: true,
            admitted: true,
            images: Vec::new(),
            reasons: Vec::new(),
            notes: Vec::new(),
            manifest: Vec::new(),
            policy_bundle: None,
        }
    }

    #[tokio::test]
    async fn decisions_are_recorded_with_retries_and_never_block() {
        let stored = Arc::new(Mutex::new(Vec::new()));
        let failures = Arc::new(std::sync::atomic::AtomicI64::new(2));
        let append: AppendDecision = {
            let stored = Arc::clone(&stored);
            let failures = Arc::clone(&failures);
            Arc::new(move |uid, _body| {
                let stored = Arc::clone(&stored);
                let failures = Arc::clone(&failures);
                Box::pin(async move {
                    // The ledger is down for the first two attempts.
                    if failures.fetch_sub(1, Ordering::SeqCst) > 0 {
                        return Err("ledger unavailable".to_owned());
                    }
                    stored.lock().unwrap().push(uid);
                    Ok(())
                })
            })
        };
        let recorder = DecisionRecorder::start(append, 16, 5);
        recorder.record(&decision("u-1"));
        recorder.record(&decision("u-2"));
        for _ in 0..100 {
            if recorder.counters().recorded.load(Ordering::Relaxed) == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(*stored.lock().unwrap(), ["u-1", "u-2"]);
        assert_eq!(recorder.counters().failed.load(Ordering::Relaxed), 0);
    }

    #[tokio::test]
    async fn a_full_queue_drops_and_counts_instead_of_waiting() {
        let append: AppendDecision = Arc::new(|_, _| {
            Box::pin(async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                Ok(())
            })
        });
        let recorder = DecisionRecorder::start(append, 1, 1);
        let started = std::time::Instant::now();
        for index in 0..10 {
            recorder.record(&decision(&format!("u-{index}")));
        }
        assert!(started.elapsed() < Duration::from_millis(100), "recording never waits");
        assert!(recorder.counters().dropped.load(Ordering::Relaxed) >= 8);
    }

    struct Signed;

    impl ImageJudge for Signed {
        async fn judge(&self, image: &str) -> Judgement {
            let allowed = image.ends_with(":signed");
            Judgement {
                allowed,
                digest: allowed.then(|| format!("sha256:{}", "a".repeat(64))),
                reasons: Vec::new(),
                notes: Vec::new(),
            }
        }
    }

    fn check(answer: Result<Option<String>, String>) -> EnvironmentCheck {
        Arc::new(move |_, _| {
            let answer = answer.clone();
            Box::pin(async move { answer })
        })
    }

    #[tokio::test]
    async fn the_environment_check_follows_the_image_policy_and_fails_closed() {
        let compliant = EnvironmentJudge::new(Signed, "prod".into(), check(Ok(None)));
        assert!(compliant.judge("ghcr.io/a:signed").await.allowed);
        assert!(!compliant.judge("ghcr.io/a:unsigned").await.allowed, "the image policy still decides first");
        let not =
            EnvironmentJudge::new(Signed, "prod".into(), check(Ok(Some("NON-COMPLIANT: provenance".into()))));
        let judged = not.judge("ghcr.io/a:signed").await;
        assert!(!judged.allowed);
        assert!(judged.reasons[0].contains("not compliant in environment prod: NON-COMPLIANT: provenance"));
        let down = EnvironmentJudge::new(Signed, "prod".into(), check(Err("connection refused".into())));
        let judged = down.judge("ghcr.io/a:signed").await;
        assert!(!judged.allowed, "a ledger that cannot answer fails the image");
        assert!(judged.reasons[0].contains("could not be checked"), "{:?}", judged.reasons);
    }
}
