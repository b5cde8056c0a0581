//! The first hour with verdict, through the binary: how it behaves in pipes, in help, and when a
//! newcomer's input is slightly off (issue 16's friction items).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};

use predicates::prelude::*;
use std::process::{Command, Stdio};

/// `verdict apply … -o json | head -1`: the reader goes away after one line while verdict still has
/// hundreds of kilobytes to write (far more than a pipe buffers); verdict ends quietly with exit 0.
#[test]
fn a_closed_stdout_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("policy.yaml"),
        verdict_testkit::DISALLOW_LATEST.replace("Enforce", "Audit"),
    )
    .unwrap();
    let pods: String = (0..3000)
        .map(|i| {
            format!(
                "apiVersion: v1\nkind: Pod\nmetadata: {{name: pod-{i}, namespace: shop}}\nspec:\n  containers: [{{name: c, image: \"nginx:latest\"}}]\n---\n"
            )
        })
        .collect();
    std::fs::write(dir.path().join("pods.yaml"), pods).unwrap();

    let mut child = Command::new(assert_cmd::cargo::cargo_bin("verdict"))
        .args(["apply", "policy.yaml", "--resource", "pods.yaml", "-o", "json"])
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    assert_eq!(first.trim(), "{");
    // The reader is dropped here: stdout is closed under verdict's feet.
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "stderr: {stderr}");
    assert!(!stderr.contains("Broken pipe"), "stderr: {stderr}");
    assert!(stderr.trim().is_empty(), "stderr: {stderr}");
}

fn verdict() -> assert_cmd::Command {
    let mut command = assert_cmd::Command::cargo_bin("verdict").unwrap();
    command
        .env("NO_COLOR", "1")
        .env_remove("VERDICT_DB")
        .env_remove("VERDICT_HOST")
        .env_remove("VERDICT_ORG");
    command
}

fn stdout_of(args: &[&str]) -> String {
    let output = verdict().args(args).output().unwrap();
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// A port on loopback that nothing listens on (bound, then released).
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn version_names_the_commit_and_the_build_date() {
    let version = stdout_of(&["--version"]);
    let pattern = regex::Regex::new(
        r"^verdict \d+\.\d+\.\d+ \(commit ([0-9a-f]{12}|unknown), built \d{4}-\d{2}-\d{2}\)\n$",
    )
    .unwrap();
    assert!(pattern.is_match(&version), "{version:?}");
    // Built from this checkout, the commit is known and is HEAD's (or an ancestor's, after a commit
    // made since the build: both are 12 hex digits, which the pattern already pins).
    assert!(!version.contains("unknown"), "{version:?}");
}

#[test]
fn help_keeps_global_options_apart_and_current() {
    let top = stdout_of(&["--help"]);
    // Summaries say what each family holds.
    assert!(
        top.contains(
            "create         Record a flow, an environment, an environment policy or a custom attestation type"
        ),
        "{top}"
    );
    assert!(top.contains("List flows, trails, artifacts, environments, policies or snapshots"), "{top}");
    assert!(top.contains("completions"), "{top}");
    // `bench` is for maintainers: hidden from the help, still there.
    assert!(!top.contains("bench"), "{top}");
    assert!(stdout_of(&["bench", "--help"]).contains("rego"));

    // A subcommand's own options come first; the ledger flags sit under their own heading.
    let list = stdout_of(&["list", "trails", "--help"]);
    let (own, global) = list.split_once("Global options:").expect("a Global options heading");
    assert!(own.contains("--flow"), "{list}");
    assert!(!own.contains("--db") && !own.contains("--api-token"), "{list}");
    assert!(global.contains("--db") && global.contains("--org") && global.contains("--host"), "{list}");

    // The server takes no client flags, so its help does not offer them.
    let server = stdout_of(&["server", "--help"]);
    for client_flag in ["--host", "--api-token", "--dry-run"] {
        assert!(!server.contains(client_flag), "{client_flag} in {server}");
    }
    assert!(server.contains("--db") && server.contains("--listen"), "{server}");
}

#[test]
fn a_ledger_from_the_environment_is_not_shown_as_a_required_flag() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.db");
    let output = verdict().env("VERDICT_DB", &db).args(["list", "trails"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("Usage: verdict list trails --flow <FLOW>\n"), "{stderr}");

    // The variables still work, and an empty one counts as unset.
    verdict()
        .env("VERDICT_DB", &db)
        .env("VERDICT_ORG", "acme")
        .args(["create", "flow", "shop"])
        .assert()
        .success();
    let flows = verdict()
        .env("VERDICT_DB", &db)
        .env("VERDICT_ORG", "acme")
        .args(["list", "flows", "-o", "json"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&flows.stdout).contains("\"shop\""));
    let other_org = verdict()
        .env("VERDICT_DB", &db)
        .env("VERDICT_ORG", "")
        .args(["list", "flows", "-o", "json"])
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&other_org.stdout).contains("\"shop\""),
        "the empty VERDICT_ORG is `default`"
    );
    // VERDICT_DRY_RUN=true records nothing; =false records.
    let before = std::fs::metadata(&db).unwrap().len();
    verdict()
        .env("VERDICT_DB", &db)
        .env("VERDICT_DRY_RUN", "true")
        .args(["create", "flow", "dry"])
        .assert()
        .success();
    verdict()
        .env("VERDICT_DB", &db)
        .env("VERDICT_DRY_RUN", "false")
        .args(["create", "flow", "wet"])
        .assert()
        .success();
    let names = verdict().env("VERDICT_DB", &db).args(["list", "flows", "-o", "json"]).output().unwrap();
    let names = String::from_utf8_lossy(&names.stdout).into_owned();
    assert!(!names.contains("\"dry\"") && names.contains("\"wet\""), "{names} (ledger was {before} bytes)");
}

