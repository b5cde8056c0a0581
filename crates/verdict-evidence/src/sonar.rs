//! SonarQube / SonarQube Cloud quality gates, as `attest sonar` records them: the analysis of one scan
//! (named by the scanner's `report-task.txt`, or by project key and revision) and its quality gate's
//! status. Compliant when the gate passed (`OK`).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::http_api::{ApiError, Auth, JsonApi, encode};

/// The scanner's `report-task.txt` (`key=value` lines) that names the scan it just submitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportTask {
    /// `projectKey`.
    pub project_key: String,
    /// `serverUrl`.
    pub server_url: String,
    /// `ceTaskUrl`: where the scan's background task is reported.
    pub ce_task_url: String,
    /// `dashboardUrl`, if given.
    pub dashboard_url: Option<String>,
}

impl ReportTask {
    /// Reads `report-task.txt`; an error names the missing key.
    pub fn parse(text: &str) -> Result<Self, String> {
        let fields: BTreeMap<&str, &str> = text
            .lines()
            .filter(|line| !line.trim_start().starts_with('#'))
            .filter_map(|line| line.split_once('='))
            .map(|(key, value)| (key.trim(), value.trim()))
            .collect();
        let field = |key: &str| {
            fields.get(key).map(|value| (*value).to_owned()).filter(|value| !value.is_empty()).ok_or_else(
                || format!("report-task.txt has no {key} (is it the file the Sonar scanner wrote?)"),
            )
        };
        Ok(ReportTask {
            project_key: field("projectKey")?,
            server_url: field("serverUrl")?,
            ce_task_url: field("ceTaskUrl")?,
            dashboard_url: field("dashboardUrl").ok(),
        })
    }
}

/// Which scan to read.
#[derive(Debug, Clone)]
pub enum Scan {
    /// The one the scanner reported in `report-task.txt`.
    Task(ReportTask),
    /// The analysis of `revision` (a commit) of a project, optionally on a branch or pull request.
    Revision {
        /// The server (`https://sonarcloud.io` or a SonarQube URL).
        server_url: String,
        /// The project key.
        project_key: String,
        /// The commit the scan was of.
        revision: String,
        /// The branch analysed (SonarQube Cloud / Developer Edition).
        branch: Option<String>,
        /// The pull request analysed.
        pull_request: Option<String>,
    },
}

/// What `attest sonar` records.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SonarResults {
    /// The server.
    pub server_url: String,
    /// The project key.
    pub project_key: String,
    /// The analysis the gate was computed for.
    pub analysis_id: String,
    /// The commit it analysed, when the server says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// `OK`, `ERROR`, `WARN` (older SonarQube) or `NONE` (no gate).
    pub quality_gate_status: String,
    /// The gate's conditions as the server reports them (metric, comparator, threshold, actual value).
    pub conditions: Value,
    /// Where to see the scan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dashboard_url: Option<String>,
}

impl SonarResults {
    /// Compliant iff the quality gate passed.
    pub fn compliant(&self) -> bool {
        self.quality_gate_status == "OK"
    }
}

/// Reads the scan's quality gate. A background task still queued or running is waited for, up to
/// `wait`; a failed or cancelled one, or an unknown revision, is an error (there is no gate to record).
pub async fn results(scan: &Scan, token: &str, wait: Duration) -> Result<SonarResults, ApiError> {
    let auth = Some(Auth::Bearer(token.to_owned()));
    match scan {
        Scan::Task(task) => {
            let api = JsonApi::new("Sonar", &task.server_url, auth)?;
            let analysis_id = finished_analysis(&api, &task.ce_task_url, wait).await?;
            gate(&api, &task.server_url, &task.project_key, analysis_id, None, task.dashboard_url.clone())
                .await
        }
        Scan::Revision { server_url, project_key, revision, branch, pull_request } => {
            let api = JsonApi::new("Sonar", server_url, auth)?;
            let mut listing = format!("/api/project_analyses/search?project={}&ps=100", encode(project_key));
            if let Some(branch) = branch {
                listing.push_str(&format!("&branch={}", encode(branch)));
            }
            if let Some(pull_request) = pull_request {
                listing.push_str(&format!("&pullRequest={}", encode(pull_request)));
            }
            let analysis = find_revision(&api, &listing, revision).await?;
            gate(&api, server_url, project_key, analysis, Some(revision.clone()), None).await
        }
    }
}

