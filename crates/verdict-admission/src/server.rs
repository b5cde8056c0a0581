//! `verdict admission serve`: the validating webhook over HTTPS. `POST /validate` takes an
//! AdmissionReview and answers with one for the same uid; `/healthz` says the process is up,
//! `/metrics` reports in Prometheus' format, and `/readyz` that it can decide (the policy and trust root
//! were loaded before it listened) and with what: the configuration's generation, its mode, the policy
//! bundle being served, and why the last update was refused if it was. A body that is not a v1
//! AdmissionReview, or too large, is a 400 naming the problem — never an allow.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use serde_json::json;

use crate::decision::{ImageJudge, answer, decide};
use crate::ledger::DecisionRecorder;
use crate::live::LiveEvaluator;
use crate::review::parse_review;
use crate::tls::ReloadingCertificate;

/// How the webhook listens.
pub struct WebhookConfig {
    /// Where to listen (`0.0.0.0:8443`; port 0 picks one).
    pub listen: SocketAddr,
    /// The serving certificate; `None` serves plain HTTP (for tests and local use only).
    pub tls: Option<Arc<ReloadingCertificate>>,
    /// The largest review accepted.
    pub max_body_bytes: usize,
    /// Where decisions are recorded as evidence, if anywhere (dry runs are not recorded).
    pub recorder: Option<DecisionRecorder>,
}

struct AppState<J> {
    live: Arc<LiveEvaluator<J>>,
    max_body_bytes: usize,
    metrics: PrometheusHandle,
    recorder: Option<DecisionRecorder>,
}

/// The process's Prometheus recorder, installed once; every webhook in the process reports to it.
fn metrics_handle() -> PrometheusHandle {
    static HANDLE: std::sync::OnceLock<PrometheusHandle> = std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("verdict_admission_request_seconds".to_owned()),
                    &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0],
                )
                .map(PrometheusBuilder::build_recorder)
                .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
            let handle = recorder.handle();
            // Another recorder already installed (a library user's): ours still renders its own series.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// What kind of failure a reason is, for the failure counter's label.
fn failure_kind(reason: &str) -> &'static str {
    if reason.contains("within the budget") || reason.contains("longer than") {
        "timeout"
    } else if reason.contains("unavailable") || reason.contains("no such image") {
        "registry"
    } else if reason.contains("cannot be checked") {
        "invalid_object"
    } else {
        "policy"
    }
}

fn record_metrics(decision: &crate::decision::AdmissionDecision, started: std::time::Instant) {
    let outcome = if decision.admitted { "admitted" } else { "denied" };
    let mode = match decision.mode {
        crate::decision::Mode::Audit => "audit",
        crate::decision::Mode::Warn => "warn",
        crate::decision::Mode::Enforce => "enforce",
    };
    let namespace = decision.namespace.clone().unwrap_or_default();
    metrics::counter!("verdict_admission_requests_total").increment(1);
    metrics::counter!(
        "verdict_admission_decisions_total",
        "outcome" => outcome,
        "passed" => if decision.passed { "true" } else { "false" },
        "mode" => mode,
        "namespace" => namespace
    )
    .increment(1);
    metrics::histogram!("verdict_admission_request_seconds").record(started.elapsed().as_secs_f64());
    for image in decision.images.iter().filter(|image| !image.allowed) {
        let kind = image.reasons.first().map_or("policy", |reason| failure_kind(reason));
        metrics::counter!("verdict_admission_image_failures_total", "reason" => kind).increment(1);
    }
}

fn bad_review(message: String) -> Response {
    (StatusCode::BAD_REQUEST, axum::Json(json!({"error": {"code": "invalid_review", "message": message}})))
        .into_response()
}