#[test]
fn completions_cover_every_shell() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let script = stdout_of(&["completions", shell]);
        for word in ["attest", "snapshot", "admission", "flow"] {
            assert!(script.contains(word), "{shell} completions lack {word}");
        }
    }
    verdict().args(["completions", "tcsh"]).assert().code(2);
}

#[test]
fn errors_name_the_cause_underneath() {
    // A --host without a scheme says what to write.
    verdict().args(["--host", "127.0.0.1:8190", "list", "flows"]).assert().code(2).stderr(
        predicates::str::contains(
            "--host needs http:// or https:// (got \"127.0.0.1:8190\"; did you mean http://127.0.0.1:8190?)",
        ),
    );
    // A server that is not listening: the connection refusal, not only "error sending request".
    let port = closed_port();
    verdict()
        .args(["--host", &format!("http://127.0.0.1:{port}"), "list", "flows"])
        .assert()
        .code(3)
        .stderr(predicates::str::contains(format!("cannot reach http://127.0.0.1:{port}")))
        .stderr(predicates::str::contains("Connection refused"));
    // A PostgreSQL port that is closed: the refusal, not "pool timed out".
    let port = closed_port();
    verdict()
        .args(["--db", &format!("postgres://verdict@127.0.0.1:{port}/verdict"), "list", "flows"])
        .assert()
        .code(3)
        .stderr(predicates::str::contains("database unavailable: cannot connect"))
        .stderr(predicates::str::contains("Connection refused"))
        .stderr(predicates::str::contains("pool timed out").not());
}

/// A snapshot of many files prints a short summary line (the full list is in `-o json`), counts in the
/// right number, and `diff snapshots` shows a renamed file (same fingerprint) as renamed, not as one
/// removed and one added.
#[test]
fn snapshot_output_is_short_and_grammatical() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    for i in 1..=8 {
        std::fs::write(bin.join(format!("app{i}")), format!("app {i}")).unwrap();
    }
    let db = dir.path().join("ledger.db");
    let run = |args: &[&str]| {
        let output = verdict().current_dir(dir.path()).arg("--db").arg(&db).args(args).output().unwrap();
        assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    };
    run(&["create", "environment", "prod", "--type", "server"]);
    let first = run(&["snapshot", "server", "prod", "--paths", "bin/*"]);
    assert!(
        first.contains(
            "recorded snapshot prod#1: 8 running (started: bin/app1, bin/app2, bin/app3, bin/app4, bin/app5 and 3 more (-v or -o json lists all); stopped: none; 0 changes noted in the artifacts' trails)"
        ),
        "{first}"
    );
    assert!(first.contains("TRAILS") && !first.contains("CONTEXTS"), "{first}");
    let json: serde_json::Value =
        serde_json::from_str(&run(&["snapshot", "server", "prod", "--paths", "bin/*", "-o", "json"]))
            .unwrap();
    assert_eq!(json["changed"], false, "{json}");

    std::fs::rename(bin.join("app8"), bin.join("app8-renamed")).unwrap();
    std::fs::write(bin.join("app1"), "app 1, rebuilt").unwrap();
    run(&["snapshot", "server", "prod", "--paths", "bin/*"]);
    let diff = run(&["diff", "snapshots", "prod#1", "prod"]);
    assert!(diff.contains("~ bin/app8 → bin/app8-renamed a24eed2df39b (renamed; 1 instance)\n"), "{diff}");
    // A rebuilt file under the same name is another artifact: removed and added.
    assert!(diff.contains("+ bin/app1 ") && diff.contains("- bin/app1 "), "{diff}");
    assert!(diff.contains("(1 instance)") && !diff.contains("1 instances"), "{diff}");
    let diff: serde_json::Value =
        serde_json::from_str(&run(&["diff", "snapshots", "prod#1", "prod", "-o", "json"])).unwrap();
    assert_eq!(diff["renamed"][0][0]["name"], "bin/app8", "{diff}");
    assert_eq!(diff["renamed"][0][1]["name"], "bin/app8-renamed", "{diff}");
    assert_eq!(diff["added"].as_array().unwrap().len(), 1, "{diff}");
    assert_eq!(diff["removed"].as_array().unwrap().len(), 1, "{diff}");
}

