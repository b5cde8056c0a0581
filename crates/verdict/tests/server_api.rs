//! The ledger server over raw HTTP: the auth matrix, bad input, the API description, tokens, shutdown.
//! Whatever is refused must leave the ledger unchanged (`ledger verify` passes with the same count).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Env, ORG, create_token};
use predicates::prelude::*;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

const FP: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

struct Api {
    client: Client,
    base: String,
}

impl Api {
    fn new(env: &Env) -> Self {
        Api { client: Client::new(), base: env.url().to_owned() }
    }

    /// Sends a request; returns the status and the JSON body (Null when the body is not JSON).
    async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> (StatusCode, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let bytes = response.bytes().await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> (StatusCode, Value) {
        self.send(Method::POST, path, token, Some(body.to_string().into_bytes())).await
    }

    async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.send(Method::GET, path, token, None).await
    }
}

/// POSTs `body` over a plain TCP connection (request written whole, `Connection: close`) and returns the
/// status and the JSON body of the answer.
fn raw_post(base: &str, path: &str, token: &str, body: &str) -> (u16, Value) {
    use std::io::{Read, Write};
    let address = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer.split_whitespace().nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
    let json = answer.split_once("\r\n\r\n").map(|(_, body)| body).unwrap_or_default();
    (status, serde_json::from_str(json).unwrap_or(Value::Null))
}

/// A request, and the status, error code and message fragment it must be answered with.
type BadRequest = (Method, String, Option<Vec<u8>>, StatusCode, &'static str, &'static str);

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<no error code>")
}