async fn validate<J: ImageJudge + 'static>(
    State(state): State<Arc<AppState<J>>>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            metrics::counter!("verdict_admission_invalid_reviews_total").increment(1);
            return bad_review(format!("the review is larger than {} bytes", state.max_body_bytes));
        }
        Err(rejection) => return bad_review(rejection.body_text()),
    };
    let started = std::time::Instant::now();
    let request = match parse_review(&body) {
        Ok(request) => request,
        Err(err) => {
            tracing::warn!("refused a review: {err}");
            metrics::counter!("verdict_admission_invalid_reviews_total").increment(1);
            return bad_review(err.to_string());
        }
    };
    // This request is decided under the configuration current now, even if a reload lands meanwhile.
    let evaluator = state.live.current();
    let decision = decide(&request, &evaluator.judge, &evaluator.settings).await;
    record_metrics(&decision, started);
    // A dry run is evaluated like any request but leaves nothing behind.
    if let Some(recorder) = &state.recorder
        && !decision.dry_run
    {
        recorder.record(&decision);
    }
    // One structured line per decision: what was checked, the outcome, why.
    let record = serde_json::to_string(&decision).unwrap_or_default();
    tracing::info!(
        uid = %decision.uid,
        admitted = decision.admitted,
        passed = decision.passed,
        decision = %record,
        "admission decision"
    );
    axum::Json(answer(&request, &decision)).into_response()
}

/// `GET /metrics`: Prometheus text — requests, decisions by outcome, mode and namespace, the latency
/// histogram, cache hits and misses, image failures by kind, invalid reviews.
async fn metrics_text<J: ImageJudge + 'static>(State(state): State<Arc<AppState<J>>>) -> Response {
    let current = state.live.current();
    let (hits, misses) = current.judge.cache_stats();
    metrics::gauge!("verdict_admission_config_generation").set(current.generation as f64);
    metrics::gauge!("verdict_admission_cache_hits").set(hits as f64);
    metrics::gauge!("verdict_admission_cache_misses").set(misses as f64);
    if let Some(recorder) = &state.recorder {
        use std::sync::atomic::Ordering::Relaxed;
        let counters = recorder.counters();
        metrics::gauge!("verdict_admission_decisions_recorded").set(counters.recorded.load(Relaxed) as f64);
        metrics::gauge!("verdict_admission_decisions_dropped").set(counters.dropped.load(Relaxed) as f64);
        metrics::gauge!("verdict_admission_decisions_unrecorded").set(counters.failed.load(Relaxed) as f64);
    }
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render())
        .into_response()
}

/// `GET /readyz`: ready (the environment was built before the webhook listened), and what it serves.
async fn readyz<J: ImageJudge + 'static>(State(state): State<Arc<AppState<J>>>) -> Response {
    let current = state.live.current();
    let mut body = json!({
        "status": "ready",
        "generation": current.generation,
        "mode": current.settings.mode,
    });
    if let Some(bundle) = &current.settings.policy_bundle {
        body["policy_bundle"] = json!(bundle);
    }
    if let Some(refusal) = state.live.last_refusal() {
        body["last_update_refused"] = json!(refusal);
    }
    axum::Json(body).into_response()
}

/// The webhook's routes.
pub fn router<J: ImageJudge + 'static>(
    live: Arc<LiveEvaluator<J>>,
    max_body_bytes: usize,
    recorder: Option<DecisionRecorder>,
) -> Router {
    let state = Arc::new(AppState { live, max_body_bytes, metrics: metrics_handle(), recorder });
    Router::new()
        .route("/validate", post(validate::<J>))
        .route("/metrics", get(metrics_text::<J>))
        .route("/healthz", get(|| async { axum::Json(json!({"status": "ok"})) }))
        .route("/readyz", get(readyz::<J>))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(state)
}

/// Serves the webhook until the process ends, deciding with whatever `live` holds at each request;
/// `ready` is told the bound address first.
pub async fn serve<J: ImageJudge + 'static>(
    config: WebhookConfig,
    live: Arc<LiveEvaluator<J>>,
    ready: impl FnOnce(SocketAddr),
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    ready(listener.local_addr()?);
    let app = router(live, config.max_body_bytes, config.recorder);
    let Some(certificate) = config.tls else {
        return axum::serve(listener, app).await;
    };
    let server_config = certificate.server_config().map_err(std::io::Error::other)?;
    certificate.watch(Duration::from_secs(2));
    let acceptor = tokio_rustls::TlsAcceptor::from(server_config);
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(err) => {
                // Out of file descriptors and the like: keep serving the connections that exist.
                tracing::warn!("accept failed: {err}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let service = TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            // A client that never finishes its handshake holds only its own task.
            let tls = match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(err)) => {
                    tracing::debug!(%peer, "TLS handshake failed: {err}");
                    return;
                }
                Err(_) => return,
            };
            if let Err(err) =
                Builder::new(TokioExecutor::new()).serve_connection(TokioIo::new(tls), service).await
            {
                tracing::debug!(%peer, "connection ended: {err}");
            }
        });
    }
}
