//! Pull (merge) requests containing a commit, from GitHub's, GitLab's, Bitbucket Cloud's or Azure DevOps'
//! REST API: what `attest pullrequest` records (url, state, author, approvers, commits). Compliant iff at
//! least one exists. Every listing is read to its last page.

use serde::Serialize;
use serde_json::{Value, json};

use crate::http_api::{ApiError, Auth, JsonApi, encode};

/// The code host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// GitHub (or GitHub Enterprise with a base URL).
    Github,
    /// GitLab (or a self-managed instance with a base URL).
    Gitlab,
    /// Bitbucket Cloud.
    Bitbucket,
    /// Azure DevOps (Services, or Server with its collection URL).
    Azure,
}

impl Provider {
    fn service(self) -> &'static str {
        match self {
            Provider::Github => "GitHub",
            Provider::Gitlab => "GitLab",
            Provider::Bitbucket => "Bitbucket",
            Provider::Azure => "Azure DevOps",
        }
    }
}

/// Why the provider could not be asked.
pub type PullRequestError = ApiError;

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

fn text(value: &Value, pointer: &str) -> String {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or_default().to_owned()
}

fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or_default().to_owned()
}

fn sorted(mut names: Vec<String>) -> Vec<String> {
    names.retain(|name| !name.is_empty());
    names.sort();
    names.dedup();
    names
}

/// The pull requests of `repository` containing `commit`. `repository` is `owner/name` on GitHub and
/// Bitbucket (`workspace/slug`), the project path on GitLab, and `project/repository` on Azure DevOps
/// (whose `base_url` is the organisation URL, `https://dev.azure.com/ORG`).
pub async fn pull_requests(
    provider: Provider,
    base_url: &str,
    auth: Auth,
    repository: &str,
    commit: &str,
) -> Result<Vec<PullRequest>, PullRequestError> {
    let mut api = JsonApi::new(provider.service(), base_url, Some(auth))?;
    if provider == Provider::Github {
        api = api.with_header("x-github-api-version", "2022-11-28");
    }
    match provider {
        Provider::Github => github(&api, repository, commit).await,
        Provider::Gitlab => gitlab(&api, repository, commit).await,
        Provider::Bitbucket => bitbucket(&api, repository, commit).await,
        Provider::Azure => azure(&api, base_url, repository, commit).await,
    }
}

async fn github(api: &JsonApi, repository: &str, commit: &str) -> Result<Vec<PullRequest>, ApiError> {
    let mut found = Vec::new();
    for pr in api.get_all_linked(&format!("/repos/{repository}/commits/{commit}/pulls?per_page=100")).await? {
        let number = pr["number"].as_u64().unwrap_or_default();
        let reviews =
            api.get_all_linked(&format!("/repos/{repository}/pulls/{number}/reviews?per_page=100")).await?;
        let approvers = sorted(
            reviews.iter().filter(|r| r["state"] == "APPROVED").map(|r| text(r, "/user/login")).collect(),
        );
        let commits =
            api.get_all_linked(&format!("/repos/{repository}/pulls/{number}/commits?per_page=100")).await?;
        let state = if pr["merged_at"].is_string() { "merged".to_owned() } else { text(&pr, "/state") };
        found.push(PullRequest {
            url: text(&pr, "/html_url"),
            title: text(&pr, "/title"),
            state,
            author: text(&pr, "/user/login"),
            approvers,
            commits: commits
                .iter()
                .map(|c| PrCommit {
                    sha: text(c, "/sha"),
                    author: text(c, "/commit/author/name"),
                    message: first_line(&text(c, "/commit/message")),
                })
                .collect(),
        });
    }
    Ok(found)
}

async fn gitlab(api: &JsonApi, repository: &str, commit: &str) -> Result<Vec<PullRequest>, ApiError> {
    let project = encode(repository);
    let mut found = Vec::new();
    let listing =
        format!("/api/v4/projects/{project}/repository/commits/{commit}/merge_requests?per_page=100");
    for mr in api.get_all_linked(&listing).await? {
        let iid = mr["iid"].as_u64().unwrap_or_default();
        let approvals =
            api.get(&format!("/api/v4/projects/{project}/merge_requests/{iid}/approvals")).await?;
        let approvers = sorted(
            approvals["approved_by"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|a| text(a, "/user/username"))
                .collect(),
        );
        let commits = api
            .get_all_linked(&format!("/api/v4/projects/{project}/merge_requests/{iid}/commits?per_page=100"))
            .await?;
        found.push(PullRequest {
            url: text(&mr, "/web_url"),
            title: text(&mr, "/title"),
            state: text(&mr, "/state"),
            author: text(&mr, "/author/username"),
            approvers,
            commits: commits
                .iter()
                .map(|c| PrCommit {
                    sha: text(c, "/id"),
                    author: text(c, "/author_name"),
                    message: first_line(&text(c, "/title")),
                })
                .collect(),
        });
    }
    Ok(found)
}

