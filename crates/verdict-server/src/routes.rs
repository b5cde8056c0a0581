//! The REST API: one handler per [`Ledger`] operation, under `/api/v1/orgs/{org}`. Each handler checks
//! the caller's token against the org and role it needs, then calls the ledger; errors become
//! [`ApiError`]s.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use verdict_ledger::{Artifact, Attestation, Flow, Ledger, RecordKind, Recorded, Role, Trail};

use crate::auth::Caller;
use crate::body::PendingBody;
use crate::error::ApiError;
use crate::state::AppState;

type Shared = State<Arc<AppState>>;
type Created<T> = Result<(StatusCode, Json<Recorded<T>>), ApiError>;

fn same(field: &str, in_path: &str, in_body: &str) -> Result<(), ApiError> {
    if in_path == in_body {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "the body's {field} {in_body:?} differs from the {field} {in_path:?} in the URL"
        )))
    }
}

/// `GET /api/v1/orgs/{org}/flows`
pub async fn list_flows(
    State(state): Shared,
    caller: Caller,
    Path(org): Path<String>,
) -> Result<Json<Vec<Recorded<Flow>>>, ApiError> {
    caller.allow(&org, Role::Read)?;
    Ok(Json(state.ledger.flows(&org).await?))
}

/// `POST /api/v1/orgs/{org}/flows`
pub async fn put_flow(
    State(state): Shared,
    caller: Caller,
    Path(org): Path<String>,
    body: PendingBody,
) -> Created<Flow> {
    caller.allow(&org, Role::Write)?;
    let flow: Flow = body.json().await?;
    Ok((StatusCode::CREATED, Json(state.ledger.put_flow(&org, flow).await?)))
}

/// `GET /api/v1/orgs/{org}/flows/{flow}`
pub async fn get_flow(
    State(state): Shared,
    caller: Caller,
    Path((org, flow)): Path<(String, String)>,
) -> Result<Json<Recorded<Flow>>, ApiError> {
    caller.allow(&org, Role::Read)?;
    match state.ledger.flow(&org, &flow).await? {
        Some(record) => Ok(Json(record)),
        None => Err(ApiError::not_found(format!("flow {flow:?} does not exist in org {org:?}"))),
    }
}

/// `GET /api/v1/orgs/{org}/flows/{flow}/versions`: every version of the flow, oldest first.
pub async fn flow_versions(
    State(state): Shared,
    caller: Caller,
    Path((org, flow)): Path<(String, String)>,
) -> Result<Json<Vec<Recorded<Flow>>>, ApiError> {
    caller.allow(&org, Role::Read)?;
    let versions = state.ledger.flow_versions(&org, &flow).await?;
    if versions.is_empty() {
        return Err(ApiError::not_found(format!("flow {flow:?} does not exist in org {org:?}")));
    }
    Ok(Json(versions))
}

/// `GET /api/v1/orgs/{org}/flows/{flow}/trails`
pub async fn list_trails(
    State(state): Shared,
    caller: Caller,
    Path((org, flow)): Path<(String, String)>,
) -> Result<Json<Vec<Recorded<Trail>>>, ApiError> {
    caller.allow(&org, Role::Read)?;
    Ok(Json(state.ledger.trails(&org, &flow).await?))
}

/// `POST /api/v1/orgs/{org}/flows/{flow}/trails`
pub async fn begin_trail(
    State(state): Shared,
    caller: Caller,
    Path((org, flow)): Path<(String, String)>,
    body: PendingBody,
) -> Created<Trail> {
    caller.allow(&org, Role::Write)?;
    let trail: Trail = body.json().await?;
    same("flow", &flow, &trail.flow)?;
    Ok((StatusCode::CREATED, Json(state.ledger.begin_trail(&org, trail).await?)))
}

/// `GET /api/v1/orgs/{org}/flows/{flow}/trails/{trail}`
pub async fn get_trail(
    State(state): Shared,
    caller: Caller,
    Path((org, flow, trail)): Path<(String, String, String)>,
) -> Result<Json<Recorded<Trail>>, ApiError> {
    caller.allow(&org, Role::Read)?;
    match state.ledger.trail(&org, &flow, &trail).await? {
        Some(record) => Ok(Json(record)),
        None => Err(ApiError::not_found(format!(
            "trail {trail:?} does not exist in flow {flow:?} of org {org:?}"
        ))),
    }
}

