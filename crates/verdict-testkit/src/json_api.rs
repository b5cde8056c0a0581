//! A fake JSON REST API on a free loopback port (for GitHub/GitLab and Kubernetes API tests): fixed
//! answers by path, and a required credential header, answered 401 like the real services when absent.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::Response;

struct Routes {
    answers: BTreeMap<String, (String, Vec<(String, String)>)>,
    credential: (String, String),
}

/// One fixed answer: the path (with query) it answers, the JSON body, and response headers.
pub type Answer<'a> = (&'a str, String, Vec<(&'a str, &'a str)>);

/// A running fake API; stops when dropped.
pub struct FakeJsonApi {
    url: String,
    _runtime: tokio::runtime::Runtime,
}

impl FakeJsonApi {
    /// Serves `answers` (path with query → JSON text) to requests carrying header `credential.0` with
    /// value `credential.1`; other paths get 404 `{"message": "Not Found"}`.
    pub fn start(answers: Vec<(&str, String)>, credential: (&str, &str)) -> Self {
        Self::start_with_headers(
            answers.into_iter().map(|(path, body)| (path, body, Vec::new())).collect(),
            credential,
        )
    }

    /// As [`FakeJsonApi::start`], each answer with response headers too (a `Link` to the next page,
    /// Azure DevOps' `x-ms-continuationtoken`), for testing that clients read every page.
    pub fn start_with_headers(answers: Vec<Answer<'_>>, credential: (&str, &str)) -> Self {
        let routes = Routes {
            answers: answers
                .into_iter()
                .map(|(path, body, headers)| {
                    let headers = headers.into_iter().map(|(n, v)| (n.to_owned(), v.to_owned())).collect();
                    (path.to_owned(), (body, headers))
                })
                .collect(),
            credential: (credential.0.to_ascii_lowercase(), credential.1.to_owned()),
        };
        let app = Router::new().fallback(answer).with_state(Arc::new(routes));
        let (address, runtime) = crate::serve_on_loopback(app);
        FakeJsonApi { url: format!("http://{address}"), _runtime: runtime }
    }

    /// Serves `answers` on a Unix socket at `socket` instead of a TCP port, with no credential (as the
    /// Docker Engine's socket): `url()` is then `unix://SOCKET`.
    pub fn start_unix(socket: &std::path::Path, answers: Vec<(&str, String)>) -> Self {
        let routes = Routes {
            answers: answers.into_iter().map(|(path, body)| (path.to_owned(), (body, Vec::new()))).collect(),
            credential: (String::new(), String::new()),
        };
        let app = Router::new().fallback(answer).with_state(Arc::new(routes));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("cannot start a runtime for a fake service: {e}"));
        let listener = runtime
            .block_on(async { tokio::net::UnixListener::bind(socket) })
            .unwrap_or_else(|e| panic!("cannot bind {}: {e}", socket.display()));
        runtime.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeJsonApi { url: format!("unix://{}", socket.display()), _runtime: runtime }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }
}

fn json(status: StatusCode, body: String) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/json"));
    response
}

async fn answer(State(routes): State<Arc<Routes>>, headers: HeaderMap, uri: Uri) -> Response {
    let (name, value) = &routes.credential;
    if !name.is_empty() && headers.get(name.as_str()).and_then(|v| v.to_str().ok()) != Some(value.as_str()) {
        // Both shapes at once: the `message` GitHub-style APIs send, and a Kubernetes `Status`.
        return json(
            StatusCode::UNAUTHORIZED,
            r#"{"message": "Bad credentials", "kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 401, "reason": "Unauthorized"}"#.to_owned(),
        );
    }
    // Some clients (kube-rs) send an empty first parameter (`?&limit=500`); it means nothing.
    let path = uri.path_and_query().map_or_else(|| uri.path().to_owned(), |p| p.as_str().replace("?&", "?"));
    match routes.answers.get(&path) {
        Some((body, headers)) => {
            let mut response = json(StatusCode::OK, body.clone());
            for (name, value) in headers {
                if let (Ok(name), Ok(value)) =
                    (header::HeaderName::try_from(name.as_str()), header::HeaderValue::from_str(value))
                {
                    response.headers_mut().insert(name, value);
                }
            }
            response
        }
        None => json(
            StatusCode::NOT_FOUND,
            serde_json::json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404,
                               "reason": "NotFound", "message": format!("Not Found: {path}")})
            .to_string(),
        ),
    }
}
