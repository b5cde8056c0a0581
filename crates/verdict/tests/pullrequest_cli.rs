//! `attest pullrequest github|gitlab` against fake APIs on loopback that answer with the response shapes
//! of GitHub's and GitLab's REST APIs (trimmed to the fields verdict reads plus a few it ignores).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Env;
use predicates::prelude::*;
use serde_json::{Value, json};
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
        {"id": 81, "user": {"login": "monalisa"}, "body": "Nit", "state": "COMMENTED", "commit_id": SHA},
        {"id": 82, "user": {"login": "hubot"}, "body": "Again", "state": "APPROVED", "commit_id": SHA}
    ]);
    let commits = json!([{
        "sha": SHA, "node_id": "MDY6Q29tbWl0",
        "commit": {"author": {"name": "Monalisa Octocat", "email": "support@github.com", "date": "2011-04-14T16:00:49Z"},
                   "message": "Fix all the bugs\n\nLonger text."},
        "author": {"login": "octocat"}
    }]);
    FakeJsonApi::start(
        vec![
            (&format!("/repos/acme/shop/commits/{SHA}/pulls"), pulls.to_string()),
            ("/repos/acme/shop/pulls/1347/reviews", reviews.to_string()),
            ("/repos/acme/shop/pulls/1347/commits", commits.to_string()),
            ("/repos/acme/shop/commits/0000000000000000000000000000000000000000/pulls", "[]".to_owned()),
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
    FakeJsonApi::start(
        vec![
            (
                &format!("/api/v4/projects/acme%2Fshop/repository/commits/{SHA}/merge_requests"),
                mrs.to_string(),
            ),
            ("/api/v4/projects/acme%2Fshop/merge_requests/12/approvals", approvals.to_string()),
            ("/api/v4/projects/acme%2Fshop/merge_requests/12/commits", commits.to_string()),
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
            "https://github.com/acme/shop/pull/1347 (merged) by octocat, approved by hubot",
        ));
    let pr = pr_status(&env, "pr");
    assert_eq!((pr["type"].as_str(), pr["is_compliant"].as_bool()), (Some("pull_request"), Some(true)));
    assert_eq!(pr["pull_requests"][0]["approvers"], json!(["hubot"]));
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
