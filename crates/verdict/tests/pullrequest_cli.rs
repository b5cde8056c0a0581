//! `attest pullrequest github|gitlab|bitbucket|azure` against fake APIs on loopback that answer with the
//! response shapes of each service's REST API (trimmed to the fields verdict reads plus a few it ignores),
//! paginated the way each service paginates: every page must be read.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Env;
use predicates::prelude::*;
use serde_json::{Value, json};
use verdict_testkit::git::basic_auth as basic;
use verdict_testkit::json_api::FakeJsonApi;

const SHA: &str = "6dcb09b5b57875f334f61aebed695e2e4193db5e";

fn github() -> FakeJsonApi {
    let pulls = json!([{
        "url": "https://api.github.com/repos/acme/shop/pulls/1347", "id": 1, "node_id": "MDExOlB1bGxSZXF1ZXN0MQ==",
        "html_url": "https://github.com/acme/shop/pull/1347", "number": 1347, "state": "closed", "locked": false,
        "title": "Amazing new feature", "user": {"login": "octocat", "id": 1, "type": "User"},
        "body": "Please pull these awesome changes in!", "created_at": "2011-01-26T19:01:12Z",
        "merged_at": "2011-01-26T19:01:12Z", "merge_commit_sha": "e5bd3914e2e596debea16f433f57875b5b90bcd6",
        "head": {"label": "octocat:new-topic", "ref": "new-topic", "sha": SHA}
    }]);
    let reviews = json!([
        {"id": 80, "user": {"login": "hubot"}, "body": "Looks good", "state": "APPROVED", "commit_id": SHA},
        {"id": 81, "user": {"login": "monalisa"}, "body": "Nit", "state": "COMMENTED", "commit_id": SHA}
    ]);
    // The second page of reviews (GitHub's `Link: <…&page=2>; rel="next"`): an approval only there.
    let reviews_2 = json!([
        {"id": 82, "user": {"login": "hubot"}, "body": "Again", "state": "APPROVED", "commit_id": SHA},
        {"id": 83, "user": {"login": "octodog"}, "body": "Ship it", "state": "APPROVED", "commit_id": SHA}
    ]);
    let commits = json!([{
        "sha": SHA, "node_id": "MDY6Q29tbWl0",
        "commit": {"author": {"name": "Monalisa Octocat", "email": "support@github.com", "date": "2011-04-14T16:00:49Z"},
                   "message": "Fix all the bugs\n\nLonger text."},
        "author": {"login": "octocat"}
    }]);
    let next = r#"<https://api.github.example/ignored>; rel="last", </repos/acme/shop/pulls/1347/reviews?per_page=100&page=2>; rel="next""#;
    FakeJsonApi::start_with_headers(
        vec![
            (&format!("/repos/acme/shop/commits/{SHA}/pulls?per_page=100"), pulls.to_string(), vec![]),
            ("/repos/acme/shop/pulls/1347/reviews?per_page=100", reviews.to_string(), vec![("link", next)]),
            ("/repos/acme/shop/pulls/1347/reviews?per_page=100&page=2", reviews_2.to_string(), vec![]),
            ("/repos/acme/shop/pulls/1347/commits?per_page=100", commits.to_string(), vec![]),
            (
                "/repos/acme/shop/commits/0000000000000000000000000000000000000000/pulls?per_page=100",
                "[]".to_owned(),
                vec![],
            ),
        ],
        ("authorization", "Bearer gh-token"),
    )
}

