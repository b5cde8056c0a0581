//! `snapshot docker` and `fingerprint -t docker` against a fake Docker Engine on a Unix socket, answering
//! with the Engine API's shapes (`GET /containers/json`, `GET /images/{name}/json`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Env;
use predicates::prelude::*;
use serde_json::{Value, json};
use verdict_testkit::json_api::FakeJsonApi;

fn hex(byte: &str) -> String {
    byte.repeat(32)
}

fn engine(dir: &std::path::Path) -> FakeJsonApi {
    let (web_id, tool_id, web_digest) = (hex("aa"), hex("bb"), hex("d1"));
    let container = |id: &str, name: &str, image: &str, image_id: &str, created: i64| {
        json!({"Id": id, "Names": [format!("/{name}")], "Image": image, "ImageID": format!("sha256:{image_id}"),
               "Command": "/app", "Created": created, "State": "running", "Status": "Up 2 hours", "Labels": {}})
    };
    let containers = json!([
        container("c1", "web-1", "ghcr.io/acme/web:1.2", &web_id, 1_764_000_000),
        container("c2", "web-2", "ghcr.io/acme/web:1.2", &web_id, 1_763_000_000),
        container("c3", "tool", "dev-tool:latest", &tool_id, 1_764_100_000),
    ]);
    let web = json!({"Id": format!("sha256:{web_id}"), "RepoTags": ["ghcr.io/acme/web:1.2"],
                     "RepoDigests": [format!("ghcr.io/acme/web@sha256:{web_digest}")], "Architecture": "amd64"});
    let tool = json!({"Id": format!("sha256:{tool_id}"), "RepoTags": ["dev-tool:latest"], "RepoDigests": []});
    FakeJsonApi::start_unix(
        &dir.join("docker.sock"),
        vec![
            ("/containers/json", containers.to_string()),
            (&format!("/images/sha256%3A{web_id}/json"), web.to_string()),
            (&format!("/images/sha256%3A{tool_id}/json"), tool.to_string()),
            ("/images/ghcr.io%2Facme%2Fweb%3A1.2/json", web.to_string()),
            ("/images/dev-tool%3Alatest/json", tool.to_string()),
        ],
    )
}

#[test]
fn docker_hosts_are_snapshotted_by_image_digest() {
    let env = Env::embedded();
    let fake = engine(env.dir.path());
    env.verdict().args(["create", "environment", "host", "--type", "docker"]).assert().code(0);
    let output = env
        .verdict()
        .args(["snapshot", "docker", "host", "--docker-host", fake.url(), "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let outcome: Value = serde_json::from_slice(&output.stdout).unwrap();
    let running: Vec<(String, String, u64)> = outcome["started"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap().to_owned(),
                a["fingerprint"].as_str().unwrap().to_owned(),
                a["instances"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        running,
        [("dev-tool:latest".to_owned(), hex("bb"), 1), ("ghcr.io/acme/web:1.2".to_owned(), hex("d1"), 2)],
        "two web containers are one artifact with 2 instances; the unpushed tool is known by its image ID"
    );
    // The earliest of the two web containers' creation times.
    let web =
        outcome["started"].as_array().unwrap().iter().find(|a| a["name"] == "ghcr.io/acme/web:1.2").unwrap();
    assert_eq!(web["started_at"], "2025-11-13T02:13:20Z");
}

#[test]
fn docker_images_are_fingerprinted_like_their_registry_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let fake = engine(dir.path());
    let verdict = || {
        let mut command = assert_cmd::Command::cargo_bin("verdict").unwrap();
        command.env("NO_COLOR", "1");
        command
    };
    verdict()
        .args(["fingerprint", "ghcr.io/acme/web:1.2", "-t", "docker", "--docker-host", fake.url()])
        .assert()
        .code(0)
        .stdout(format!("{}\n", hex("d1")));
    let json_output = verdict()
        .args([
            "fingerprint",
            "ghcr.io/acme/web:1.2",
            "-t",
            "docker",
            "--docker-host",
            fake.url(),
            "-o",
            "json",
        ])
        .output()
        .unwrap();
    let described: Value = serde_json::from_slice(&json_output.stdout).unwrap();
    assert_eq!(described["fingerprint"], hex("d1"));
    assert_eq!(described["artifact_type"], "docker");
    // Never pushed: the image ID, and a warning that says so.
    verdict()
        .args(["fingerprint", "dev-tool:latest", "-t", "docker", "--docker-host", fake.url()])
        .assert()
        .code(0)
        .stdout(format!("{}\n", hex("bb")))
        .stderr(predicate::str::contains("no repository digest"));
    verdict()
        .args(["fingerprint", "missing:1", "-t", "docker", "--docker-host", fake.url()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("has no image \"missing:1\""));
    // No engine there: unavailable (exit 3); a TCP engine: refused (exit 2).
    let nowhere = format!("unix://{}", dir.path().join("absent.sock").display());
    verdict().args(["fingerprint", "web", "-t", "docker", "--docker-host", &nowhere]).assert().code(3);
    verdict()
        .args(["fingerprint", "web", "-t", "docker", "--docker-host", "tcp://127.0.0.1:2375"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("only a Unix socket"));
}

#[test]
fn an_idle_docker_host_is_recorded_only_on_request() {
    let env = Env::embedded();
    let fake = FakeJsonApi::start_unix(
        &env.dir.path().join("idle.sock"),
        vec![("/containers/json", "[]".to_owned())],
    );
    env.verdict().args(["create", "environment", "host", "--type", "docker"]).assert().code(0);
    let before = env.entries();
    env.verdict()
        .args(["snapshot", "docker", "host", "--docker-host", fake.url()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--allow-empty"));
    assert_eq!(env.entries(), before);
    env.verdict()
        .args(["snapshot", "docker", "host", "--docker-host", fake.url(), "--allow-empty"])
        .assert()
        .code(0);
}
