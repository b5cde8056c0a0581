//! Finding evidence by what a pipeline log or a running pod shows, through the binary on every backend:
//! `search` (fingerprint or commit prefix), fingerprint prefixes wherever a fingerprint is taken (unique
//! prefix resolved, ambiguous or unknown refused with exit 2 and the candidates), `get artifact` by
//! each of its expressions, `get attestation` and `list attestations`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use predicates::prelude::*;

#[macro_use]
mod common;

use common::{Env, json, ok};

/// Two fingerprints that share their first 14 hex digits, and a third.
fn fingerprints() -> (String, String, String) {
    let shared = "abcdef01234567";
    (format!("{shared}{}", "0".repeat(50)), format!("{shared}{}", "1".repeat(50)), "c3".repeat(32))
}

const TRAIL_COMMIT: &str = "1234abcd1234abcd1234abcd1234abcd1234abcd";
const BUILD_COMMIT: &str = "deadbeefdeadbeefdeadbeefdeadbeefdeadbeef";

fn record(env: &Env) {
    let (a, b, _) = fingerprints();
    ok(env, &["create", "flow", "backend"]);
    ok(env, &["begin", "trail", "t1", "--flow", "backend", "--commit", TRAIL_COMMIT]);
    ok(
        env,
        &[
            "attest",
            "artifact",
            "--fingerprint",
            &a,
            "--name",
            "app",
            "--flow",
            "backend",
            "--trail",
            "t1",
            "--commit",
            BUILD_COMMIT,
        ],
    );
    ok(env, &["begin", "trail", "t2", "--flow", "backend"]);
    ok(
        env,
        &["attest", "artifact", "--fingerprint", &b, "--name", "app", "--flow", "backend", "--trail", "t2"],
    );
}

/// `attest generic --name scan --flow backend --trail TRAIL --fingerprint FINGERPRINT EXTRA…`.
fn scan<'a>(trail: &'a str, fingerprint: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "attest",
        "generic",
        "--name",
        "scan",
        "--flow",
        "backend",
        "--trail",
        trail,
        "--fingerprint",
        fingerprint,
    ];
    args.extend_from_slice(extra);
    args
}

fn fail(env: &Env, args: &[&str]) -> String {
    let output = env.verdict().args(args).output().unwrap();
    assert_eq!(output.status.code(), Some(2), "{args:?}: {}", String::from_utf8_lossy(&output.stdout));
    String::from_utf8(output.stderr).unwrap()
}

fn fingerprint_prefixes_resolve_like_git(env: &Env) {
    record(env);
    let (a, b, c) = fingerprints();
    // A unique prefix (15 digits, one past the shared part) names a; the attestation is bound to it.
    ok(env, &scan("t1", &a[..15], &[]));
    let listed = json(env, &["list", "attestations", "--flow", "backend", "--trail", "t1"]);
    assert_eq!(listed[0]["fingerprint"], a.as_str(), "{listed}");
    // Shown 12-digit prefixes come back too; upper case is accepted.
    let upper = a[..15].to_ascii_uppercase();
    ok(env, &scan("t1", &upper, &[]));

    // Ambiguous: refused, naming both candidates and where each is from; nothing recorded.
    let before =
        json(env, &["list", "attestations", "--flow", "backend", "--trail", "t2"]).as_array().unwrap().len();
    let stderr = fail(env, &scan("t2", &a[..14], &[]));
    assert!(stderr.contains("is ambiguous") && stderr.contains(&a) && stderr.contains(&b), "{stderr}");
    assert!(stderr.contains("app in flow backend trail t1"), "{stderr}");
    let after =
        json(env, &["list", "attestations", "--flow", "backend", "--trail", "t2"]).as_array().unwrap().len();
    assert_eq!(before, after);
    // Unknown and too short: refused with what to give instead.
    let stderr = fail(env, &["assert", "artifact", "--fingerprint", &c[..12], "--environment", "nowhere"]);
    assert!(
        stderr.contains("no artifact in the ledger has a fingerprint starting with c3c3c3c3c3c3"),
        "{stderr}"
    );
    let stderr = fail(env, &["assert", "artifact", "--fingerprint", &a[..8], "--environment", "nowhere"]);
    assert!(stderr.contains("too short: give at least 12 hex digits"), "{stderr}");
    let stderr =
        fail(env, &["assert", "artifact", "--fingerprint", "not-hex-at-all", "--environment", "nowhere"]);
    assert!(stderr.contains("is not a fingerprint"), "{stderr}");

    // An artifact known only from a snapshot (third-party: never reported) resolves for `allow artifact`.
    let file = env.write("agent", b"vendor agent");
    let agent = {
        let output =
            env.verdict().args(["fingerprint", file.to_str().unwrap(), "-t", "file"]).output().unwrap();
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    };
    ok(env, &["create", "environment", "prod", "--type", "server"]);
    ok(env, &["snapshot", "server", "prod", "--paths", file.to_str().unwrap()]);
    ok(env, &["allow", "artifact", "--fingerprint", &agent[..12], "-e", "prod", "--reason", "vendor agent"]);
    let snapshot = json(env, &["get", "snapshot", "prod"]);
    assert_eq!(snapshot["evaluation"]["artifacts"][0]["allow_listed"], "vendor agent", "{snapshot}");
    // And `assert artifact` judges the full fingerprint the prefix names.
    let decision = json(env, &["assert", "artifact", "--fingerprint", &agent[..16], "-e", "prod"]);
    assert_eq!(decision["artifacts"][0]["fingerprint"], agent.as_str(), "{decision}");
}