fn gitlab() -> FakeJsonApi {
    let mrs = json!([{
        "id": 1, "iid": 12, "project_id": 3, "title": "Add the checkout", "state": "merged",
        "web_url": "https://gitlab.example.com/acme/shop/-/merge_requests/12",
        "author": {"id": 1, "username": "admin", "name": "Administrator"}, "sha": SHA
    }]);
    let approvals = json!({"id": 5, "iid": 12, "approved": true, "approved_by": [{"user": {"id": 2, "username": "reviewer", "name": "Re Viewer"}}]});
    let commits = json!([{"id": SHA, "short_id": "6dcb09b5", "title": "Fix all the bugs", "author_name": "Administrator", "author_email": "admin@example.com"}]);
    let commits_2 = json!([{"id": "ab".repeat(20), "short_id": "abababab", "title": "Second page", "author_name": "Re Viewer", "author_email": "r@example.com"}]);
    let next = r#"</api/v4/projects/acme%2Fshop/merge_requests/12/commits?page=2&per_page=100>; rel="next""#;
    FakeJsonApi::start_with_headers(
        vec![
            (
                &format!("/api/v4/projects/acme%2Fshop/repository/commits/{SHA}/merge_requests?per_page=100"),
                mrs.to_string(),
                vec![],
            ),
            ("/api/v4/projects/acme%2Fshop/merge_requests/12/approvals", approvals.to_string(), vec![]),
            (
                "/api/v4/projects/acme%2Fshop/merge_requests/12/commits?per_page=100",
                commits.to_string(),
                vec![("link", next)],
            ),
            (
                "/api/v4/projects/acme%2Fshop/merge_requests/12/commits?page=2&per_page=100",
                commits_2.to_string(),
                vec![],
            ),
        ],
        ("private-token", "gl-token"),
    )
}

fn pr_status(env: &Env, name: &str) -> Value {
    let output = env.verdict().args(["get", "trail", "t", "--flow", "f", "-o", "json"]).output().unwrap();
    let document: Value = serde_json::from_slice(&output.stdout).unwrap();
    document["compliance_status"]["attestations_statuses"][name].clone()
}

