//! The trust fixes, through the binary on every backend: evidence stays bound to the fingerprint it
//! names (DESIGN.md rule 11), `assert artifact` and snapshots judge an artifact under the same name,
//! `--policy` takes stored policy names as Kosli does, re-running `create flow` keeps its tags, and
//! empty inputs are never a plain "compliant" (rule 13). Each refusal records nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use predicates::prelude::*;

#[macro_use]
mod common;

use common::{Env, json, ok};

fn fp(byte: u8) -> String {
    format!("{byte:02x}").repeat(32)
}

fn code(env: &Env, args: &[&str]) -> i32 {
    env.verdict().args(args).output().unwrap().status.code().unwrap()
}

const SCAN_POLICY: &str = "_schema: https://kosli.com/schemas/policy/environment/v1\nartifacts:\n  provenance:\n    required: true\n  attestations:\n    - name: security-scan\n      type: generic\n";

/// Reports `app` as X, scans X, rebuilds `app` as Y in the same trail: Y has no scan of its own.
fn a_rebuilt_artifact_starts_without_evidence(env: &Env) {
    let (x, y) = (fp(1), fp(2));
    ok(env, &["create", "flow", "backend"]);
    ok(env, &["begin", "trail", "t1", "--flow", "backend"]);
    let report = |fingerprint: &str| {
        ok(
            env,
            &[
                "attest",
                "artifact",
                "--fingerprint",
                fingerprint,
                "--name",
                "app",
                "--flow",
                "backend",
                "--trail",
                "t1",
            ],
        );
    };
    report(&x);
    ok(
        env,
        &[
            "attest",
            "generic",
            "--name",
            "security-scan",
            "--fingerprint",
            &x,
            "--flow",
            "backend",
            "--trail",
            "t1",
        ],
    );
    report(&y);
    let policy = env.write("scan.yml", SCAN_POLICY.as_bytes());
    ok(env, &["create", "environment", "prod", "--type", "server"]);
    ok(env, &["create", "policy", "needs-scan", policy.to_str().unwrap()]);
    ok(env, &["attach-policy", "needs-scan", "--environment", "prod"]);
    assert_eq!(code(env, &["assert", "artifact", "--fingerprint", &y, "--environment", "prod"]), 1);
    assert_eq!(code(env, &["assert", "artifact", "--fingerprint", &x, "--environment", "prod"]), 0);
    let denied = json(env, &["assert", "artifact", "--fingerprint", &y, "--environment", "prod"]);
    let reasons = denied["artifacts"][0]["reasons"].to_string();
    assert!(reasons.contains("security-scan"), "{denied}");
    // The trail document keeps X under `previous`, with its own scan; Y has none, nothing is trail-level.
    let document = json(env, &["get", "trail", "t1", "--flow", "backend"]);
    let app = &document["compliance_status"]["artifacts_statuses"]["app"];
    assert_eq!(app["fingerprint"], y.as_str());
    assert_eq!(app["attestations_statuses"], serde_json::json!({}));
    assert_eq!(app["previous"][0]["fingerprint"], x.as_str());
    assert_eq!(app["previous"][0]["attestations_statuses"]["security-scan"]["status"], "COMPLIANT");
    assert_eq!(document["compliance_status"]["attestations_statuses"], serde_json::json!({}));
    // The same through the Rego input.
    let rego = env.write(
        "p.rego",
        b"package policy\nimport rego.v1\ndefault allow := false\nallow if count(input.trail.compliance_status.attestations_statuses) == 0\n",
    );
    assert_eq!(
        code(env, &["evaluate", "trail", "t1", "--flow", "backend", "--policy", rego.to_str().unwrap()]),
        0
    );

    // A fingerprint the trail never reported: refused, naming what the trail has, nothing recorded.
    let before = env.entries();
    env.verdict()
        .args([
            "attest",
            "generic",
            "--name",
            "security-scan",
            "--fingerprint",
            &fp(3),
            "--flow",
            "backend",
            "--trail",
            "t1",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("was not reported in trail \"t1\""))
        .stderr(predicate::str::contains(format!("app ({y})")));
    assert_eq!(env.entries(), before);
    // ...and Y's own scan makes Y compliant.
    ok(
        env,
        &[
            "attest",
            "generic",
            "--name",
            "security-scan",
            "--fingerprint",
            &y,
            "--flow",
            "backend",
            "--trail",
            "t1",
        ],
    );
    assert_eq!(code(env, &["assert", "artifact", "--fingerprint", &y, "--environment", "prod"]), 0);
}

/// An artifact without provenance runs in prod as `sidecar`: the snapshot judges it under that name, and
/// so does `assert artifact --environment` (the policy's exception matches the name).
fn assert_and_snapshot_agree_on_the_name(env: &Env) {
    let policy = env.write(
        "p.yml",
        b"_schema: https://kosli.com/schemas/policy/environment/v1\nartifacts:\n  provenance:\n    required: true\n    exceptions:\n      - if: ${{ matches(artifact.name, \"sidecar\") }}\n",
    );
    ok(env, &["create", "environment", "prod", "--type", "server"]);
    ok(env, &["create", "policy", "gate", policy.to_str().unwrap()]);
    ok(env, &["attach-policy", "gate", "--environment", "prod"]);
    let binary = env.write("sidecar.bin", b"sidecar build 7");
    let paths = env.write(
        "paths.yml",
        format!("version: 1\nartifacts:\n  sidecar:\n    path: {}\n", binary.display()).as_bytes(),
    );
    let snapshot = json(env, &["snapshot", "paths", "prod", "--paths-file", paths.to_str().unwrap()]);
    assert_eq!(snapshot["evaluation"]["status"], "COMPLIANT", "{snapshot}");
    let fingerprint = snapshot["evaluation"]["artifacts"][0]["fingerprint"].as_str().unwrap().to_owned();
    let decision = json(env, &["assert", "artifact", "--fingerprint", &fingerprint, "--environment", "prod"]);
    assert_eq!(
        (decision["status"].as_str(), decision["artifacts"][0]["name"].as_str()),
        (Some("COMPLIANT"), Some("sidecar"))
    );
    // Not running there, the same fingerprint is named by its prefix and the exception does not apply.
    ok(env, &["create", "environment", "staging", "--type", "server"]);
    ok(env, &["attach-policy", "gate", "--environment", "staging"]);
    assert_eq!(
        code(env, &["assert", "artifact", "--fingerprint", &fingerprint, "--environment", "staging"]),
        1
    );
}

/// `assert artifact --policy` takes names of stored policies (comma-separated or repeated), files, or both.
fn assert_takes_stored_policy_names(env: &Env) {
    let x = fp(4);
    ok(env, &["create", "flow", "f"]);
    ok(env, &["begin", "trail", "t", "--flow", "f"]);
    ok(env, &["attest", "artifact", "--fingerprint", &x, "--name", "app", "--flow", "f", "--trail", "t"]);
    let provenance = env.write("provenance.yml", b"_schema: https://kosli.com/schemas/policy/environment/v1\nartifacts:\n  provenance:\n    required: true\n");
    let scan = env.write("scan.yml", SCAN_POLICY.as_bytes());
    ok(env, &["create", "policy", "has-provenance", provenance.to_str().unwrap()]);
    ok(env, &["create", "policy", "has-scan", scan.to_str().unwrap()]);
    let decision = json(env, &["assert", "artifact", "--fingerprint", &x, "--policy", "has-provenance"]);
    assert_eq!(
        (
            decision["status"].as_str(),
            decision["policies"][0]["name"].as_str(),
            decision["policies"][0]["version"].as_u64()
        ),
        (Some("COMPLIANT"), Some("has-provenance"), Some(1))
    );
    assert_eq!(
        code(env, &["assert", "artifact", "--fingerprint", &x, "--policy", "has-provenance,has-scan"]),
        1
    );
    assert_eq!(
        code(
            env,
            &[
                "assert",
                "artifact",
                "--fingerprint",
                &x,
                "--policy",
                "has-provenance",
                "--policy",
                "has-scan"
            ]
        ),
        1
    );
    // A file and a stored name together.
    assert_eq!(
        code(
            env,
            &[
                "assert",
                "artifact",
                "--fingerprint",
                &x,
                "--policy",
                provenance.to_str().unwrap(),
                "--policy",
                "has-provenance"
            ]
        ),
        0
    );
    env.verdict()
        .args(["assert", "artifact", "--fingerprint", &x, "--policy", "no-such-policy"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no-such-policy"));
    env.verdict()
        .args(["assert", "artifact", "--fingerprint", &x, "--policy", "missing/gate.yml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("neither an existing file nor a policy name"));
}

/// Re-running `create flow` without `--tag` keeps the tags (a `risk-level == "high"` rule keeps
/// applying); tags change only through `tag flow`, and every change is an entry `get flow` shows.
fn tags_change_only_when_asked(env: &Env) {
    let x = fp(5);
    ok(env, &["create", "flow", "backend", "--tag", "risk-level=high", "--description", "Backend CI"]);
    ok(env, &["begin", "trail", "t", "--flow", "backend"]);
    ok(
        env,
        &["attest", "artifact", "--fingerprint", &x, "--name", "app", "--flow", "backend", "--trail", "t"],
    );
    let policy = env.write(
        "pr.yml",
        b"_schema: https://kosli.com/schemas/policy/environment/v1\nartifacts:\n  provenance:\n    required: true\n  attestations:\n    - name: pull-request\n      type: pull_request\n      if: ${{ flow.tags.risk-level == \"high\" }}\n",
    );
    let assert_pr =
        || code(env, &["assert", "artifact", "--fingerprint", &x, "--policy", policy.to_str().unwrap()]);
    assert_eq!(assert_pr(), 1, "the high-risk flow needs a pull request");
    let before = env.entries();
    env.verdict()
        .args(["create", "flow", "backend"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("unchanged"));
    assert_eq!(env.entries(), before, "restating the same flow records nothing");
    assert_eq!(assert_pr(), 1, "re-running create flow must not erase risk-level");
    ok(env, &["create", "flow", "backend", "--tag", "team=payments"]);
    let flow = json(env, &["get", "flow", "backend"]);
    assert_eq!(flow["tags"], serde_json::json!({"risk-level": "high", "team": "payments"}));
    assert_eq!(flow["description"], "Backend CI");
    // An explicit change, recorded and shown.
    ok(env, &["tag", "flow", "backend", "--set", "risk-level=low", "--unset", "team"]);
    assert_eq!(assert_pr(), 0, "risk-level low: the rule no longer applies");
    let flow = json(env, &["get", "flow", "backend"]);
    assert_eq!(flow["tags"], serde_json::json!({"risk-level": "low"}));
    let history = flow["tag_history"].as_array().unwrap();
    assert_eq!(history.len(), 3, "{flow}");
    assert_eq!(history[2]["set"], serde_json::json!({"risk-level": "low"}));
    assert_eq!(history[2]["unset"], serde_json::json!(["team"]));
    let before = env.entries();
    for (args, message) in [
        (&["tag", "flow", "backend"][..], "nothing to change"),
        (&["tag", "flow", "backend", "--set", "a=1", "--unset", "a"], "both set and unset"),
        (&["tag", "flow", "nope", "--set", "a=1"], "does not exist"),
        (&["get", "flow", "nope"], "does not exist"),
    ] {
        env.verdict().args(args).assert().code(2).stderr(predicate::str::contains(message));
    }
    assert_eq!(env.entries(), before);
}

on_every_backend!(
    tags_change_only_when_asked,
    a_rebuilt_artifact_starts_without_evidence,
    assert_and_snapshot_agree_on_the_name,
    assert_takes_stored_policy_names
);

#[test]
fn empty_inputs_are_never_plainly_compliant() {
    let env = Env::embedded();
    ok(&env, &["create", "environment", "web", "--type", "server"]);
    let before = env.entries();
    let glob = env.dir.path().join("nothing-*").display().to_string();
    env.verdict()
        .args(["snapshot", "server", "web", "--paths", &glob])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("matches nothing"))
        .stderr(predicate::str::contains("--allow-empty"));
    assert_eq!(env.entries(), before, "nothing recorded");
    // One glob that matches and one that does not: still refused (a typo hides what runs).
    let real = env.write("app.bin", b"app");
    env.verdict()
        .args(["snapshot", "server", "web", "--paths", &format!("{},{glob}", real.display())])
        .assert()
        .code(2);
    assert_eq!(env.entries(), before);
    let empty = json(&env, &["snapshot", "server", "web", "--paths", &glob, "--allow-empty"]);
    assert_eq!(empty["number"], 1);

    // policy eval on a document with no artifacts: says so and exits 1 unless --allow-empty.
    let policy = env.write("p.yml", SCAN_POLICY.as_bytes());
    let evidence = env.write("e.json", b"{\"artifacts\": []}");
    let args =
        ["policy", "eval", "--policy", policy.to_str().unwrap(), "--evidence", evidence.to_str().unwrap()];
    env.verdict().args(args).assert().code(1).stderr(predicate::str::contains("0 artifacts were judged"));
    env.verdict().args(args).arg("--allow-empty").assert().code(0);

    // A logical environment whose member has no snapshot cannot be judged.
    ok(&env, &["create", "environment", "api", "--type", "server"]);
    ok(&env, &["create", "environment", "all", "--type", "logical", "--included-environments", "web,api"]);
    env.verdict()
        .args(["assert", "snapshot", "all"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("api has no snapshot yet"));
}

#[test]
fn sarif_scans_that_did_not_run_are_non_compliant() {
    let env = Env::embedded();
    ok(&env, &["create", "flow", "f"]);
    ok(&env, &["begin", "trail", "t", "--flow", "f"]);
    let cases = [
        ("no-runs.sarif", r#"{"version": "2.1.0", "runs": []}"#, "no runs"),
        (
            "no-results.sarif",
            r#"{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "Snyk"}}}]}"#,
            "no results list",
        ),
        (
            "failed.sarif",
            r#"{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "Snyk"}}, "results": [], "invocations": [{"executionSuccessful": false}]}]}"#,
            "did not complete",
        ),
    ];
    for (file, content, reason) in cases {
        let path = env.write(file, content.as_bytes());
        for kind in ["snyk", "sarif"] {
            let name = format!("{kind}-{file}");
            env.verdict()
                .args([
                    "attest",
                    kind,
                    "--name",
                    &name,
                    "--flow",
                    "f",
                    "--trail",
                    "t",
                    "--scan-results",
                    path.to_str().unwrap(),
                ])
                .assert()
                .code(0)
                .stdout(predicate::str::contains("NON-COMPLIANT"));
            let document = json(&env, &["get", "trail", "t", "--flow", "f"]);
            let entry = &document["compliance_status"]["attestations_statuses"][&name];
            assert_eq!(entry["status"], "NON-COMPLIANT", "{kind} {file}");
            assert!(entry.to_string().contains(reason), "{kind} {file}: {entry}");
        }
    }
}