/// Polls the compute-engine task until it has an analysis.
async fn finished_analysis(api: &JsonApi, ce_task_url: &str, wait: Duration) -> Result<String, ApiError> {
    let deadline = std::time::Instant::now() + wait;
    loop {
        let answer = api.get(ce_task_url).await?;
        let task = &answer["task"];
        match task["status"].as_str().unwrap_or_default() {
            "SUCCESS" => {
                return task["analysisId"].as_str().map(str::to_owned).ok_or_else(|| {
                    unavailable(api, format!("{ce_task_url}: the finished task names no analysis"))
                });
            }
            "PENDING" | "IN_PROGRESS" if std::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            "PENDING" | "IN_PROGRESS" => {
                return Err(unavailable(
                    api,
                    format!("the scan's task is still {} after {wait:?}", task["status"]),
                ));
            }
            other => {
                return Err(unavailable(
                    api,
                    format!(
                        "the scan's task ended {other:?}: {}",
                        task["errorMessage"].as_str().unwrap_or("no gate was computed")
                    ),
                ));
            }
        }
    }
}

/// The analysis of `revision` among the project's analyses, page by page.
async fn find_revision(api: &JsonApi, listing: &str, revision: &str) -> Result<String, ApiError> {
    for page in 1..=crate::http_api::MAX_PAGES {
        let answer = api.get(&format!("{listing}&p={page}")).await?;
        let analyses = answer["analyses"].as_array().cloned().unwrap_or_default();
        if let Some(found) = analyses.iter().find(|a| a["revision"].as_str() == Some(revision)) {
            return found["key"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| unavailable(api, "an analysis without a key".to_owned()));
        }
        let total = answer["paging"]["total"].as_u64().unwrap_or(0);
        let size = answer["paging"]["pageSize"].as_u64().unwrap_or(100).max(1);
        if analyses.is_empty() || page as u64 * size >= total {
            break;
        }
    }
    Err(ApiError::Refused {
        service: api.service(),
        url: api.url(listing),
        status: 404,
        message: format!(
            "no analysis of revision {revision} (check --sonar-revision, --branch-name, --pull-request-id)"
        ),
    })
}

async fn gate(
    api: &JsonApi,
    server_url: &str,
    project_key: &str,
    analysis_id: String,
    revision: Option<String>,
    dashboard_url: Option<String>,
) -> Result<SonarResults, ApiError> {
    let answer =
        api.get(&format!("/api/qualitygates/project_status?analysisId={}", encode(&analysis_id))).await?;
    let status = &answer["projectStatus"];
    let Some(gate) = status["status"].as_str() else {
        return Err(unavailable(
            api,
            format!("analysis {analysis_id}: the answer has no quality gate status"),
        ));
    };
    Ok(SonarResults {
        server_url: server_url.trim_end_matches('/').to_owned(),
        project_key: project_key.to_owned(),
        analysis_id,
        revision,
        quality_gate_status: gate.to_owned(),
        conditions: status["conditions"].clone(),
        dashboard_url,
    })
}

fn unavailable(api: &JsonApi, message: String) -> ApiError {
    ApiError::Unavailable { service: api.service(), message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_task_files_are_read() {
        let text = "organization=acme\nprojectKey=acme_shop\nserverUrl=https://sonarcloud.io\nserverVersion=8.0\ndashboardUrl=https://sonarcloud.io/dashboard?id=acme_shop\nceTaskId=AY1\nceTaskUrl=https://sonarcloud.io/api/ce/task?id=AY1\n";
        let task = ReportTask::parse(text).unwrap();
        assert_eq!(task.project_key, "acme_shop");
        assert_eq!(task.ce_task_url, "https://sonarcloud.io/api/ce/task?id=AY1");
        assert_eq!(task.dashboard_url.as_deref(), Some("https://sonarcloud.io/dashboard?id=acme_shop"));
        let missing = ReportTask::parse("projectKey=x\nserverUrl=y\n").unwrap_err();
        assert!(missing.contains("ceTaskUrl"), "{missing}");
    }
}
