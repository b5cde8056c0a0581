//! `tag environment` and `archive flow|environment` through the binary on every backend: tags change by
//! ledger entries; an archived flow or environment is hidden from lists, keeps its history readable, is
//! refused (exit 2, nothing recorded) as the target of new evidence, and is restored by recording it
//! again — with its tags.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use predicates::prelude::*;

#[macro_use]
mod common;

use common::{Env, json, ok};

fn refused(env: &Env, args: &[&str], message: &str) {
    let before = env.entries();
    env.verdict().args(args).assert().code(2).stderr(predicate::str::contains(message));
    assert_eq!(env.entries(), before, "{args:?} recorded something");
}

fn names(list: &serde_json::Value) -> Vec<String> {
    list.as_array().unwrap().iter().map(|item| item["name"].as_str().unwrap().to_owned()).collect()
}

fn archived_flows_take_no_new_evidence(env: &Env) {
    let fingerprint = "ab".repeat(32);
    ok(env, &["create", "flow", "legacy", "--tag", "team=payments"]);
    ok(env, &["create", "flow", "current"]);
    ok(env, &["begin", "trail", "t1", "--flow", "legacy"]);
    ok(
        env,
        &[
            "attest",
            "artifact",
            "--fingerprint",
            &fingerprint,
            "--name",
            "app",
            "--flow",
            "legacy",
            "--trail",
            "t1",
        ],
    );
    env.verdict()
        .args(["archive", "flow", "legacy"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("archived flow legacy"));
    env.verdict()
        .args(["archive", "flow", "legacy"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("already archived"));
    // Hidden from lists, shown with --archived.
    assert_eq!(names(&json(env, &["list", "flows"])), ["current"]);
    let all = json(env, &["list", "flows", "--archived"]);
    assert_eq!(names(&all), ["current", "legacy"]);
    assert_eq!(all[1]["archived"], true);
    env.verdict()
        .args(["list", "flows", "--archived"])
        .assert()
        .stdout(predicate::str::contains("legacy (archived)"));
    // Refused as a target of new evidence; what it holds stays readable.
    refused(env, &["begin", "trail", "t2", "--flow", "legacy"], "flow \"legacy\" is archived");
    refused(
        env,
        &["attest", "generic", "--name", "scan", "--flow", "legacy", "--trail", "t1"],
        "is archived",
    );
    refused(
        env,
        &[
            "attest",
            "artifact",
            "--fingerprint",
            &"cd".repeat(32),
            "--name",
            "app",
            "--flow",
            "legacy",
            "--trail",
            "t1",
        ],
        "is archived",
    );
    ok(env, &["get", "trail", "t1", "--flow", "legacy"]);
    env.verdict()
        .args(["get", "flow", "legacy"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("ARCHIVED"));
    assert_eq!(json(env, &["get", "artifact", &fingerprint])["reports"][0]["flow"], "legacy");
    // Recording it again restores it, tags kept.
    ok(env, &["create", "flow", "legacy"]);
    ok(env, &["begin", "trail", "t2", "--flow", "legacy"]);
    let flow = json(env, &["get", "flow", "legacy"]);
    assert_eq!(flow["tags"]["team"], "payments", "{flow}");
    assert!(flow.get("archived").is_none(), "{flow}");
    refused(env, &["archive", "flow", "nowhere"], "does not exist");
}

fn environments_take_tags_and_can_be_archived(env: &Env) {
    ok(env, &["create", "environment", "prod", "--type", "server"]);
    ok(env, &["create", "environment", "old", "--type", "server"]);
    ok(env, &["tag", "environment", "prod", "--set", "team=payments", "--set", "tier=1"]);
    ok(env, &["tag", "environment", "prod", "--unset", "tier"]);
    let prod = json(env, &["get", "environment", "prod"]);
    assert_eq!(prod["tags"], serde_json::json!({"team": "payments"}), "{prod}");
    env.verdict()
        .args(["tag", "environment", "prod", "--set", "team=payments"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("tags unchanged, nothing recorded"));
    refused(env, &["tag", "environment", "prod"], "nothing to change");
    refused(env, &["tag", "environment", "prod", "--set", "a=1", "--unset", "a"], "both set and unset");
    refused(env, &["tag", "environment", "missing", "--set", "a=1"], "does not exist");
    // Re-recording keeps the tags.
    ok(env, &["create", "environment", "prod", "--type", "server", "--description", "the real one"]);
    assert_eq!(json(env, &["get", "environment", "prod"])["tags"]["team"], "payments");

    let file = env.write("app", b"app");
    ok(env, &["snapshot", "server", "old", "--paths", file.to_str().unwrap()]);
    ok(env, &["archive", "environment", "old"]);
    assert_eq!(names(&json(env, &["list", "environments"])), ["prod"]);
    assert_eq!(names(&json(env, &["list", "environments", "--archived"])), ["old", "prod"]);
    refused(
        env,
        &["snapshot", "server", "old", "--paths", file.to_str().unwrap()],
        "environment \"old\" is archived",
    );
    refused(
        env,
        &["allow", "artifact", "--fingerprint", &"ab".repeat(32), "-e", "old", "--reason", "x"],
        "is archived",
    );
    // Its history stays readable.
    assert_eq!(json(env, &["get", "snapshot", "old"])["number"], 1);
    env.verdict()
        .args(["get", "environment", "old"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("ARCHIVED"));
    ok(env, &["create", "environment", "old", "--type", "server"]);
    ok(env, &["snapshot", "server", "old", "--paths", file.to_str().unwrap()]);
}

on_every_backend!(archived_flows_take_no_new_evidence, environments_take_tags_and_can_be_archived);
