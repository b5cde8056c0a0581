//! Pull (merge) requests containing a commit, from GitHub's or GitLab's REST API: what `attest
//! pullrequest` records (url, state, author, approvers, commits). Compliant iff at least one exists.

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

/// The code host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// GitHub (or GitHub Enterprise with a base URL).
    Github,
    /// GitLab (or a self-managed instance with a base URL).
    Gitlab,
}

/// Why the provider could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum PullRequestError {
    /// The request failed or the provider answered with an error.
    #[error("{provider:?} API: {message}")]
    Unavailable {
        /// Which provider.
        provider: Provider,
        /// What happened.
        message: String,
    },
    /// The provider refused the token or does not know the repository.
    #[error("{provider:?} API refused {url}: {status}: {message}")]
    Refused {
        /// Which provider.
        provider: Provider,
        /// The URL.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The provider's message.
        message: String,
    },
}

/// A commit of a pull request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrCommit {
    /// Its SHA.
    pub sha: String,
    /// Its author's name.
    pub author: String,
    /// Its message's first line.
    pub message: String,
}

/// One pull or merge request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PullRequest {
    /// Its web URL.
    pub url: String,
    /// Its title.
    pub title: String,
    /// open, closed, merged.
    pub state: String,
    /// Who opened it.
    pub author: String,
    /// Who approved it.
    pub approvers: Vec<String>,
    /// Its commits.
    pub commits: Vec<PrCommit>,
}

struct Api {
    client: reqwest::Client,
    provider: Provider,
    base: String,
    token: String,
}

impl Api {
    async fn get(&self, path: &str) -> Result<Value, PullRequestError> {
        let url = format!("{}{path}", self.base);
        let request = self.client.get(&url).header("accept", "application/json");
        let request = match self.provider {
            Provider::Github => request.bearer_auth(&self.token).header("x-github-api-version", "2022-11-28"),
            Provider::Gitlab => request.header("private-token", &self.token),
        };
        let response = request.send().await.map_err(|err| PullRequestError::Unavailable {
            provider: self.provider,
            message: format!("cannot reach {url}: {}", verdict_core::error_chain::describe(&err)),
        })?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if status.is_client_error() {
            let message = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or(text);
            return Err(PullRequestError::Refused {
                provider: self.provider,
                url,
                status: status.as_u16(),
                message,
            });
        }
        if !status.is_success() {
            return Err(PullRequestError::Unavailable {
                provider: self.provider,
                message: format!("{url}: {status}"),
            });
        }
        serde_json::from_str(&text).map_err(|err| PullRequestError::Unavailable {
            provider: self.provider,
            message: format!("{url}: unreadable answer: {err}"),
        })
    }
}

fn text(value: &Value, pointer: &str) -> String {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or_default().to_owned()
}

fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or_default().to_owned()
}

fn encode(text: &str) -> String {
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

/// The pull requests of `repository` (`owner/name`, or a GitLab project path) containing `commit`.
pub async fn pull_requests(
    provider: Provider,
    base_url: &str,
    token: &str,
    repository: &str,
    commit: &str,
) -> Result<Vec<PullRequest>, PullRequestError> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .user_agent(concat!("verdict/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|err| PullRequestError::Unavailable { provider, message: err.to_string() })?;
    let api =
        Api { client, provider, base: base_url.trim_end_matches('/').to_owned(), token: token.to_owned() };
    let mut found = Vec::new();
    match provider {
        Provider::Github => {
            let list = api.get(&format!("/repos/{repository}/commits/{commit}/pulls")).await?;
            for pr in list.as_array().into_iter().flatten() {
                let number = pr["number"].as_u64().unwrap_or_default();
                let reviews = api.get(&format!("/repos/{repository}/pulls/{number}/reviews")).await?;
                let mut approvers: Vec<String> = reviews
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|r| r["state"] == "APPROVED")
                    .map(|r| text(r, "/user/login"))
                    .collect();
                approvers.sort();
                approvers.dedup();
                let commits = api.get(&format!("/repos/{repository}/pulls/{number}/commits")).await?;
                let state =
                    if pr["merged_at"].is_string() { "merged".to_owned() } else { text(pr, "/state") };
                found.push(PullRequest {
                    url: text(pr, "/html_url"),
                    title: text(pr, "/title"),
                    state,
                    author: text(pr, "/user/login"),
                    approvers,
                    commits: commits
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|c| PrCommit {
                            sha: text(c, "/sha"),
                            author: text(c, "/commit/author/name"),
                            message: first_line(&text(c, "/commit/message")),
                        })
                        .collect(),
                });
            }
        }
        Provider::Gitlab => {
            let project = encode(repository);
            let list = api
                .get(&format!("/api/v4/projects/{project}/repository/commits/{commit}/merge_requests"))
                .await?;
            for mr in list.as_array().into_iter().flatten() {
                let iid = mr["iid"].as_u64().unwrap_or_default();
                let approvals =
                    api.get(&format!("/api/v4/projects/{project}/merge_requests/{iid}/approvals")).await?;
                let mut approvers: Vec<String> = approvals["approved_by"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|a| text(a, "/user/username"))
                    .collect();
                approvers.sort();
                approvers.dedup();
                let commits =
                    api.get(&format!("/api/v4/projects/{project}/merge_requests/{iid}/commits")).await?;
                found.push(PullRequest {
                    url: text(mr, "/web_url"),
                    title: text(mr, "/title"),
                    state: text(mr, "/state"),
                    author: text(mr, "/author/username"),
                    approvers,
                    commits: commits
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|c| PrCommit {
                            sha: text(c, "/id"),
                            author: text(c, "/author_name"),
                            message: first_line(&text(c, "/title")),
                        })
                        .collect(),
                });
            }
        }
    }
    Ok(found)
}
