//! The [`Ledger`] trait over HTTP: what the CLI uses when `--host` names a `verdict server`, so every
//! evidence command works the same against a shared server as against a local file. Server error codes
//! map back to [`LedgerError`] variants, so exit codes match the embedded ledger's.

use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use verdict_ledger::{
    Artifact, Attestation, ChainReport, Flow, Ledger, LedgerError, RecordKind, Recorded, Trail,
};

/// A ledger behind a `verdict server`.
#[derive(Debug, Clone)]
pub struct HttpLedger {
    client: reqwest::Client,
    base: String,
    token: Option<String>,
}

/// The server's error body.
#[derive(Debug, serde::Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Debug, serde::Deserialize)]
struct ErrorDetail {
    code: String,
    message: String,
}

fn unavailable(message: impl Into<String>) -> LedgerError {
    LedgerError::Unavailable { what: "ledger server", message: message.into() }
}

/// Escapes one path segment (names are validated to URL-safe characters, but unvalidated ones, such as
/// an unknown flow a user typed, must not change the path).
fn segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // "." and ".." would be resolved away by URL normalisation.
    let only_dots = text.bytes().all(|b| b == b'.');
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric()
            || matches!(byte, b'-' | b'_' | b'~' | b':')
            || (byte == b'.' && !only_dots)
        {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

impl HttpLedger {
    /// A client of the server at `host` (`http://…` or `https://…`), authenticating with `token`.
    pub fn new(host: &str, token: Option<String>) -> Result<Self, LedgerError> {
        let base = host.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(LedgerError::Invalid(format!(
                "--host needs http:// or https:// (got {host:?}; did you mean http://{host}?)"
            )));
        }
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("verdict/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| unavailable(format!("cannot build the HTTP client: {err}")))?;
        Ok(HttpLedger { client, base, token: token.filter(|t| !t.is_empty()) })
    }

    fn org_url(&self, org: &str, rest: &str) -> String {
        format!("{}/api/v1/orgs/{}{rest}", self.base, segment(org))
    }

    fn trail_url(&self, org: &str, flow: &str, trail: &str, rest: &str) -> String {
        self.org_url(org, &format!("/flows/{}/trails/{}{rest}", segment(flow), segment(trail)))
    }

    fn request(&self, method: Method, url: &str) -> RequestBuilder {
        let builder = self.client.request(method, url);
        match &self.token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    async fn send(&self, builder: RequestBuilder) -> Result<Response, LedgerError> {
        let response = builder.send().await.map_err(|err| {
            unavailable(format!("cannot reach {}: {}", self.base, verdict_core::error_chain::describe(&err)))
        })?;
        if response.status().is_success() {
            return Ok(response);
        }
        Err(self.error(response).await)
    }

    async fn error(&self, response: Response) -> LedgerError {
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let (code, message) = match serde_json::from_str::<ErrorBody>(&text) {
            Ok(body) => (body.error.code, body.error.message),
            Err(_) => (String::new(), format!("{status} from {}: {}", self.base, text.trim())),
        };
        match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => LedgerError::AccessDenied(message),
            StatusCode::NOT_FOUND if code == "not_found" => LedgerError::NotFound(message),
            StatusCode::NOT_FOUND => unavailable(format!(
                "{} does not look like a verdict server (no such endpoint: {message})",
                self.base
            )),
            status if status.is_client_error() => LedgerError::Invalid(message),
            _ => unavailable(message),
        }
    }

    async fn json<T: DeserializeOwned>(&self, response: Response) -> Result<T, LedgerError> {
        response
            .json()
            .await
            .map_err(|err| unavailable(format!("unreadable response from {}: {err}", self.base)))
    }

    async fn get<T: DeserializeOwned>(&self, url: &str) -> Result<T, LedgerError> {
        let response = self.send(self.request(Method::GET, url)).await?;
        self.json(response).await
    }

    async fn get_optional<T: DeserializeOwned>(&self, url: &str) -> Result<Option<T>, LedgerError> {
        match self.get(url).await {
            Ok(value) => Ok(Some(value)),
            Err(LedgerError::NotFound(_)) => Ok(None),
            Err(other) => Err(other),
        }
    }

    async fn post<B: Serialize, T: DeserializeOwned>(&self, url: &str, body: &B) -> Result<T, LedgerError> {
        let response = self.send(self.request(Method::POST, url).json(body)).await?;
        self.json(response).await
    }

    /// Whether the server is up and its database answers (`/readyz`).
    pub async fn ready(&self) -> Result<(), LedgerError> {
        self.send(self.request(Method::GET, &format!("{}/readyz", self.base))).await.map(drop)
    }
}

impl Ledger for HttpLedger {
    async fn put_flow(&self, org: &str, flow: Flow) -> Result<Recorded<Flow>, LedgerError> {
        self.post(&self.org_url(org, "/flows"), &flow).await
    }

    async fn flow(&self, org: &str, name: &str) -> Result<Option<Recorded<Flow>>, LedgerError> {
        self.get_optional(&self.org_url(org, &format!("/flows/{}", segment(name)))).await
    }

    async fn flows(&self, org: &str) -> Result<Vec<Recorded<Flow>>, LedgerError> {
        self.get(&self.org_url(org, "/flows")).await
    }

    async fn flow_versions(&self, org: &str, name: &str) -> Result<Vec<Recorded<Flow>>, LedgerError> {
        self.get(&self.org_url(org, &format!("/flows/{}/versions", segment(name)))).await
    }

    async fn begin_trail(&self, org: &str, trail: Trail) -> Result<Recorded<Trail>, LedgerError> {
        let url = self.org_url(org, &format!("/flows/{}/trails", segment(&trail.flow)));
        self.post(&url, &trail).await
    }

    async fn trail(&self, org: &str, flow: &str, name: &str) -> Result<Option<Recorded<Trail>>, LedgerError> {
        self.get_optional(&self.trail_url(org, flow, name, "")).await
    }

    async fn trails(&self, org: &str, flow: &str) -> Result<Vec<Recorded<Trail>>, LedgerError> {
        self.get(&self.org_url(org, &format!("/flows/{}/trails", segment(flow)))).await
    }

    async fn report_artifact(
        &self,
        org: &str,
        artifact: Artifact,
    ) -> Result<Recorded<Artifact>, LedgerError> {
        let url = self.trail_url(org, &artifact.flow, &artifact.trail, "/artifacts");
        self.post(&url, &artifact).await
    }

    async fn artifacts(
        &self,
        org: &str,
        flow: &str,
        trail: &str,
    ) -> Result<Vec<Recorded<Artifact>>, LedgerError> {
        self.get(&self.trail_url(org, flow, trail, "/artifacts")).await
    }

    async fn attest(
        &self,
        org: &str,
        attestation: Attestation,
    ) -> Result<Recorded<Attestation>, LedgerError> {
        let url = self.trail_url(org, &attestation.flow, &attestation.trail, "/attestations");
        self.post(&url, &attestation).await
    }

    async fn attestations(
        &self,
        org: &str,
        flow: &str,
        trail: &str,
    ) -> Result<Vec<Recorded<Attestation>>, LedgerError> {
        self.get(&self.trail_url(org, flow, trail, "/attestations")).await
    }

    async fn put_attachment(&self, org: &str, content: Vec<u8>) -> Result<String, LedgerError> {
        let request = self
            .request(Method::POST, &self.org_url(org, "/attachments"))
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(content);
        let stored: Value = self.json(self.send(request).await?).await?;
        stored
            .get("sha256")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| unavailable("the server's attachment response has no sha256"))
    }

    async fn attachment(&self, org: &str, sha256: &str) -> Result<Option<Vec<u8>>, LedgerError> {
        let url = self.org_url(org, &format!("/attachments/{}", segment(sha256)));
        match self.send(self.request(Method::GET, &url)).await {
            Ok(response) => {
                let bytes = response.bytes().await.map_err(|err| unavailable(err.to_string()))?;
                Ok(Some(bytes.to_vec()))
            }
            Err(LedgerError::NotFound(_)) => Ok(None),
            Err(other) => Err(other),
        }
    }

    async fn append_record(
        &self,
        org: &str,
        kind: RecordKind,
        subject: &str,
        body: Value,
    ) -> Result<Recorded<Value>, LedgerError> {
        let url = self.org_url(org, &format!("/records/{}/{}", kind.as_str(), segment(subject)));
        self.post(&url, &body).await
    }

    async fn records(
        &self,
        org: &str,
        kind: RecordKind,
        subject: &str,
    ) -> Result<Vec<Recorded<Value>>, LedgerError> {
        self.get(&self.org_url(org, &format!("/records/{}/{}", kind.as_str(), segment(subject)))).await
    }

    async fn latest_records(
        &self,
        org: &str,
        kind: RecordKind,
    ) -> Result<Vec<(String, Recorded<Value>)>, LedgerError> {
        self.get(&self.org_url(org, &format!("/records/{}", kind.as_str()))).await
    }

    async fn artifact_reports(
        &self,
        org: &str,
        fingerprint: &str,
    ) -> Result<Vec<Recorded<Artifact>>, LedgerError> {
        self.get(&self.org_url(org, &format!("/fingerprints/{}/artifacts", segment(fingerprint)))).await
    }

    async fn search(&self, org: &str, prefix: &str) -> Result<verdict_ledger::SearchHits, LedgerError> {
        self.get(&self.org_url(org, &format!("/search/{}", segment(prefix)))).await
    }

    async fn artifact_reports_many(
        &self,
        org: &str,
        fingerprints: &[String],
    ) -> Result<Vec<Vec<Recorded<Artifact>>>, LedgerError> {
        self.post(&self.org_url(org, "/artifact-reports"), &fingerprints).await
    }

    async fn trail_documents(
        &self,
        org: &str,
        trails: &[(String, String)],
    ) -> Result<Vec<Value>, LedgerError> {
        self.post(&self.org_url(org, "/trail-documents"), &trails).await
    }

    async fn verify(&self) -> Result<ChainReport, LedgerError> {
        self.get(&format!("{}/api/v1/ledger/verify", self.base)).await
    }

    async fn trail_document(&self, org: &str, flow: &str, trail: &str) -> Result<Value, LedgerError> {
        self.get(&self.trail_url(org, flow, trail, "/document")).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_escaped() {
        assert_eq!(segment("backend-ci.v1"), "backend-ci.v1");
        assert_eq!(segment("a/b c"), "a%2Fb%20c");
        assert_eq!(segment("../x"), "..%2Fx");
        assert_eq!(segment(".."), "%2E%2E");
    }

    #[test]
    fn hosts_must_be_http_urls() {
        assert!(HttpLedger::new("localhost:8190", None).is_err());
        assert!(HttpLedger::new("http://127.0.0.1:8190/", Some(String::new())).is_ok());
    }
}
