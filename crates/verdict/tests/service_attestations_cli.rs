//! `attest jira` and `attest sonar` against fake Jira and SonarQube APIs on loopback answering with each
//! API's JSON shapes; the commit message and branch are read from a real git checkout (made with the
//! `git` binary here; verdict reads it without one).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Env;
use predicates::prelude::*;
use serde_json::{Value, json};
use verdict_testkit::git::{basic_auth as basic, git};
use verdict_testkit::json_api::FakeJsonApi;

fn trail() -> Env {
    let env = Env::embedded();
    env.verdict().args(["create", "flow", "f"]).assert().code(0);
    env.verdict().args(["begin", "trail", "t", "--flow", "f"]).assert().code(0);
    env
}

fn status(env: &Env, name: &str) -> Value {
    let output = env.verdict().args(["get", "trail", "t", "--flow", "f", "-o", "json"]).output().unwrap();
    let document: Value = serde_json::from_slice(&output.stdout).unwrap();
    document["compliance_status"]["attestations_statuses"][name].clone()
}

/// A checkout on branch `feature/PAY-7-points` whose HEAD says `PAY-12: …` and mentions `OPS-3`, with an
/// older commit that names no issue.
fn checkout() -> (tempfile::TempDir, String, String) {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q", "-b", "main"]);
    git(dir.path(), &["commit", "-q", "--allow-empty", "-m", "chore: tidy the build"]);
    let plain = git(dir.path(), &["rev-parse", "HEAD"]);
    git(dir.path(), &["checkout", "-q", "-b", "feature/PAY-7-points"]);
    git(dir.path(), &["commit", "-q", "--allow-empty", "-m", "PAY-12: round points down\n\nFollows OPS-3."]);
    let head = git(dir.path(), &["rev-parse", "HEAD"]);
    (dir, plain, head)
}

fn issue(key: &str, summary: &str, status: &str) -> String {
    json!({"id": "10001", "key": key, "self": format!("https://acme.atlassian.net/rest/api/2/issue/{key}"),
           "fields": {"summary": summary, "status": {"name": status, "id": "3"}}})
    .to_string()
}

fn jira(credential: &str) -> FakeJsonApi {
    FakeJsonApi::start(
        vec![
            (
                "/rest/api/2/issue/PAY-12?fields=summary,status",
                issue("PAY-12", "Round points down", "In Progress"),
            ),
            ("/rest/api/2/issue/PAY-7?fields=summary,status", issue("PAY-7", "Pay with points", "Done")),
            ("/rest/api/2/issue/OPS-3?fields=summary,status", issue("OPS-3", "Rounding policy", "Done")),
        ],
        ("authorization", credential),
    )
}