fn search_finds_every_mention(env: &Env) {
    record(env);
    let (a, b, _) = fingerprints();
    let both = json(env, &["search", &a[..12]]);
    let found: Vec<&str> =
        both["artifacts"].as_array().unwrap().iter().map(|x| x["fingerprint"].as_str().unwrap()).collect();
    assert_eq!(found, [a.as_str(), b.as_str()], "{both}");
    // A trail's commit, and an artifact's build commit.
    let by_trail_commit = json(env, &["search", &TRAIL_COMMIT[..7]]);
    assert_eq!(by_trail_commit["trails"][0]["name"], "t1", "{by_trail_commit}");
    assert_eq!(by_trail_commit["artifacts"].as_array().unwrap().len(), 0, "{by_trail_commit}");
    let by_build_commit = json(env, &["search", BUILD_COMMIT]);
    assert_eq!(by_build_commit["artifacts"][0]["fingerprint"], a.as_str(), "{by_build_commit}");
    // Where it runs now.
    let file = env.write("app-binary", b"the app");
    let output = env.verdict().args(["fingerprint", file.to_str().unwrap(), "-t", "file"]).output().unwrap();
    let running = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    ok(env, &["create", "environment", "prod", "--type", "server"]);
    ok(env, &["snapshot", "server", "prod", "--paths", file.to_str().unwrap()]);
    let in_prod = json(env, &["search", &running[..10]]);
    assert_eq!(in_prod["environments"][0]["environment"], "prod", "{in_prod}");
    assert_eq!(in_prod["environments"][0]["snapshot"], 1, "{in_prod}");
    // The table names the flows, and each section.
    env.verdict()
        .args(["search", &a[..12]])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("is mentioned in 1 flow: backend"))
        .stdout(predicate::str::contains("t2"));
    // Nothing, or not hex: exit 2 saying so.
    assert!(fail(env, &["search", "0000ffff"]).contains("nothing in org"));
    assert!(fail(env, &["search", "xyz"]).contains("4 to 64 lower-case hex digits"));
}

fn get_artifact_by_each_expression(env: &Env) {
    record(env);
    let (a, b, _) = fingerprints();
    ok(env, &scan("t1", &a, &["--compliant=false"]));
    let by_prefix = json(env, &["get", "artifact", &a[..15]]);
    assert_eq!(by_prefix["fingerprint"], a.as_str());
    assert_eq!(by_prefix["reports"][0]["trail"], "t1");
    assert_eq!(by_prefix["reports"][0]["commit"], BUILD_COMMIT);
    assert_eq!(by_prefix["reports"][0]["attestations"]["scan"]["status"], "NON-COMPLIANT", "{by_prefix}");
    assert_eq!(json(env, &["get", "artifact", &format!("backend@{b}")])["fingerprint"], b.as_str());
    // FLOW@NAME: the artifact last reported under that name.
    assert_eq!(json(env, &["get", "artifact", "backend@app"])["fingerprint"], b.as_str());
    // FLOW:COMMIT: the trail's commit (or the artifact's own).
    assert_eq!(
        json(env, &["get", "artifact", &format!("backend:{}", &TRAIL_COMMIT[..8])])["fingerprint"],
        a.as_str()
    );
    assert_eq!(
        json(env, &["get", "artifact", &format!("backend:{}", &BUILD_COMMIT[..8])])["fingerprint"],
        a.as_str()
    );
    env.verdict()
        .args(["get", "artifact", &a])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("Reported in 1 trail:"))
        .stdout(predicate::str::contains("Running in no environment"));
    assert!(fail(env, &["get", "artifact", "backend@nothing"]).contains("no artifact named \"nothing\""));
    assert!(fail(env, &["get", "artifact", "nowhere@app"]).contains("no flow named \"nowhere\""));
    assert!(fail(env, &["get", "artifact", &format!("backend@{}", &a[..12])]).contains("several artifacts"));
    assert!(fail(env, &["get", "artifact", "not an expression!"]).contains("names no artifact"));
}

fn get_attestation_shows_the_version_that_counts(env: &Env) {
    record(env);
    let (a, _, _) = fingerprints();
    ok(env, &scan("t1", &a, &["--compliant=false"]));
    ok(
        env,
        &["attest", "generic", "--name", "scan", "--flow", "backend", "--trail", "t1", "--fingerprint", &a],
    );
    ok(env, &["attest", "generic", "--name", "review", "--flow", "backend", "--trail", "t1"]);
    let scan = json(env, &["get", "attestation", "scan", "--flow", "backend", "--trail", "t1"]);
    assert_eq!(
        (scan["is_compliant"].as_bool(), scan["superseded"].as_u64()),
        (Some(true), Some(1)),
        "{scan}"
    );
    assert_eq!(scan["fingerprint"], a.as_str());
    env.verdict()
        .args(["get", "attestation", "review", "--flow", "backend", "--trail", "t1"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("about         trail t1"))
        .stdout(predicate::str::contains("(0 superseded)"));
    let all = json(env, &["list", "attestations", "--flow", "backend", "--trail", "t1"]);
    assert_eq!(all.as_array().unwrap().len(), 3, "every version, in order");
    let about_a =
        json(env, &["list", "attestations", "--flow", "backend", "--trail", "t1", "--fingerprint", &a[..15]]);
    assert_eq!(about_a.as_array().unwrap().len(), 2);
    assert!(
        fail(env, &["get", "attestation", "missing", "--flow", "backend", "--trail", "t1"])
            .contains("has no attestation \"missing\"")
    );
    assert!(
        fail(env, &["list", "attestations", "--flow", "backend", "--trail", "nope"])
            .contains("does not exist")
    );
}

on_every_backend!(
    fingerprint_prefixes_resolve_like_git,
    search_finds_every_mention,
    get_artifact_by_each_expression,
    get_attestation_shows_the_version_that_counts
);