async fn bitbucket(api: &JsonApi, repository: &str, commit: &str) -> Result<Vec<PullRequest>, ApiError> {
    let mut found = Vec::new();
    let listing = format!("/2.0/repositories/{repository}/commit/{commit}/pullrequests?pagelen=50");
    for summary in api.get_all_values_next(&listing).await? {
        let id = summary["id"].as_u64().unwrap_or_default();
        // The listing leaves out participants: the pull request itself says who approved.
        let pr = api.get(&format!("/2.0/repositories/{repository}/pullrequests/{id}")).await?;
        let approvers = sorted(
            pr["participants"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["approved"] == true)
                .map(|p| text(p, "/user/display_name"))
                .collect(),
        );
        let commits = api
            .get_all_values_next(&format!("/2.0/repositories/{repository}/pullrequests/{id}/commits"))
            .await?;
        found.push(PullRequest {
            url: text(&pr, "/links/html/href"),
            title: text(&pr, "/title"),
            state: text(&pr, "/state").to_ascii_lowercase(),
            author: text(&pr, "/author/display_name"),
            approvers,
            commits: commits
                .iter()
                .map(|c| PrCommit {
                    sha: text(c, "/hash"),
                    author: text(c, "/author/raw"),
                    message: first_line(&text(c, "/message")),
                })
                .collect(),
        });
    }
    Ok(found)
}

async fn azure(
    api: &JsonApi,
    org_url: &str,
    repository: &str,
    commit: &str,
) -> Result<Vec<PullRequest>, ApiError> {
    let Some((project, repo)) = repository.split_once('/') else {
        return Err(ApiError::Refused {
            service: api.service(),
            url: org_url.to_owned(),
            status: 400,
            message: format!("{repository:?}: give the Azure DevOps repository as PROJECT/REPOSITORY"),
        });
    };
    let (project_path, repo_path) = (encode(project), encode(repo));
    let git = format!("/{project_path}/_apis/git/repositories/{repo_path}");
    let query = json!({"queries": [{"items": [commit], "type": "lastMergeCommit"}]});
    let answer = api.post(&format!("{git}/pullrequestquery?api-version=7.1"), &query).await?;
    let prs: Vec<Value> = answer["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|result| result[commit].as_array())
        .flatten()
        .cloned()
        .collect();
    let mut found = Vec::new();
    for pr in prs {
        let id = pr["pullRequestId"].as_u64().unwrap_or_default();
        let reviewers = api.get(&format!("{git}/pullRequests/{id}/reviewers?api-version=7.1")).await?;
        // Azure's votes: 10 approved, 5 approved with suggestions, 0 none, -5 waiting, -10 rejected.
        let approvers = sorted(
            reviewers["value"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|r| r["vote"].as_i64().is_some_and(|vote| vote >= 5))
                .map(|r| text(r, "/displayName"))
                .collect(),
        );
        let commits = api
            .get_all_continued(&format!("{git}/pullRequests/{id}/commits?api-version=7.1&$top=100"))
            .await?;
        let state = match text(&pr, "/status").as_str() {
            "completed" => "merged".to_owned(),
            "abandoned" => "closed".to_owned(),
            "active" => "open".to_owned(),
            other => other.to_owned(),
        };
        found.push(PullRequest {
            url: format!(
                "{}/{project_path}/_git/{repo_path}/pullrequest/{id}",
                org_url.trim_end_matches('/')
            ),
            title: text(&pr, "/title"),
            state,
            author: text(&pr, "/createdBy/displayName"),
            approvers,
            commits: commits
                .iter()
                .map(|c| PrCommit {
                    sha: text(c, "/commitId"),
                    author: text(c, "/author/name"),
                    message: first_line(&text(c, "/comment")),
                })
                .collect(),
        });
    }
    Ok(found)
}
