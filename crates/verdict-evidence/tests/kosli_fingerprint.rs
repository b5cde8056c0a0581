//! Every case of `../shared/oracles/kosli-fingerprint/expected.json` (Kosli's fingerprint goldens).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use serde_json::Value;
use verdict_evidence::{dir_fingerprint, file_fingerprint, read_ignore_file};

fn build_tree(dir: &Path, tree: &Value) {
    std::fs::create_dir_all(dir).unwrap();
    for (name, node) in tree.as_object().unwrap() {
        match node {
            Value::String(content) => std::fs::write(dir.join(name), content).unwrap(),
            other => build_tree(&dir.join(name), other),
        }
    }
}

/// Copies a CLI tree without following links. A checkout without symbolic-link support stores a link as a
/// plain file holding its target; the oracle documents its links (`point-to-*`), so those are turned back
/// into links.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    let mut entries: Vec<_> = std::fs::read_dir(from).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for entry in entries {
        let target = to.join(entry.file_name().unwrap());
        let metadata = std::fs::symlink_metadata(&entry).unwrap();
        let name = entry.file_name().unwrap().to_string_lossy().into_owned();
        if metadata.file_type().is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&entry).unwrap(), &target).unwrap();
        } else if metadata.is_dir() {
            copy_tree(&entry, &target);
        } else if name.starts_with("point-to-") {
            std::os::unix::fs::symlink(std::fs::read_to_string(&entry).unwrap().trim(), &target).unwrap();
        } else {
            std::fs::copy(&entry, &target).unwrap();
        }
    }
}

#[test]
fn every_golden_matches() {
    let root = verdict_testkit::oracles().join("kosli-fingerprint");
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("expected.json")).unwrap()).unwrap();
    let cases = expected["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 30);
    let scratch = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for (index, case) in cases.iter().enumerate() {
        let name = case["name"].as_str().unwrap();
        let relative = case["path"].as_str().unwrap();
        // Trees Kosli builds in code are rebuilt from `tree` (git cannot hold an empty directory); the
        // symbolic-link trees are copied link by link (see copy_tree); the rest are used where they are.
        let path: PathBuf = match case.get("tree") {
            Some(tree) if case["kind"] == "dir" => {
                let leaf = Path::new(relative).file_name().unwrap();
                let dir = scratch.path().join(index.to_string()).join(leaf);
                build_tree(&dir, tree);
                dir
            }
            _ if relative.is_empty() => PathBuf::new(),
            _ if relative.starts_with("folder-with-symlinks") => {
                let dir = scratch.path().join(index.to_string()).join(relative);
                copy_tree(&root.join(relative), &dir);
                dir
            }
            _ => root.join(relative),
        };
        let excludes: Vec<String> = serde_json::from_value(case["excludes"].clone()).unwrap();
        let result = match case["kind"].as_str().unwrap() {
            "file" => file_fingerprint(&path),
            _ => dir_fingerprint(&path, &excludes),
        };
        match (case["expect"].as_str().unwrap(), result) {
            ("ok", Ok(digest)) if digest == case["sha256"].as_str().unwrap() => {}
            ("error", Err(err)) => {
                if let Some(want) = case["error_contains"].as_str()
                    && !err.to_string().contains(want)
                {
                    failures.push(format!("{name}: error {err} does not contain {want:?}"));
                }
            }
            (want, got) => {
                failures.push(format!("{name}: expected {want} {:?}, got {got:?}", case.get("sha256")))
            }
        }
    }
    assert!(failures.is_empty(), "{} of 30 fail:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn ignore_file_parsing_matches_kosli() {
    let root = verdict_testkit::oracles().join("kosli-fingerprint");
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("expected.json")).unwrap()).unwrap();
    for case in expected["unit"]["ignore_file_parsing"]["cases"].as_array().unwrap() {
        let want: Vec<String> = serde_json::from_value(case["want"].clone()).unwrap();
        let got = case["content"].as_str().map(read_ignore_file).unwrap_or_default();
        assert_eq!(got, want, "{}", case["name"]);
    }
}
