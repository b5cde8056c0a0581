//! `verdict fingerprint` against Kosli's CLI goldens.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use assert_cmd::Command;
use predicates::prelude::*;

fn verdict() -> Command {
    let mut command = Command::cargo_bin("verdict").unwrap();
    command.current_dir(verdict_testkit::oracles().join("kosli-fingerprint")).env("NO_COLOR", "1");
    command
}

#[test]
fn prints_the_digest_alone() {
    verdict()
        .args(["fingerprint", "file1", "--artifact-type", "file"])
        .assert()
        .code(0)
        .stdout("7509e5bda0c762d2bac7f90d758b5b2263fa01ccbc542ab5e3df163be08e6ca9\n");
    verdict()
        .args(["fingerprint", "folder1", "-t", "dir"])
        .assert()
        .code(0)
        .stdout("c43808cb04c6e66c4c6fc1f972dd67c3b9b71c81e0a0c78730da3699922d17be\n");
    verdict()
        .args(["fingerprint", "folder1", "-t", "dir", "-x", "folder2"])
        .assert()
        .code(0)
        .stdout("773fd3300860454a2b065c5912c03008adb11e6a6dcf7c1c64c094ceab8f430a\n");
}

#[test]
fn bad_input_exits_2_with_kosli_messages() {
    for args in [
        ["fingerprint", "folder1", "-t", "dir", "-x", ""].as_slice(),
        &["fingerprint", "folder1", "-t", "dir", "-x", "folder2,,folder3"],
    ] {
        verdict()
            .args(args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("flag '--exclude' was given an empty value"));
    }
    verdict()
        .args(["fingerprint", "file1", "-t", "dir"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is not a directory"));
    verdict()
        .args(["fingerprint", "not-existing.txt", "-t", "file"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read not-existing.txt"));
    verdict()
        .args(["fingerprint", "file1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--artifact-type"));
    verdict().args(["fingerprint", "file1", "-t", "file", "-x", "a"]).assert().code(2);
}
