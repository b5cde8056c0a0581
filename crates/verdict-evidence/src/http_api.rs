//! The JSON REST client every evidence source shares (GitHub, GitLab, Bitbucket, Azure DevOps, Jira,
//! SonarQube): one place for authentication, timeouts, error wording and pagination links, so each
//! source states only its URLs and fields.

use std::time::Duration;

use serde_json::Value;

/// How a request proves who is asking.
#[derive(Debug, Clone)]
pub enum Auth {
    /// `Authorization: Bearer TOKEN`.
    Bearer(String),
    /// `Authorization: Basic base64(USER:PASSWORD)`.
    Basic {
        /// The user (empty for Azure DevOps personal access tokens).
        username: String,
        /// The password, API token or app password.
        password: String,
    },
    /// A service's own header (GitLab's `PRIVATE-TOKEN`).
    Header {
        /// The header's name.
        name: &'static str,
        /// Its value.
        value: String,
    },
}

/// Why a service could not answer the question.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request failed, timed out, or the service answered with a server error or unreadable JSON:
    /// nothing can be concluded (exit 3).
    #[error("{service} API: {message}")]
    Unavailable {
        /// Which service.
        service: &'static str,
        /// What happened, with its cause.
        message: String,
    },
    /// The service refused the request (bad credentials, no access, unknown repository): the user must
    /// fix the arguments (exit 2).
    #[error("{service} API refused {url}: {status}: {message}")]
    Refused {
        /// Which service.
        service: &'static str,
        /// The URL asked.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The service's own message.
        message: String,
    },
}

/// One answer: its JSON body and the headers pagination needs.
#[derive(Debug, Clone)]
pub struct Page {
    /// The body.
    pub body: Value,
    /// The `rel="next"` target of a `Link` header (GitHub, GitLab).
    pub next_link: Option<String>,
    /// Azure DevOps' continuation token header.
    pub continuation: Option<String>,
}

/// A client of one service at one base URL.
#[derive(Debug, Clone)]
pub struct JsonApi {
    client: reqwest::Client,
    service: &'static str,
    base: String,
    auth: Option<Auth>,
    headers: Vec<(&'static str, String)>,
}

/// The most pages any one listing reads: a guard against a service that links back to itself.
pub const MAX_PAGES: usize = 100;

impl JsonApi {
    /// A client of `service` at `base` (a trailing `/` is ignored).
    pub fn new(service: &'static str, base: &str, auth: Option<Auth>) -> Result<Self, ApiError> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("verdict/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| ApiError::Unavailable { service, message: err.to_string() })?;
        Ok(JsonApi {
            client,
            service,
            base: base.trim_end_matches('/').to_owned(),
            auth,
            headers: Vec::new(),
        })
    }

    /// Sends `name: value` with every request.
    pub fn with_header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_owned()));
        self
    }

    /// The service's name, for messages.
    pub fn service(&self) -> &'static str {
        self.service
    }

    /// The absolute URL of `path` (an absolute URL is kept: services hand out `next` links).
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        }
    }

    /// GETs `path` as JSON.
    pub async fn get(&self, path: &str) -> Result<Value, ApiError> {
        Ok(self.page(reqwest::Method::GET, path, None).await?.body)
    }

    /// GETs `path`; `None` when the service answers 404 (a Jira issue that does not exist).
    pub async fn get_optional(&self, path: &str) -> Result<Option<Value>, ApiError> {
        match self.page(reqwest::Method::GET, path, None).await {
            Ok(page) => Ok(Some(page.body)),
            Err(ApiError::Refused { status: 404, .. }) => Ok(None),
            Err(other) => Err(other),
        }
    }

    /// POSTs `body` to `path` as JSON (Azure DevOps' pull-request query).
    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, ApiError> {
        Ok(self.page(reqwest::Method::POST, path, Some(body)).await?.body)
    }

    /// Every item of a listing whose pages link to the next one with a `Link` header (GitHub, GitLab).
    pub async fn get_all_linked(&self, path: &str) -> Result<Vec<Value>, ApiError> {
        let mut items = Vec::new();
        let mut next = Some(path.to_owned());
        for _ in 0..MAX_PAGES {
            let Some(path) = next.take() else { break };
            let page = self.page(reqwest::Method::GET, &path, None).await?;
            items.extend(page.body.as_array().cloned().unwrap_or_default());
            next = page.next_link;
        }
        Ok(items)
    }

    /// Every item of a listing whose pages carry `values` and a `next` URL (Bitbucket Cloud).
    pub async fn get_all_values_next(&self, path: &str) -> Result<Vec<Value>, ApiError> {
        let mut items = Vec::new();
        let mut next = Some(path.to_owned());
        for _ in 0..MAX_PAGES {
            let Some(path) = next.take() else { break };
            let body = self.get(&path).await?;
            items.extend(body["values"].as_array().cloned().unwrap_or_default());
            next = body["next"].as_str().map(str::to_owned);
        }
        Ok(items)
    }

    /// Every item of a listing whose pages carry `value` and continue with Azure DevOps'
    /// `x-ms-continuationtoken` header (`path` must already have a query string).
    pub async fn get_all_continued(&self, path: &str) -> Result<Vec<Value>, ApiError> {
        let mut items = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let url = match &token {
                Some(token) => format!("{path}&continuationToken={}", encode(token)),
                None => path.to_owned(),
            };
            let page = self.page(reqwest::Method::GET, &url, None).await?;
            items.extend(page.body["value"].as_array().cloned().unwrap_or_default());
            token = page.continuation;
            if token.is_none() {
                break;
            }
        }
        Ok(items)
    }

    async fn page(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Page, ApiError> {
        let service = self.service;
        let url = self.url(path);
        let mut request = self.client.request(method, &url).header("accept", "application/json");
        for (name, value) in &self.headers {
            request = request.header(*name, value);
        }
        request = match &self.auth {
            Some(Auth::Bearer(token)) => request.bearer_auth(token),
            Some(Auth::Basic { username, password }) => request.basic_auth(username, Some(password)),
            Some(Auth::Header { name, value }) => request.header(*name, value),
            None => request,
        };
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|err| ApiError::Unavailable {
            service,
            message: format!("cannot reach {url}: {}", verdict_core::error_chain::describe(&err)),
        })?;
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.map_err(|err| ApiError::Unavailable {
            service,
            message: format!("{url}: the answer broke off: {}", verdict_core::error_chain::describe(&err)),
        })?;
        if status.is_client_error() {
            return Err(ApiError::Refused {
                service,
                url,
                status: status.as_u16(),
                message: error_message(&text),
            });
        }
        if !status.is_success() {
            return Err(ApiError::Unavailable { service, message: format!("{url}: {status}") });
        }
        let body = serde_json::from_str(&text).map_err(|err| ApiError::Unavailable {
            service,
            message: format!("{url}: unreadable answer: {err}"),
        })?;
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        Ok(Page {
            body,
            next_link: header("link").and_then(|link| next_link(&link)),
            continuation: header("x-ms-continuationtoken").filter(|token| !token.is_empty()),
        })
    }
}

