//! Attestations whose evidence comes from another service's API: pull requests (GitHub, GitLab,
//! Bitbucket, Azure DevOps), Jira issues and SonarQube quality gates. Each asks the service, prints what
//! it found, records the processed results, and with `--assert` exits 1 when they are not compliant.

use anyhow::anyhow;
use serde_json::json;
use verdict_core::ExitStatus;
use verdict_evidence::http_api::{ApiError, Auth};

use super::record::record_attestation;
use crate::cli::LedgerOptions;
use crate::cli_env::{AttestJiraArgs, AttestSonarArgs, PullRequestCommand};
use crate::error::{CliError, CliResult};

/// A refusal is the user's to fix (exit 2); anything else means the service could not answer (exit 3).
fn api_error(err: ApiError) -> CliError {
    match err {
        ApiError::Refused { .. } => CliError::invalid(err),
        ApiError::Unavailable { .. } => CliError::unavailable(err),
    }
}

fn outcome(assert: bool, compliant: bool) -> ExitStatus {
    if assert && !compliant { ExitStatus::Denied } else { ExitStatus::Ok }
}

/// Runs `attest pullrequest github|gitlab|bitbucket|azure`.
pub fn pullrequest(command: PullRequestCommand, options: &LedgerOptions) -> CliResult {
    use verdict_evidence::pullrequest::{Provider, pull_requests};
    let (provider, base, auth, args, repository) = match command {
        PullRequestCommand::Github(a) => {
            let repository = a.pr.repository.clone();
            (Provider::Github, a.github_base_url, Auth::Bearer(a.github_token), a.pr, repository)
        }
        PullRequestCommand::Gitlab(a) => {
            let repository = a.pr.repository.clone();
            let auth = Auth::Header { name: "private-token", value: a.gitlab_token };
            (Provider::Gitlab, a.gitlab_base_url, auth, a.pr, repository)
        }
        PullRequestCommand::Bitbucket(a) => {
            let auth = match (a.bitbucket_username, a.bitbucket_password, a.bitbucket_access_token) {
                (Some(username), Some(password), _) => Auth::Basic { username, password },
                (_, _, Some(token)) => Auth::Bearer(token),
                _ => {
                    return Err(CliError::invalid(anyhow!(
                        "give --bitbucket-username with --bitbucket-password, or --bitbucket-access-token"
                    )));
                }
            };
            let repository = a.pr.repository.clone();
            (Provider::Bitbucket, a.bitbucket_base_url, auth, a.pr, repository)
        }
        PullRequestCommand::Azure(a) => {
            let auth = Auth::Basic { username: String::new(), password: a.azure_token };
            // Kosli takes `--repository org/name` too: the last part is the repository.
            let name = a.pr.repository.rsplit('/').next().unwrap_or_default().to_owned();
            let repository = format!("{}/{name}", a.project);
            (Provider::Azure, a.azure_org_url, auth, a.pr, repository)
        }
    };
    let found = super::ledger::runtime()?
        .block_on(pull_requests(provider, &base, auth, &repository, &args.commit))
        .map_err(api_error)?;
    let compliant = !found.is_empty();
    if found.is_empty() {
        crate::render::say(format_args!(
            "no pull request contains commit {} in {}",
            args.commit, args.repository
        ));
    }
    for pr in &found {
        crate::render::say(format_args!(
            "{} ({}) by {}, approved by {}",
            pr.url,
            pr.state,
            pr.author,
            if pr.approvers.is_empty() { "nobody".to_owned() } else { pr.approvers.join(", ") }
        ));
    }
    let payload = json!({"provider": provider, "repository": args.repository, "commit": args.commit, "pull_requests": found});
    record_attestation(options, args.common, "pull_request", compliant, Some(payload))?;
    Ok(outcome(args.assert, compliant))
}

/// Runs `attest jira`.
pub fn jira(args: AttestJiraArgs, options: &LedgerOptions) -> CliResult {
    use verdict_evidence::jira::{JiraAuth, compliant, issue_keys, look_up};
    let commit = verdict_evidence::git::commit_info(&args.repo_root, args.commit.as_deref())
        .map_err(|err| CliError::invalid(anyhow!("{err}")))?;
    let branch = args.branch.clone().or_else(|| commit.branch.clone());
    let keys = issue_keys(&[commit.message.as_str(), branch.as_deref().unwrap_or_default()]);
    let auth = match (args.jira_username, args.jira_api_token, args.jira_pat) {
        (Some(username), Some(token), _) => JiraAuth::ApiToken { username, token },
        (_, _, Some(pat)) => JiraAuth::Pat(pat),
        _ => {
            return Err(CliError::invalid(anyhow!(
                "give --jira-username with --jira-api-token (Jira Cloud), or --jira-pat (Data Center)"
            )));
        }
    };
    let issues =
        super::ledger::runtime()?.block_on(look_up(&args.jira_base_url, auth, &keys)).map_err(api_error)?;
    let short = commit.sha.get(..12).unwrap_or(&commit.sha);
    if issues.is_empty() {
        crate::render::say(format_args!(
            "no Jira issue key in commit {short}'s message{}",
            branch.as_deref().map(|b| format!(" or branch {b}")).unwrap_or_default()
        ));
    }
    for issue in &issues {
        match (&issue.summary, issue.issue_exists) {
            (_, false) => crate::render::say(format_args!("{}: not found in Jira", issue.issue_id)),
            (summary, true) => crate::render::say(format_args!(
                "{}: {} ({})",
                issue.issue_id,
                summary.as_deref().unwrap_or_default(),
                issue.status.as_deref().unwrap_or("no status")
            )),
        }
    }
    let is_compliant = compliant(&issues);
    let payload = json!({
        "jira_base_url": args.jira_base_url.trim_end_matches('/'),
        "commit": commit.sha,
        "branch": branch,
        "jira_results": issues,
    });
    record_attestation(options, args.common, "jira", is_compliant, Some(payload))?;
    Ok(outcome(args.assert, is_compliant))
}

/// Runs `attest sonar`.
pub fn sonar(args: AttestSonarArgs, options: &LedgerOptions) -> CliResult {
    use verdict_evidence::sonar::{ReportTask, Scan, results};
    let scan = match (&args.sonar_project_key, &args.sonar_revision) {
        (Some(project_key), Some(revision)) => Scan::Revision {
            server_url: args.sonar_server_url.clone(),
            project_key: project_key.clone(),
            revision: revision.clone(),
            branch: args.branch_name.clone(),
            pull_request: args.pull_request_id.clone(),
        },
        _ => {
            let path = args.sonar_working_dir.join("report-task.txt");
            let text = std::fs::read_to_string(&path).map_err(|err| {
                CliError::invalid(anyhow!(
                    "cannot read {}: {err} (run the Sonar scanner first, point --sonar-working-dir at its \
                     directory, or give --sonar-project-key and --sonar-revision)",
                    path.display()
                ))
            })?;
            Scan::Task(
                ReportTask::parse(&text)
                    .map_err(|err| CliError::invalid(anyhow!("{}: {err}", path.display())))?,
            )
        }
    };
    let found = super::ledger::runtime()?
        .block_on(results(&scan, &args.sonar_api_token, args.sonar_wait))
        .map_err(api_error)?;
    crate::render::say(format_args!(
        "{} analysis {}: quality gate {}",
        found.project_key, found.analysis_id, found.quality_gate_status
    ));
    let is_compliant = found.compliant();
    record_attestation(options, args.common, "sonar", is_compliant, Some(json!({"sonar_results": found})))?;
    Ok(outcome(args.assert, is_compliant))
}