#[test]
fn pull_requests_from_github_and_gitlab() {
    let env = Env::embedded();
    let (gh, gl) = (github(), gitlab());
    env.verdict().args(["create", "flow", "f"]).assert().code(0);
    env.verdict().args(["begin", "trail", "t", "--flow", "f"]).assert().code(0);
    let base = ["attest", "pullrequest"];
    env.verdict()
        .args(base)
        .args([
            "github",
            "--name",
            "pr",
            "--flow",
            "f",
            "--trail",
            "t",
            "--repository",
            "acme/shop",
            "--commit",
            SHA,
        ])
        .args(["--github-token", "gh-token", "--github-base-url", gh.url()])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "https://github.com/acme/shop/pull/1347 (merged) by octocat, approved by hubot, octodog",
        ));
    let pr = pr_status(&env, "pr");
    assert_eq!((pr["type"].as_str(), pr["is_compliant"].as_bool()), (Some("pull_request"), Some(true)));
    assert_eq!(pr["pull_requests"][0]["approvers"], json!(["hubot", "octodog"]));
    assert_eq!(
        pr["pull_requests"][0]["commits"][0],
        json!({"sha": SHA, "author": "Monalisa Octocat", "message": "Fix all the bugs"})
    );

    env.verdict()
        .args(base)
        .args([
            "gitlab",
            "--name",
            "mr",
            "--flow",
            "f",
            "--trail",
            "t",
            "--repository",
            "acme/shop",
            "--commit",
            SHA,
        ])
        .args(["--gitlab-token", "gl-token", "--gitlab-base-url", gl.url()])
        .assert()
        .code(0);
    let mr = pr_status(&env, "mr");
    assert_eq!(mr["pull_requests"][0]["url"], "https://gitlab.example.com/acme/shop/-/merge_requests/12");
    assert_eq!(
        (mr["pull_requests"][0]["author"].as_str(), mr["pull_requests"][0]["approvers"][0].as_str()),
        (Some("admin"), Some("reviewer"))
    );
    assert_eq!(
        mr["pull_requests"][0]["commits"][1]["message"], "Second page",
        "GitLab's second page is read"
    );

    // No pull request: recorded as non-compliant; --assert exits 1.
    let none = "0000000000000000000000000000000000000000";
    env.verdict()
        .args(base)
        .args([
            "github",
            "--name",
            "pr2",
            "--flow",
            "f",
            "--trail",
            "t",
            "--repository",
            "acme/shop",
            "--commit",
            none,
            "--assert",
        ])
        .args(["--github-token", "gh-token", "--github-base-url", gh.url()])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("no pull request contains commit"));
    assert_eq!(pr_status(&env, "pr2")["is_compliant"], false);

    // A bad token or an unknown repository: exit 2, nothing recorded; an unreachable API: exit 3.
    let before = env.entries();
    env.verdict()
        .args(base)
        .args([
            "github",
            "--name",
            "pr3",
            "--flow",
            "f",
            "--trail",
            "t",
            "--repository",
            "acme/shop",
            "--commit",
            SHA,
        ])
        .args(["--github-token", "wrong", "--github-base-url", gh.url()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("Bad credentials"));
    env.verdict()
        .args(base)
        .args([
            "github",
            "--name",
            "pr3",
            "--flow",
            "f",
            "--trail",
            "t",
            "--repository",
            "acme/nope",
            "--commit",
            SHA,
        ])
        .args(["--github-token", "gh-token", "--github-base-url", gh.url()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("404"));
    env.verdict()
        .args(base)
        .args([
            "gitlab",
            "--name",
            "pr3",
            "--flow",
            "f",
            "--trail",
            "t",
            "--repository",
            "acme/shop",
            "--commit",
            SHA,
        ])
        .args(["--gitlab-token", "gl-token", "--gitlab-base-url", "http://127.0.0.1:9"])
        .assert()
        .code(3);
    assert_eq!(env.entries(), before);
}

fn trail() -> Env {
    let env = Env::embedded();
    env.verdict().args(["create", "flow", "f"]).assert().code(0);
    env.verdict().args(["begin", "trail", "t", "--flow", "f"]).assert().code(0);
    env
}

/// Bitbucket Cloud: pull requests of a commit (two pages, `next` links), approvals from each pull
/// request's participants, commits (two pages).
#[test]
fn pull_requests_from_bitbucket() {
    let listing_1 = json!({"pagelen": 1, "size": 2, "page": 1,
        "values": [{"id": 7, "title": "Checkout", "state": "MERGED", "type": "pullrequest"}],
        "next": "/2.0/repositories/acme/shop/commit/SHA/pullrequests?pagelen=50&page=2".replace("SHA", SHA)});
    let listing_2 = json!({"pagelen": 1, "size": 2, "page": 2,
        "values": [{"id": 8, "title": "Follow-up", "state": "OPEN", "type": "pullrequest"}]});
    let pr = |id: u64, title: &str, state: &str, approved: bool| {
        json!({
        "id": id, "title": title, "state": state, "type": "pullrequest",
        "author": {"display_name": "Ada Lovelace", "nickname": "ada"},
        "links": {"html": {"href": format!("https://bitbucket.org/acme/shop/pull-requests/{id}")}},
        "participants": [
            {"role": "REVIEWER", "approved": approved, "user": {"display_name": "Grace Hopper"}},
            {"role": "PARTICIPANT", "approved": false, "user": {"display_name": "Alan Turing"}}
        ]})
    };
    let commits_1 = json!({"values": [{"hash": SHA, "message": "Checkout\n\nbody", "author": {"raw": "Ada Lovelace <ada@example.com>"}}],
        "next": "/2.0/repositories/acme/shop/pullrequests/7/commits?page=2"});
    let commits_2 = json!({"values": [{"hash": "cd".repeat(20), "message": "Tests", "author": {"raw": "Ada Lovelace <ada@example.com>"}}]});
    let fake = FakeJsonApi::start(
        vec![
            (
                &format!("/2.0/repositories/acme/shop/commit/{SHA}/pullrequests?pagelen=50"),
                listing_1.to_string(),
            ),
            (
                &format!("/2.0/repositories/acme/shop/commit/{SHA}/pullrequests?pagelen=50&page=2"),
                listing_2.to_string(),
            ),
            ("/2.0/repositories/acme/shop/pullrequests/7", pr(7, "Checkout", "MERGED", true).to_string()),
            ("/2.0/repositories/acme/shop/pullrequests/8", pr(8, "Follow-up", "OPEN", false).to_string()),
            ("/2.0/repositories/acme/shop/pullrequests/7/commits", commits_1.to_string()),
            ("/2.0/repositories/acme/shop/pullrequests/7/commits?page=2", commits_2.to_string()),
            ("/2.0/repositories/acme/shop/pullrequests/8/commits", json!({"values": []}).to_string()),
        ],
        ("authorization", &basic("ada", "app-password")),
    );
    let env = trail();
    let attest = |name: &str, credentials: &[&str]| {
        let mut command = env.verdict();
        command
            .args(["attest", "pullrequest", "bitbucket", "--name", name, "--flow", "f", "--trail", "t"])
            .args(["--repository", "acme/shop", "--commit", SHA, "--bitbucket-base-url", fake.url()])
            .args(credentials);
        command
    };
    attest("pr", &["--bitbucket-username", "ada", "--bitbucket-password", "app-password"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("https://bitbucket.org/acme/shop/pull-requests/7 (merged) by Ada Lovelace, approved by Grace Hopper"))
        .stdout(predicate::str::contains("pull-requests/8 (open) by Ada Lovelace, approved by nobody"));
    let pr = pr_status(&env, "pr");
    assert_eq!(pr["pull_requests"].as_array().unwrap().len(), 2, "both listing pages: {pr}");
    assert_eq!(pr["pull_requests"][0]["commits"][1]["message"], "Tests", "both commit pages: {pr}");
    assert_eq!(pr["pull_requests"][0]["commits"][0]["message"], "Checkout");
    // A wrong app password: exit 2, nothing recorded.
    let before = env.entries();
    attest("pr2", &["--bitbucket-username", "ada", "--bitbucket-password", "wrong"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("Bitbucket API refused"));
    assert_eq!(env.entries(), before);
}

/// Azure DevOps: the pull-request query by merge commit (a POST), reviewers' votes (10 and 5 approve,
/// -10 rejects), commits continued with `x-ms-continuationtoken`.
#[test]
fn pull_requests_from_azure_devops() {
    let query = json!({"results": [{SHA: [{
        "pullRequestId": 42, "status": "completed", "title": "Pay with points",
        "createdBy": {"displayName": "Mona Kane", "uniqueName": "mona@example.com"},
        "lastMergeCommit": {"commitId": SHA}
    }]}]});
    let reviewers = json!({"count": 3, "value": [
        {"displayName": "Kai Lin", "vote": 10}, {"displayName": "Ruth Ames", "vote": 5}, {"displayName": "Ole Berg", "vote": -10}
    ]});
    let git = "/shop/_apis/git/repositories/web";
    let commits_1 = json!({"count": 1, "value": [{"commitId": SHA, "comment": "Pay with points", "author": {"name": "Mona Kane"}}]});
    let commits_2 = json!({"count": 1, "value": [{"commitId": "ef".repeat(20), "comment": "Review fixes", "author": {"name": "Mona Kane"}}]});
    let fake = FakeJsonApi::start_with_headers(
        vec![
            (&format!("{git}/pullrequestquery?api-version=7.1"), query.to_string(), vec![]),
            (&format!("{git}/pullRequests/42/reviewers?api-version=7.1"), reviewers.to_string(), vec![]),
            (
                &format!("{git}/pullRequests/42/commits?api-version=7.1&$top=100"),
                commits_1.to_string(),
                vec![("x-ms-continuationtoken", "page 2")],
            ),
            (
                &format!("{git}/pullRequests/42/commits?api-version=7.1&$top=100&continuationToken=page%202"),
                commits_2.to_string(),
                vec![],
            ),
        ],
        ("authorization", &basic("", "azure-pat")),
    );
    let env = trail();
    let attest = |token: &str| {
        let mut command = env.verdict();
        command
            .args(["attest", "pullrequest", "azure", "--name", "pr", "--flow", "f", "--trail", "t"])
            .args(["--repository", "acme/web", "--commit", SHA, "--project", "shop"])
            .args(["--azure-org-url", fake.url(), "--azure-token", token]);
        command
    };
    attest("azure-pat").assert().code(0).stdout(predicate::str::contains(
        "/shop/_git/web/pullrequest/42 (merged) by Mona Kane, approved by Kai Lin, Ruth Ames",
    ));
    let pr = pr_status(&env, "pr");
    assert_eq!(pr["pull_requests"][0]["commits"][1]["message"], "Review fixes", "the continued page: {pr}");
    assert_eq!(pr["is_compliant"], true);
    attest("wrong").assert().code(2).stderr(predicate::str::contains("Azure DevOps API refused"));
}