/// The service's own explanation in an error body (`message`, Jira's `errorMessages`, Sonar's `errors`).
fn error_message(text: &str) -> String {
    let Ok(body) = serde_json::from_str::<Value>(text) else {
        return text.chars().take(300).collect();
    };
    let joined = |list: &Value, field: Option<&str>| -> Option<String> {
        let items: Vec<String> = list
            .as_array()?
            .iter()
            .filter_map(|item| match field {
                Some(field) => item[field].as_str().map(str::to_owned),
                None => item.as_str().map(str::to_owned),
            })
            .collect();
        (!items.is_empty()).then(|| items.join("; "))
    };
    body["message"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| body["error"]["message"].as_str().map(str::to_owned))
        .or_else(|| joined(&body["errorMessages"], None))
        .or_else(|| joined(&body["errors"], Some("msg")))
        .unwrap_or_else(|| text.chars().take(300).collect())
}

/// The `rel="next"` URL of an RFC 8288 `Link` header.
pub fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let is_next = params.split(';').any(|param| {
            let param = param.trim().replace(' ', "");
            param == "rel=\"next\"" || param == "rel=next"
        });
        is_next.then(|| target.trim().trim_start_matches('<').trim_end_matches('>').to_owned())
    })
}

/// Percent-encodes a URL path segment or query value.
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_links_are_found_among_others() {
        let github = r#"<https://api.github.com/repositories/1/pulls?page=2>; rel="next", <https://api.github.com/repositories/1/pulls?page=5>; rel="last""#;
        assert_eq!(next_link(github).as_deref(), Some("https://api.github.com/repositories/1/pulls?page=2"));
        let last_page = r#"<https://gitlab.example/api/v4/x?page=1>; rel="first", <https://gitlab.example/api/v4/x?page=1>; rel="prev""#;
        assert_eq!(next_link(last_page), None);
        assert_eq!(next_link(""), None);
        assert_eq!(next_link("garbage"), None);
    }

    #[test]
    fn error_bodies_keep_the_services_words() {
        assert_eq!(error_message(r#"{"message":"Bad credentials"}"#), "Bad credentials");
        assert_eq!(
            error_message(
                r#"{"errorMessages":["Issue does not exist or you do not have permission to see it."],"errors":{}}"#
            ),
            "Issue does not exist or you do not have permission to see it."
        );
        assert_eq!(
            error_message(r#"{"errors":[{"msg":"Insufficient privileges"}]}"#),
            "Insufficient privileges"
        );
        assert_eq!(error_message("<html>nope</html>"), "<html>nope</html>");
    }

    #[test]
    fn encoding_leaves_only_unreserved_characters() {
        assert_eq!(encode("group/sub project"), "group%2Fsub%20project");
        assert_eq!(encode("a-b_c.d~e"), "a-b_c.d~e");
    }
}