/// `--quiet` leaves out success messages (not requested output); `-o json` on attest commands gives the
/// recorded entry; `-v` prints long lists whole; and a pipe never gets a progress bar.
#[test]
fn quiet_json_and_verbose_output() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.db");
    let run = |args: &[&str]| {
        let output = verdict().current_dir(dir.path()).arg("--db").arg(&db).args(args).output().unwrap();
        assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
        (String::from_utf8(output.stdout).unwrap(), String::from_utf8(output.stderr).unwrap())
    };
    run(&["create", "flow", "f"]);
    run(&["begin", "trail", "t", "--flow", "f"]);
    let fingerprint = "ab".repeat(32);
    let (artifact, _) = run(&[
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
        "-o",
        "json",
    ]);
    let artifact: serde_json::Value = serde_json::from_str(&artifact).unwrap();
    assert_eq!(
        (artifact["fingerprint"].as_str(), artifact["seq"].as_i64()),
        (Some(fingerprint.as_str()), Some(3))
    );
    let (generic, _) =
        run(&["attest", "generic", "--name", "scan", "--flow", "f", "--trail", "t", "-o", "json"]);
    let generic: serde_json::Value = serde_json::from_str(&generic).unwrap();
    assert_eq!((generic["type"].as_str(), generic["is_compliant"].as_bool()), (Some("generic"), Some(true)));
    assert!(generic["hash"].as_str().unwrap().len() == 64);

    let (quiet, quiet_err) =
        run(&["--quiet", "attest", "generic", "--name", "scan2", "--flow", "f", "--trail", "t"]);
    assert_eq!((quiet.as_str(), quiet_err.as_str()), ("", ""));
    let (listed, _) = run(&["-q", "list", "attestations", "--flow", "f", "--trail", "t", "-o", "json"]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&listed).unwrap().as_array().unwrap().len(),
        2,
        "requested output stays"
    );

    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    for i in 0..30 {
        std::fs::write(bin.join(format!("app{i:02}")), format!("app {i}")).unwrap();
    }
    run(&["create", "environment", "prod", "--type", "server"]);
    let (snapshot, snapshot_err) = run(&["-q", "snapshot", "server", "prod", "--paths", "bin/*"]);
    assert_eq!(snapshot, "");
    assert_eq!(snapshot_err, "", "no progress bar drawn into a pipe");
    std::fs::write(bin.join("app00"), "rebuilt").unwrap();
    std::fs::write(bin.join("app01"), "rebuilt").unwrap();
    for i in 2..30 {
        std::fs::remove_file(bin.join(format!("app{i:02}"))).unwrap();
    }
    for i in 30..40 {
        std::fs::write(bin.join(format!("app{i:02}")), format!("app {i}")).unwrap();
    }
    let (verbose, _) = run(&["-v", "snapshot", "server", "prod", "--paths", "bin/*"]);
    assert!(
        verbose.contains("bin/app39;") || verbose.contains("bin/app39,") || verbose.contains("bin/app39)"),
        "-v lists all: {verbose}"
    );
    assert!(!verbose.contains("more (-v"), "{verbose}");
}