/// A flow `backend` with trail `t1` in [`ORG`].
async fn seed(api: &Api, token: &str) {
    let (status, body) =
        api.post(&format!("/api/v1/orgs/{ORG}/flows"), Some(token), &json!({"name": "backend"})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = api
        .post(
            &format!("/api/v1/orgs/{ORG}/flows/backend/trails"),
            Some(token),
            &json!({"name": "t1", "flow": "backend"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_matrix_refuses_and_records_nothing() {
    let env = Env::server_sqlite();
    let api = Api::new(&env);
    let write = create_token(&env.db, ORG, "write");
    seed(&api, &write).await;
    let read = create_token(&env.db, ORG, "read");
    let other_org = create_token(&env.db, "other", "admin");
    let revoked = create_token(&env.db, ORG, "write");
    let revoked_id = revoked.split('_').nth(1).unwrap().to_owned();
    env.verdict().args(["--db", &env.db, "server", "token", "revoke", &revoked_id]).assert().code(0);
    let before = env.entries();

    let trail = format!("/api/v1/orgs/{ORG}/flows/backend/trails/t1");
    let writes: Vec<(String, Value)> = vec![
        (format!("/api/v1/orgs/{ORG}/flows"), json!({"name": "sneaky"})),
        (format!("/api/v1/orgs/{ORG}/flows/backend/trails"), json!({"name": "t2", "flow": "backend"})),
        (
            format!("{trail}/artifacts"),
            json!({"fingerprint": FP, "name": "app", "flow": "backend", "trail": "t1"}),
        ),
        (
            format!("{trail}/attestations"),
            json!({"name": "x", "type": "generic", "flow": "backend", "trail": "t1", "is_compliant": true}),
        ),
    ];
    let garbage = "vdt_000000000000_".to_owned() + &"0".repeat(64);
    let refusals: [(Option<&str>, StatusCode, &str); 5] = [
        (None, StatusCode::UNAUTHORIZED, "unauthenticated"),
        (Some(&garbage), StatusCode::UNAUTHORIZED, "invalid_token"),
        (Some(&revoked), StatusCode::UNAUTHORIZED, "invalid_token"),
        (Some(&other_org), StatusCode::FORBIDDEN, "wrong_org"),
        (Some(&read), StatusCode::FORBIDDEN, "insufficient_role"),
    ];
    for (path, body) in &writes {
        for (token, status, expected) in &refusals {
            let (got, response) = api.post(path, *token, body).await;
            assert_eq!((got, code(&response)), (*status, *expected), "POST {path} with {token:?}");
        }
        // An attachment upload is a write too.
        let (got, response) = api
            .send(Method::POST, &format!("/api/v1/orgs/{ORG}/attachments"), Some(&read), Some(b"x".to_vec()))
            .await;
        assert_eq!((got, code(&response)), (StatusCode::FORBIDDEN, "insufficient_role"));
    }
    // The bulk reads answer what the single reads answer.
    let (status, documents) = api
        .post(
            &format!("/api/v1/orgs/{ORG}/trail-documents"),
            Some(&read),
            &json!([["backend", "t1"], ["backend", "t1"]]),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, single) = api.get(&format!("{trail}/document"), Some(&read)).await;
    assert_eq!(documents, json!([single.clone(), single]));
    let (status, reports) =
        api.post(&format!("/api/v1/orgs/{ORG}/artifact-reports"), Some(&read), &json!([FP, FP])).await;
    assert_eq!((status, reports), (StatusCode::OK, json!([[], []])));
    let (status, body) = api
        .post(&format!("/api/v1/orgs/{ORG}/trail-documents"), Some(&other_org), &json!([["backend", "t1"]]))
        .await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "wrong_org"));
    // Reads: a read token may, another org's admin may not, nobody anonymous.
    let reads = [
        format!("/api/v1/orgs/{ORG}/flows"),
        format!("/api/v1/orgs/{ORG}/flows/backend"),
        format!("/api/v1/orgs/{ORG}/flows/backend/trails"),
        trail.clone(),
        format!("{trail}/document"),
        format!("{trail}/artifacts"),
        format!("{trail}/attestations"),
    ];
    for path in &reads {
        assert_eq!(api.get(path, Some(&read)).await.0, StatusCode::OK, "GET {path}");
        let (status, body) = api.get(path, Some(&other_org)).await;
        assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "wrong_org"), "GET {path}");
        assert_eq!(api.get(path, None).await.0, StatusCode::UNAUTHORIZED, "GET {path}");
        assert_eq!(api.get(path, Some(&revoked)).await.0, StatusCode::UNAUTHORIZED, "GET {path}");
    }
    // Verifying the whole chain (every org's entries) needs a server administrator: not a writer, not
    // even an org's admin.
    let admin = create_token(&env.db, ORG, "admin");
    for token in [&write, &admin, &other_org] {
        let (status, body) = api.get("/api/v1/ledger/verify", Some(token)).await;
        assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "insufficient_role"));
    }
    let server_admin = create_token(&env.db, "*", "admin");
    let (status, body) = api.get("/api/v1/ledger/verify", Some(&server_admin)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["count"], json!(before));
    assert_eq!(body["problem"], Value::Null);
    // ...who reaches no org's evidence.
    let (status, body) = api.get(&format!("/api/v1/orgs/{ORG}/flows"), Some(&server_admin)).await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "wrong_org"));

    // `ledger verify` through the server: server administrators only.
    env.verdict()
        .env("VERDICT_API_TOKEN", &server_admin)
        .args(["ledger", "verify"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(format!("verified {before} entries")));
    env.verdict()
        .env("VERDICT_API_TOKEN", &admin)
        .args(["ledger", "verify"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("server administrator"));
    assert_eq!(env.entries(), before, "a refused request recorded something");
    // The other org's admin can write its own org, and that stays invisible to ORG.
    let (status, _) =
        api.post("/api/v1/orgs/other/flows", Some(&other_org), &json!({"name": "theirs"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, flows) = api.get(&format!("/api/v1/orgs/{ORG}/flows"), Some(&read)).await;
    assert_eq!(flows.as_array().unwrap().len(), 1);
    // The CLI reports an auth failure as exit 2 with the server's explanation.
    env.verdict()
        .env("VERDICT_API_TOKEN", &read)
        .args(["create", "flow", "x"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("has role read and this needs role write"));
    env.verdict()
        .env("VERDICT_API_TOKEN", &revoked)
        .args(["list", "flows"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown or revoked"));
}

/// Every record kind, with a valid body, sent with every role: evidence is `write`'s, whatever changes
/// what is enforced is `policy`'s (DESIGN.md rule 12). A refused record leaves the ledger unchanged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_separate_evidence_from_enforcement() {
    let env = Env::server_sqlite();
    let api = Api::new(&env);
    let tokens: Vec<(&str, String)> = ["read", "write", "policy", "admin"]
        .into_iter()
        .map(|role| (role, create_token(&env.db, ORG, role)))
        .collect();
    let policy_token = &tokens[2].1;
    seed(&api, policy_token).await;
    let (status, stored) = api
        .send(
            Method::POST,
            &format!("/api/v1/orgs/{ORG}/attachments"),
            Some(policy_token),
            Some(b"{}".to_vec()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let sha256 = stored["sha256"].as_str().unwrap().to_owned();
    let policy = "_schema: https://kosli.com/schemas/policy/environment/v1\nartifacts:\n  provenance:\n    required: true\n";
    let kinds: Vec<(&str, &str, Value, &str)> = vec![
        ("environment", "prod", json!({"name": "prod", "type": "K8S"}), "policy"),
        ("policy", "gate", json!({"name": "gate", "source": policy}), "policy"),
        (
            "policy_attachment",
            "prod",
            json!({"environment": "prod", "policy": "gate", "attached": true}),
            "policy",
        ),
        (
            "allow_list",
            "prod",
            json!({"environment": "prod", "fingerprint": FP, "reason": "vendor"}),
            "policy",
        ),
        ("decision", FP, json!({"status": "COMPLIANT"}), "policy"),
        ("admission_decision", "u-1", json!({"uid": "u-1", "admitted": false, "images": []}), "policy"),
        (
            "snapshot_evaluation",
            "prod#1",
            json!({"environment": "prod", "snapshot": 1, "status": "COMPLIANT", "evaluation_sha256": sha256}),
            "policy",
        ),
        ("snapshot", "prod", json!({"environment": "prod", "artifacts": []}), "write"),
        (
            "trail_event",
            "backend/t1",
            json!({"event": "artifact_started_running", "flow": "backend", "trail": "t1", "fingerprint": FP,
                   "environment": "prod", "snapshot": 1}),
            "write",
        ),
        ("attestation_type", "coverage", json!({"name": "coverage", "schema": {"type": "object"}}), "write"),
    ];
    let rank = |role: &str| ["read", "write", "policy", "admin"].iter().position(|r| *r == role).unwrap();
    for (kind, subject, body, needed) in &kinds {
        for (role, token) in &tokens {
            let before = env.entries();
            let (status, response) = api
                .post(
                    &format!(
                        "/api/v1/orgs/{ORG}/records/{kind}/{}",
                        subject.replace('#', "%23").replace('/', "%2F")
                    ),
                    Some(token),
                    body,
                )
                .await;
            if rank(role) >= rank(needed) {
                assert_eq!(status, StatusCode::CREATED, "{kind} with {role}: {response}");
                assert_eq!(env.entries(), before + 1);
            } else {
                assert_eq!(
                    (status, code(&response)),
                    (StatusCode::FORBIDDEN, "insufficient_role"),
                    "{kind} with {role}"
                );
                assert!(
                    response["error"]["message"].as_str().unwrap().contains(&format!("needs role {needed}"))
                );
                assert_eq!(env.entries(), before, "{kind} refused for {role} but recorded");
            }
        }
    }
    // The server loads a policy before storing it, whoever sends it: line and column of the problem.
    let before = env.entries();
    let (status, response) = api
        .post(
            &format!("/api/v1/orgs/{ORG}/records/policy/gate"),
            Some(policy_token),
            &json!({"name": "gate", "source": "this: is: not a policy"}),
        )
        .await;
    assert_eq!((status, code(&response)), (StatusCode::BAD_REQUEST, "invalid_request"), "{response}");
    assert!(response["error"]["message"].as_str().unwrap().contains("gate:1:"), "{response}");
    assert_eq!(env.entries(), before);
    // The org and role are checked before the body is read: a body from a caller without the role is
    // refused as forbidden, never parsed (not `malformed_json`). Sent over a plain socket with the whole
    // request written at once: the server answers without reading the body, which an HTTP client still
    // writing it would see as a broken pipe.
    let garbage = format!("{{not json{}", "x".repeat(2048));
    let (status, response) =
        raw_post(&api.base, &format!("/api/v1/orgs/{ORG}/records/policy/gate"), &tokens[1].1, &garbage);
    assert_eq!((status, code(&response)), (403, "insufficient_role"), "{response}");
    let (status, response) =
        raw_post(&api.base, &format!("/api/v1/orgs/{ORG}/flows"), &tokens[0].1, &garbage);
    assert_eq!((status, code(&response)), (403, "insufficient_role"), "{response}");

    // Through the CLI, a CI (write) token cannot change what is enforced; a policy token can.
    let write = &tokens[1].1;
    let policy_file = env.write("gate.yml", policy.as_bytes());
    let cases: Vec<Vec<String>> = vec![
        vec![
            "allow".into(),
            "artifact".into(),
            "--fingerprint".into(),
            FP.into(),
            "-e".into(),
            "prod".into(),
            "--reason".into(),
            "mine".into(),
        ],
        vec!["create".into(), "policy".into(), "gate".into(), policy_file.display().to_string()],
        vec!["create".into(), "environment".into(), "staging".into(), "--type".into(), "K8S".into()],
        vec!["detach-policy".into(), "gate".into(), "-e".into(), "prod".into()],
    ];
    for args in &cases {
        let before = env.entries();
        env.verdict()
            .env("VERDICT_API_TOKEN", write)
            .args(args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("needs role policy"));
        assert_eq!(env.entries(), before, "{args:?}");
    }
    env.verdict().env("VERDICT_API_TOKEN", policy_token).args(&cases[0]).assert().code(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_with_a_code_and_records_nothing() {
    let mut env = Env::embedded();
    env.start_server(&["--max-body-bytes", "4KiB"]);
    let api = Api::new(&env);
    let token = env.token.clone().unwrap();
    seed(&api, &token).await;
    let before = env.entries();
    let trail = format!("/api/v1/orgs/{ORG}/flows/backend/trails/t1");
    let raw = |body: &str| Some(body.as_bytes().to_vec());
    let cases: Vec<BadRequest> = vec![
        (Method::POST, format!("/api/v1/orgs/{ORG}/flows"), raw("{\"name\": "), StatusCode::BAD_REQUEST, "malformed_json", "EOF"),
        (Method::POST, format!("/api/v1/orgs/{ORG}/flows"), raw("\"just text\""), StatusCode::BAD_REQUEST, "invalid_request", "expected struct Flow"),
        (Method::POST, format!("/api/v1/orgs/{ORG}/flows"), raw("{\"name\": 7}"), StatusCode::BAD_REQUEST, "invalid_request", "at name"),
        (Method::POST, format!("/api/v1/orgs/{ORG}/flows"), raw("{\"name\": \"bad name\"}"), StatusCode::BAD_REQUEST, "invalid_request", "invalid flow name"),
        (
            Method::POST,
            format!("/api/v1/orgs/{ORG}/flows"),
            Some(json!({"name": "big", "description": "x".repeat(8192)}).to_string().into_bytes()),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "--max-body-bytes",
        ),
        (
            Method::POST,
            format!("{trail}/artifacts"),
            Some(json!({"fingerprint": "xyz", "name": "app", "flow": "backend", "trail": "t1"}).to_string().into_bytes()),
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "xyz is not a valid SHA256 fingerprint",
        ),
        (
            Method::POST,
            format!("/api/v1/orgs/{ORG}/flows/nope/trails/t1/artifacts"),
            Some(json!({"fingerprint": FP, "name": "app", "flow": "nope", "trail": "t1"}).to_string().into_bytes()),
            StatusCode::NOT_FOUND,
            "not_found",
            "flow \"nope\" does not exist",
        ),
        (
            Method::POST,
            format!("/api/v1/orgs/{ORG}/flows/backend/trails/t9/attestations"),
            Some(json!({"name": "x", "type": "generic", "flow": "backend", "trail": "t9", "is_compliant": true}).to_string().into_bytes()),
            StatusCode::NOT_FOUND,
            "not_found",
            "trail \"t9\" does not exist",
        ),
        (
            Method::POST,
            format!("{trail}/attestations"),
            Some(json!({"name": "x", "type": "generic", "flow": "backend", "trail": "t1", "is_compliant": true,
                        "attachments": [{"name": "r.txt", "sha256": FP, "size": 0}]}).to_string().into_bytes()),
            StatusCode::NOT_FOUND,
            "not_found",
            "was not uploaded",
        ),
        (
            Method::POST,
            format!("{trail}/attestations"),
            Some(json!({"name": "x", "type": "generic", "flow": "other", "trail": "t1", "is_compliant": true}).to_string().into_bytes()),
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "differs from the flow \"backend\" in the URL",
        ),
        (
            Method::POST,
            format!("/api/v1/orgs/{ORG}/flows"),
            Some(json!({"name": "dup", "template": {"version": 1, "trail": {"artifacts": [{"name": "a"}, {"name": "a"}]}}}).to_string().into_bytes()),
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "duplicate artifact name \"a\"",
        ),
        (
            Method::POST,
            format!("/api/v1/orgs/{ORG}/records/gizmo/x"),
            raw("{}"),
            StatusCode::NOT_FOUND,
            "not_found",
            "unknown record kind \"gizmo\"",
        ),
        (
            Method::POST,
            format!("/api/v1/orgs/{ORG}/records/environment/prod"),
            raw("{\"name\": \"prod\", \"type\": \"mainframe\"}"),
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "invalid environment type",
        ),
        (
            Method::POST,
            format!("/api/v1/orgs/{ORG}/records/snapshot/prod"),
            raw("{\"environment\": \"prod\", \"artifacts\": [{\"name\": \"a\", \"fingerprint\": \"zz\", \"instances\": 1}]}"),
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "not a valid SHA256 fingerprint",
        ),
        (
            Method::GET,
            format!("/api/v1/orgs/{ORG}/fingerprints/xyz/artifacts"),
            None,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "not a valid SHA256 fingerprint",
        ),
        (Method::GET, format!("/api/v1/orgs/{ORG}/flows/nope"), None, StatusCode::NOT_FOUND, "not_found", "flow \"nope\" does not exist"),
        (Method::GET, format!("{trail}/nothing-here"), None, StatusCode::NOT_FOUND, "no_route", "openapi.json"),
        (Method::DELETE, format!("/api/v1/orgs/{ORG}/flows"), None, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "method"),
    ];
    for (method, path, body, status, expected_code, message) in cases {
        let (got, response) = api.send(method.clone(), &path, Some(&token), body).await;
        assert_eq!((got, code(&response)), (status, expected_code), "{method} {path}: {response}");
        let text = response["error"]["message"].as_str().unwrap_or_default();
        assert!(text.contains(message), "{method} {path}: {text:?} lacks {message:?}");
    }
    assert_eq!(env.entries(), before, "bad input recorded something");
    // A duplicate flow name is a correction, not an error: it appends, and the latest wins.
    let (status, _) = api
        .post(
            &format!("/api/v1/orgs/{ORG}/flows"),
            Some(&token),
            &json!({"name": "backend", "description": "v2"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, flow) = api.get(&format!("/api/v1/orgs/{ORG}/flows/backend"), Some(&token)).await;
    assert_eq!(flow["description"], "v2");
    assert_eq!(env.entries(), before + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_openapi_and_attachments() {
    let env = Env::server_sqlite();
    let api = Api::new(&env);
    let token = env.token.clone().unwrap();
    assert_eq!(api.get("/healthz", None).await, (StatusCode::OK, json!({"status": "ok"})));
    assert_eq!(api.get("/readyz", None).await, (StatusCode::OK, json!({"status": "ready"})));
    let (status, document) = api.get("/api/v1/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(document["openapi"], "3.1.0");
    let paths = document["paths"].as_object().unwrap();
    for path in [
        "/api/v1/orgs/{org}/flows",
        "/api/v1/orgs/{org}/flows/{flow}",
        "/api/v1/orgs/{org}/flows/{flow}/versions",
        "/api/v1/orgs/{org}/flows/{flow}/trails",
        "/api/v1/orgs/{org}/flows/{flow}/trails/{trail}",
        "/api/v1/orgs/{org}/flows/{flow}/trails/{trail}/document",
        "/api/v1/orgs/{org}/flows/{flow}/trails/{trail}/artifacts",
        "/api/v1/orgs/{org}/flows/{flow}/trails/{trail}/attestations",
        "/api/v1/orgs/{org}/attachments",
        "/api/v1/orgs/{org}/attachments/{sha256}",
        "/api/v1/orgs/{org}/records/{kind}",
        "/api/v1/orgs/{org}/records/{kind}/{subject}",
        "/api/v1/orgs/{org}/fingerprints/{fingerprint}/artifacts",
        "/api/v1/orgs/{org}/artifact-reports",
        "/api/v1/orgs/{org}/search/{prefix}",
        "/api/v1/orgs/{org}/trail-documents",
        "/api/v1/ledger/verify",
        "/healthz",
        "/readyz",
    ] {
        assert!(paths.contains_key(path), "{path} is not described");
    }
    // Every error code the server can answer is listed in the Error schema.
    let codes: Vec<&str> =
        document["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
    let source = std::fs::read_to_string(
        verdict_testkit::workspace_root().join("crates/verdict-server/src").join("auth.rs"),
    )
    .unwrap()
        + &std::fs::read_to_string(
            verdict_testkit::workspace_root().join("crates/verdict-server/src/routes.rs"),
        )
        .unwrap()
        + &std::fs::read_to_string(
            verdict_testkit::workspace_root().join("crates/verdict-server/src/error.rs"),
        )
        .unwrap()
        + &std::fs::read_to_string(
            verdict_testkit::workspace_root().join("crates/verdict-server/src/body.rs"),
        )
        .unwrap();
    let used = regex_lite_codes(&source);
    for code in &used {
        assert!(codes.contains(&code.as_str()), "error code {code} is not in the OpenAPI Error schema");
    }
    assert!(used.len() >= 10, "{used:?}");

    // Attachments are content-addressed and per org.
    let (status, stored) = api
        .send(
            Method::POST,
            &format!("/api/v1/orgs/{ORG}/attachments"),
            Some(&token),
            Some(b"hello\n".to_vec()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(stored["sha256"], "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
    let response = reqwest::Client::new()
        .get(format!("{}/api/v1/orgs/{ORG}/attachments/5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03", env.url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.bytes().await.unwrap().as_ref(), b"hello\n");
    let other = create_token(&env.db, "other", "read");
    let (status, _) = api
        .get(
            "/api/v1/orgs/other/attachments/5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03",
            Some(&other),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// The string literals passed as error codes in the server's source: `"snake_case"` right after a
/// `StatusCode::…,` or in `unauthenticated(`.
fn regex_lite_codes(source: &str) -> Vec<String> {
    let pattern = regex::Regex::new(
        r#"(?:StatusCode::[A-Z_]+,\s*|unauthenticated\(\s*|rejection\.status\(\),\s*)"([a-z_]+)""#,
    )
    .unwrap();
    let mut codes: Vec<String> = pattern.captures_iter(source).map(|c| c[1].to_owned()).collect();
    codes.sort();
    codes.dedup();
    codes
}

#[test]
fn token_commands() {
    let env = Env::embedded();
    let output = env
        .verdict()
        .args([
            "--db",
            &env.db,
            "server",
            "token",
            "create",
            "--org",
            "acme",
            "--role",
            "write",
            "--description",
            "ci",
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    let token = stdout.trim_end();
    assert!(regex::Regex::new("^vdt_[0-9a-f]{12}_[0-9a-f]{64}$").unwrap().is_match(token), "{stdout:?}");
    assert_eq!(stdout.lines().count(), 1, "the token alone on stdout");
    let listed =
        env.verdict().args(["--db", &env.db, "server", "token", "list", "-o", "json"]).output().unwrap();
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!((listed[0]["org"].as_str(), listed[0]["role"].as_str()), (Some("acme"), Some("write")));
    assert!(!listed.to_string().contains(&token[17..]), "the secret is never shown again");
    env.verdict()
        .args(["--db", &env.db, "server", "token", "create", "--role", "owner"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("read, write, policy or admin"));
    env.verdict()
        .args(["--db", &env.db, "server", "token", "revoke", "nope"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no token has id"));
    env.verdict()
        .args(["--db", &env.db, "--org", "bad org", "server", "token", "create", "--role", "read"])
        .assert()
        .code(2);
    // A server that is not there is "unavailable" (exit 3), not a usage error.
    env.verdict()
        .env_remove("VERDICT_DB")
        .env("VERDICT_HOST", "http://127.0.0.1:9")
        .env("VERDICT_API_TOKEN", token)
        .args(["list", "flows"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("cannot reach http://127.0.0.1:9"));
    env.verdict()
        .env_remove("VERDICT_DB")
        .env("VERDICT_HOST", "127.0.0.1:9")
        .args(["list", "flows"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--host needs http:// or https://"));
}

#[test]
fn sigterm_stops_the_server_cleanly() {
    let env = Env::server_sqlite();
    let mut env = env;
    let server = env.server.as_mut().unwrap();
    assert_eq!(server.terminate(Duration::from_secs(20)), Some(0), "{}", server.log());
    assert!(server.log().contains("shutting down"), "{}", server.log());
}

#[test]
fn json_logs_are_one_object_per_line() {
    let mut env = Env::embedded();
    env.start_server(&["--log-format", "json"]);
    env.verdict().args(["create", "flow", "backend"]).assert().code(0);
    let server = env.server.as_mut().unwrap();
    server.terminate(Duration::from_secs(20));
    let log = server.log();
    let lines: Vec<Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?}: {e}")))
        .collect();
    assert!(
        lines.iter().any(|l| l["span"]["path"] == "/api/v1/orgs/acme/flows" && l["fields"]["status"] == 201),
        "{log}"
    );
}