/// `GET /api/v1/orgs/{org}/flows/{flow}/trails/{trail}/document`
pub async fn trail_document(
    State(state): Shared,
    caller: Caller,
    Path((org, flow, trail)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    caller.allow(&org, Role::Read)?;
    Ok(Json(state.ledger.trail_document(&org, &flow, &trail).await?))
}

/// `GET /api/v1/orgs/{org}/flows/{flow}/trails/{trail}/artifacts`
pub async fn list_artifacts(
    State(state): Shared,
    caller: Caller,
    Path((org, flow, trail)): Path<(String, String, String)>,
) -> Result<Json<Vec<Recorded<Artifact>>>, ApiError> {
    caller.allow(&org, Role::Read)?;
    Ok(Json(state.ledger.artifacts(&org, &flow, &trail).await?))
}

/// `POST /api/v1/orgs/{org}/flows/{flow}/trails/{trail}/artifacts`
pub async fn report_artifact(
    State(state): Shared,
    caller: Caller,
    Path((org, flow, trail)): Path<(String, String, String)>,
    body: PendingBody,
) -> Created<Artifact> {
    caller.allow(&org, Role::Write)?;
    let artifact: Artifact = body.json().await?;
    same("flow", &flow, &artifact.flow)?;
    same("trail", &trail, &artifact.trail)?;
    Ok((StatusCode::CREATED, Json(state.ledger.report_artifact(&org, artifact).await?)))
}

/// `GET /api/v1/orgs/{org}/flows/{flow}/trails/{trail}/attestations`
pub async fn list_attestations(
    State(state): Shared,
    caller: Caller,
    Path((org, flow, trail)): Path<(String, String, String)>,
) -> Result<Json<Vec<Recorded<Attestation>>>, ApiError> {
    caller.allow(&org, Role::Read)?;
    Ok(Json(state.ledger.attestations(&org, &flow, &trail).await?))
}

/// `POST /api/v1/orgs/{org}/flows/{flow}/trails/{trail}/attestations`
pub async fn attest(
    State(state): Shared,
    caller: Caller,
    Path((org, flow, trail)): Path<(String, String, String)>,
    body: PendingBody,
) -> Created<Attestation> {
    caller.allow(&org, Role::Write)?;
    let attestation: Attestation = body.json().await?;
    same("flow", &flow, &attestation.flow)?;
    same("trail", &trail, &attestation.trail)?;
    Ok((StatusCode::CREATED, Json(state.ledger.attest(&org, attestation).await?)))
}

fn record_kind(kind: &str) -> Result<RecordKind, ApiError> {
    RecordKind::parse(kind).ok_or_else(|| {
        let known: Vec<&str> = RecordKind::ALL.iter().map(|k| k.as_str()).collect();
        ApiError::not_found(format!("unknown record kind {kind:?}: one of {}", known.join(", ")))
    })
}

/// `POST /api/v1/orgs/{org}/records/{kind}/{subject}`
pub async fn append_record(
    State(state): Shared,
    caller: Caller,
    Path((org, kind, subject)): Path<(String, String, String)>,
    body: PendingBody,
) -> Created<Value> {
    let kind = record_kind(&kind)?;
    caller.allow(&org, kind.role_to_append())?;
    let body: Value = body.json().await?;
    Ok((StatusCode::CREATED, Json(state.ledger.append_record(&org, kind, &subject, body).await?)))
}

/// `GET /api/v1/orgs/{org}/records/{kind}/{subject}`
pub async fn records(
    State(state): Shared,
    caller: Caller,
    Path((org, kind, subject)): Path<(String, String, String)>,
) -> Result<Json<Vec<Recorded<Value>>>, ApiError> {
    caller.allow(&org, Role::Read)?;
    let kind = record_kind(&kind)?;
    Ok(Json(state.ledger.records(&org, kind, &subject).await?))
}

/// `GET /api/v1/orgs/{org}/records/{kind}`
pub async fn latest_records(
    State(state): Shared,
    caller: Caller,
    Path((org, kind)): Path<(String, String)>,
) -> Result<Json<Vec<(String, Recorded<Value>)>>, ApiError> {
    caller.allow(&org, Role::Read)?;
    let kind = record_kind(&kind)?;
    Ok(Json(state.ledger.latest_records(&org, kind).await?))
}

/// `GET /api/v1/orgs/{org}/fingerprints/{fingerprint}/artifacts`
pub async fn artifact_reports(
    State(state): Shared,
    caller: Caller,
    Path((org, fingerprint)): Path<(String, String)>,
) -> Result<Json<Vec<Recorded<Artifact>>>, ApiError> {
    caller.allow(&org, Role::Read)?;
    Ok(Json(state.ledger.artifact_reports(&org, &fingerprint).await?))
}

/// `GET /api/v1/orgs/{org}/search/{prefix}`: the artifact reports and trails a fingerprint or commit
/// prefix names.
pub async fn search(
    State(state): Shared,
    caller: Caller,
    Path((org, prefix)): Path<(String, String)>,
) -> Result<Json<verdict_ledger::SearchHits>, ApiError> {
    caller.allow(&org, Role::Read)?;
    Ok(Json(state.ledger.search(&org, &prefix).await?))
}

/// `POST /api/v1/orgs/{org}/artifact-reports`: the reports of many fingerprints at once (body: a list of
/// fingerprints; answer: one list of reports per fingerprint, in order).
pub async fn artifact_reports_many(
    State(state): Shared,
    caller: Caller,
    Path(org): Path<String>,
    body: PendingBody,
) -> Result<Json<Vec<Vec<Recorded<Artifact>>>>, ApiError> {
    caller.allow(&org, Role::Read)?;
    let fingerprints: Vec<String> = body.json().await?;
    Ok(Json(state.ledger.artifact_reports_many(&org, &fingerprints).await?))
}

/// `POST /api/v1/orgs/{org}/trail-documents`: many trail documents at once (body: a list of
/// `[flow, trail]`; answer: the documents, in order).
pub async fn trail_documents(
    State(state): Shared,
    caller: Caller,
    Path(org): Path<String>,
    body: PendingBody,
) -> Result<Json<Vec<Value>>, ApiError> {
    caller.allow(&org, Role::Read)?;
    let trails: Vec<(String, String)> = body.json().await?;
    Ok(Json(state.ledger.trail_documents(&org, &trails).await?))
}

/// `POST /api/v1/orgs/{org}/attachments`: the body is the file's content.
pub async fn put_attachment(
    State(state): Shared,
    caller: Caller,
    Path(org): Path<String>,
    body: PendingBody,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.allow(&org, Role::Write)?;
    let content = body.bytes().await?;
    let size = content.len();
    let sha256 = state.ledger.put_attachment(&org, content.to_vec()).await?;
    Ok((StatusCode::CREATED, Json(json!({"sha256": sha256, "size": size}))))
}

/// `GET /api/v1/orgs/{org}/attachments/{sha256}`
pub async fn get_attachment(
    State(state): Shared,
    caller: Caller,
    Path((org, sha256)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    caller.allow(&org, Role::Read)?;
    match state.ledger.attachment(&org, &sha256).await? {
        Some(content) => {
            Ok(([(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"))], content)
                .into_response())
        }
        None => Err(ApiError::not_found(format!("no attachment {sha256} in org {org:?}"))),
    }
}

/// `GET /api/v1/ledger/verify`: the whole chain (every org's entries), so only a server administrator
/// (a token of org `*`) may run it; an org's admin may not learn about other orgs' entries.
pub async fn verify(State(state): Shared, caller: Caller) -> Result<Json<Value>, ApiError> {
    if !caller.0.is_server_admin() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "insufficient_role",
            "verifying the whole chain needs a server administrator's token: \
             `verdict server token create --org '*' --role admin`",
        ));
    }
    let report = state.ledger.verify().await?;
    serde_json::to_value(report).map(Json).map_err(|err| ApiError::invalid(err.to_string()))
}

/// `GET /healthz`: the process is up.
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// `GET /readyz`: the database answers.
pub async fn readyz(State(state): Shared) -> Result<Json<Value>, ApiError> {
    state.ledger.ping().await?;
    Ok(Json(json!({"status": "ready"})))
}

/// `GET /api/v1/openapi.json`
pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], crate::OPENAPI_DOCUMENT)
        .into_response()
}

/// Any other path.
pub async fn no_route() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no_route", "no such API endpoint (see /api/v1/openapi.json)")
}

/// A known path with the wrong method.
pub async fn wrong_method() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take that method (see /api/v1/openapi.json)",
    )
}