#[test]
fn jira_issues_from_the_commit_and_branch() {
    let fake = jira(&basic("ada@example.com", "jira-token"));
    let (repo, plain, head) = checkout();
    let env = trail();
    let attest = |name: &str, extra: &[&str]| {
        let mut command = env.verdict();
        command
            .args([
                "attest",
                "jira",
                "--name",
                name,
                "--flow",
                "f",
                "--trail",
                "t",
                "--jira-base-url",
                fake.url(),
            ])
            .args(["--repo-root", repo.path().to_str().unwrap()])
            .args(extra);
        command
    };
    let cloud = ["--jira-username", "ada@example.com", "--jira-api-token", "jira-token"];
    attest("jira", &cloud)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("PAY-12: Round points down (In Progress)"))
        .stdout(predicate::str::contains("OPS-3: Rounding policy (Done)"))
        .stdout(predicate::str::contains("PAY-7: Pay with points (Done)"));
    let jira = status(&env, "jira");
    assert_eq!((jira["type"].as_str(), jira["is_compliant"].as_bool()), (Some("jira"), Some(true)), "{jira}");
    let keys: Vec<&str> =
        jira["jira_results"].as_array().unwrap().iter().map(|i| i["issue_id"].as_str().unwrap()).collect();
    assert_eq!(keys, ["PAY-12", "OPS-3", "PAY-7"], "message first, then the branch");
    assert_eq!(jira["commit"], head.as_str());
    assert_eq!(jira["branch"], "feature/PAY-7-points");

    // A key Jira does not know: recorded non-compliant; --assert exits 1.
    attest("jira-missing", &[&cloud[..], &["--branch", "bugfix/NOPE-404", "--assert"]].concat())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("NOPE-404: not found in Jira"));
    assert_eq!(status(&env, "jira-missing")["is_compliant"], false);
    // A commit that names no issue, on a branch that names none: non-compliant.
    attest("jira-none", &[&cloud[..], &["--commit", &plain, "--branch", "main"]].concat())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("no Jira issue key in commit"));
    assert_eq!(status(&env, "jira-none")["is_compliant"], false);

    // Refused credentials are an error, not "issue not found": exit 2, nothing recorded.
    let before = env.entries();
    attest("jira-bad", &["--jira-username", "ada@example.com", "--jira-api-token", "wrong"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("Jira API refused"));
    // Not a checkout, an unknown commit, or no credentials at all: exit 2.
    let elsewhere = tempfile::tempdir().unwrap();
    env.verdict()
        .args(["attest", "jira", "--name", "j", "--flow", "f", "--trail", "t", "--jira-base-url", fake.url()])
        .args(["--repo-root", elsewhere.path().to_str().unwrap()])
        .args(cloud)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a git checkout"));
    attest("j", &[&cloud[..], &["--commit", "0123456789abcdef"]].concat())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot find commit"));
    attest("j", &[]).assert().code(2);
    // Jira down: exit 3.
    env.verdict()
        .args([
            "attest",
            "jira",
            "--name",
            "j",
            "--flow",
            "f",
            "--trail",
            "t",
            "--jira-base-url",
            "http://127.0.0.1:9",
        ])
        .args(["--repo-root", repo.path().to_str().unwrap()])
        .args(cloud)
        .assert()
        .code(3);
    assert_eq!(env.entries(), before);
}

#[test]
fn jira_data_center_with_a_personal_access_token() {
    let fake = jira("Bearer jira-pat");
    let (repo, _, _) = checkout();
    let env = trail();
    env.verdict()
        .args([
            "attest",
            "jira",
            "--name",
            "jira",
            "--flow",
            "f",
            "--trail",
            "t",
            "--jira-base-url",
            fake.url(),
        ])
        .args(["--repo-root", repo.path().to_str().unwrap(), "--jira-pat", "jira-pat", "--assert"])
        .assert()
        .code(0);
    assert_eq!(status(&env, "jira")["is_compliant"], true);
    // A policy rule of `type: jira` can now be satisfied.
    let fingerprint = "ab".repeat(32);
    env.verdict()
        .args([
            "attest",
            "artifact",
            "--fingerprint",
            &fingerprint,
            "--name",
            "app",
            "--flow",
            "f",
            "--trail",
            "t",
        ])
        .assert()
        .code(0);
    let policy = env.write(
        "jira-policy.yml",
        b"_schema: https://kosli.com/schemas/policy/environment/v1\nartifacts:\n  attestations:\n    - name: jira\n      type: jira\n",
    );
    env.verdict()
        .args(["assert", "artifact", "--fingerprint", &fingerprint, "--policy", policy.to_str().unwrap()])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("ALLOWED"));
}

