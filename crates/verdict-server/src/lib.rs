//! `verdict server`: the ledger's operations as a REST API (`/api/v1`), so CI jobs on many machines share
//! one ledger. Every request carries a bearer token bound to one org and role ([`auth`]); errors are JSON
//! with stable codes ([`error`]); the API is described by an OpenAPI document served at
//! `/api/v1/openapi.json`. The ledger is opened once and shared by `Arc`; handlers are thin.

pub mod auth;
pub mod body;
pub mod error;
pub mod routes;
pub mod state;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Request;
use axum::routing::get;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use verdict_ledger::SqlLedger;

pub use crate::error::ApiError;
pub use crate::state::AppState;

/// The OpenAPI 3.1 description of the API.
pub const OPENAPI_DOCUMENT: &str = include_str!("openapi.json");

/// The default request body limit: attachments are the largest bodies.
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// How the server is run.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on (port 0 picks a free one; the bound address is reported to `serve`'s caller).
    pub listen: SocketAddr,
    /// Largest request body accepted, in bytes (413 `payload_too_large` beyond it).
    pub max_body_bytes: usize,
}

/// The API's routes over `state`.
pub fn router(state: Arc<AppState>, max_body_bytes: usize) -> Router {
    use routes::*;
    let trail = "/api/v1/orgs/{org}/flows/{flow}/trails/{trail}";
    let api = Router::new()
        .route("/api/v1/orgs/{org}/flows", get(list_flows).post(put_flow))
        .route("/api/v1/orgs/{org}/flows/{flow}", get(get_flow))
        .route("/api/v1/orgs/{org}/flows/{flow}/versions", get(flow_versions))
        .route("/api/v1/orgs/{org}/flows/{flow}/trails", get(list_trails).post(begin_trail))
        .route(trail, get(get_trail))
        .route(&format!("{trail}/document"), get(trail_document))
        .route(&format!("{trail}/artifacts"), get(list_artifacts).post(report_artifact))
        .route(&format!("{trail}/attestations"), get(list_attestations).post(attest))
        .route("/api/v1/orgs/{org}/attachments", axum::routing::post(put_attachment))
        .route("/api/v1/orgs/{org}/attachments/{sha256}", get(get_attachment))
        .route("/api/v1/orgs/{org}/records/{kind}", get(latest_records))
        .route("/api/v1/orgs/{org}/records/{kind}/{subject}", get(records).post(append_record))
        .route("/api/v1/orgs/{org}/fingerprints/{fingerprint}/artifacts", get(artifact_reports))
        .route("/api/v1/orgs/{org}/artifact-reports", axum::routing::post(artifact_reports_many))
        .route("/api/v1/orgs/{org}/search/{prefix}", get(search))
        .route("/api/v1/orgs/{org}/trail-documents", axum::routing::post(trail_documents))
        .route("/api/v1/ledger/verify", get(verify))
        .route("/api/v1/openapi.json", get(openapi))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(state);
    let trace = TraceLayer::new_for_http()
        .make_span_with(|request: &Request<_>| {
            let request_id = request
                .headers()
                .get("x-request-id")
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            tracing::info_span!(
                "request",
                method = %request.method(),
                path = %request.uri().path(),
                request_id,
                token = tracing::field::Empty,
            )
        })
        .on_response(DefaultOnResponse::new().level(Level::INFO));
    api.layer(PropagateRequestIdLayer::x_request_id())
        .layer(trace)
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// Serves the API over `ledger` until SIGTERM or Ctrl-C, then stops accepting connections, lets
/// in-flight requests finish (up to 30 s) and closes the database. `bound` is told the real listening
/// address once the socket is open.
pub async fn serve(
    ledger: SqlLedger,
    config: ServerConfig,
    bound: impl FnOnce(SocketAddr),
) -> std::io::Result<()> {
    serve_until(ledger, config, bound, shutdown_signal()).await
}

/// [`serve`], stopping when `stop` completes instead of on a signal (for benchmarks and embedding).
pub async fn serve_until(
    ledger: SqlLedger,
    config: ServerConfig,
    bound: impl FnOnce(SocketAddr),
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    bound(listener.local_addr()?);
    let state = Arc::new(AppState { ledger: ledger.clone() });
    let app = router(state, config.max_body_bytes);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        stop.await;
        tracing::info!("shutting down: finishing in-flight requests");
        let _ = stop_tx.send(());
    });
    let outcome = tokio::select! {
        outcome = server => outcome,
        () = async {
            let _ = stop_rx.await;
            tokio::time::sleep(Duration::from_secs(30)).await;
        } => {
            tracing::warn!("in-flight requests did not finish within 30 s; stopping anyway");
            Ok(())
        }
    };
    ledger.close().await;
    outcome
}

async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