fn sonar() -> FakeJsonApi {
    let gate = |status: &str| {
        json!({"projectStatus": {"status": status, "ignoredConditions": false, "conditions": [
            {"status": status, "metricKey": "new_coverage", "comparator": "LT", "errorThreshold": "80", "actualValue": "91.2"}
        ]}})
        .to_string()
    };
    let task = |id: &str, status: &str, analysis: &str| {
        json!({"task": {"id": id, "type": "REPORT", "componentKey": "acme_shop", "status": status, "analysisId": analysis,
                        "errorMessage": "Analysis report could not be processed"}})
        .to_string()
    };
    let analyses = |page: u64, revision: &str, key: &str| {
        json!({"paging": {"pageIndex": page, "pageSize": 1, "total": 2},
               "analyses": [{"key": key, "date": "2026-11-20T10:00:00+0000", "revision": revision, "events": []}]})
        .to_string()
    };
    FakeJsonApi::start(
        vec![
            ("/api/ce/task?id=T-OK", task("T-OK", "SUCCESS", "A-OK")),
            ("/api/ce/task?id=T-RED", task("T-RED", "SUCCESS", "A-RED")),
            ("/api/ce/task?id=T-FAILED", task("T-FAILED", "FAILED", "")),
            ("/api/qualitygates/project_status?analysisId=A-OK", gate("OK")),
            ("/api/qualitygates/project_status?analysisId=A-RED", gate("ERROR")),
            (
                "/api/project_analyses/search?project=acme_shop&ps=100&branch=main&p=1",
                analyses(1, "1111111", "A-RED"),
            ),
            (
                "/api/project_analyses/search?project=acme_shop&ps=100&branch=main&p=2",
                analyses(2, "2222222", "A-OK"),
            ),
        ],
        ("authorization", "Bearer sonar-token"),
    )
}

#[test]
fn sonar_quality_gates_from_the_scanners_report_or_by_revision() {
    let fake = sonar();
    let env = trail();
    let work = tempfile::tempdir().unwrap();
    let report = |task: &str| {
        let text = format!(
            "organization=acme\nprojectKey=acme_shop\nserverUrl={url}\nserverVersion=8.0.0\ndashboardUrl={url}/dashboard?id=acme_shop\nceTaskId={task}\nceTaskUrl={url}/api/ce/task?id={task}\n",
            url = fake.url()
        );
        std::fs::write(work.path().join("report-task.txt"), text).unwrap();
    };
    let attest = |name: &str, extra: &[&str]| {
        let mut command = env.verdict();
        command
            .args([
                "attest",
                "sonar",
                "--name",
                name,
                "--flow",
                "f",
                "--trail",
                "t",
                "--sonar-api-token",
                "sonar-token",
            ])
            .args(extra);
        command
    };
    let dir = ["--sonar-working-dir", work.path().to_str().unwrap()];
    report("T-OK");
    attest("sonar", &dir)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("acme_shop analysis A-OK: quality gate OK"));
    let sonar = status(&env, "sonar");
    assert_eq!(
        (sonar["type"].as_str(), sonar["is_compliant"].as_bool()),
        (Some("sonar"), Some(true)),
        "{sonar}"
    );
    assert_eq!(sonar["sonar_results"]["conditions"][0]["metricKey"], "new_coverage");

    report("T-RED");
    attest("sonar-red", &[&dir[..], &["--assert"]].concat()).assert().code(1);
    assert_eq!(status(&env, "sonar-red")["is_compliant"], false);

    // By project key and revision: the analysis is on the listing's second page.
    let by_revision = [
        "--sonar-project-key",
        "acme_shop",
        "--sonar-revision",
        "2222222",
        "--branch-name",
        "main",
        "--sonar-server-url",
        fake.url(),
    ];
    attest("sonar-rev", &by_revision).assert().code(0);
    assert_eq!(status(&env, "sonar-rev")["sonar_results"]["analysis_id"], "A-OK");

    let before = env.entries();
    // A revision never analysed, a failed scan, a missing report, a wrong token: nothing recorded.
    let unknown = [
        "--sonar-project-key",
        "acme_shop",
        "--sonar-revision",
        "3333333",
        "--branch-name",
        "main",
        "--sonar-server-url",
        fake.url(),
    ];
    attest("x", &unknown)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no analysis of revision 3333333"));
    report("T-FAILED");
    attest("x", &dir)
        .assert()
        .code(3)
        .stderr(predicate::str::contains("Analysis report could not be processed"));
    let empty = tempfile::tempdir().unwrap();
    attest("x", &["--sonar-working-dir", empty.path().to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("report-task.txt"))
        .stderr(predicate::str::contains("run the Sonar scanner first"));
    report("T-OK");
    env.verdict()
        .args(["attest", "sonar", "--name", "x", "--flow", "f", "--trail", "t", "--sonar-api-token", "wrong"])
        .args(dir)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("Sonar API refused"));
    assert_eq!(env.entries(), before);
}
