//! The AdmissionConfig file: the example in docs loads, defaults are the documented ones, and every
//! mistake is reported with file, line and column (and a hint), all at once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use verdict_admission::{Mode, load_admission_config};

fn dir_with(files: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for file in files {
        std::fs::write(dir.path().join(file), "x").unwrap();
    }
    dir
}

fn errors(dir: &tempfile::TempDir, source: &str) -> Vec<String> {
    let file = dir.path().join("admission.yaml");
    load_admission_config(&file, source).unwrap_err().iter().map(|d| d.short()).collect()
}

#[test]
fn a_full_configuration_loads_with_paths_relative_to_it() {
    let dir = dir_with(&["image-policy.yml", "team.yml", "root.json", "docker.json"]);
    let source = "apiVersion: verdict.dev/v1\nkind: AdmissionConfig\npolicies: [image-policy.yml, {path: team.yml, mode: audit}]\ntrustedRoot: root.json\nmode: warn\nbudget: 5s\nexemptNamespaces: [kube-system]\nregistry:\n  dockerConfig: docker.json\n  requestTimeout: 750ms\ncache:\n  positiveTtl: 5m\n  negativeTtl: 10s\n  maxEntries: 50\n";
    let config = load_admission_config(&dir.path().join("admission.yaml"), source).unwrap();
    let paths: Vec<_> = config.policies.iter().map(|p| (p.path.clone(), p.mode)).collect();
    assert_eq!(
        paths,
        [(dir.path().join("image-policy.yml"), None), (dir.path().join("team.yml"), Some(Mode::Audit))]
    );
    assert_eq!(config.trusted_root, Some(dir.path().join("root.json")));
    assert_eq!((config.mode, config.budget), (Mode::Warn, Duration::from_secs(5)));
    assert_eq!(config.exempt_namespaces, ["kube-system"]);
    assert_eq!(config.registry_timeout, Duration::from_millis(750));
    assert_eq!(
        (config.cache.positive_ttl, config.cache.negative_ttl, config.cache.max_entries),
        (Duration::from_secs(300), Duration::from_secs(10), 50)
    );
    let printed = serde_json::to_value(&config).unwrap();
    assert_eq!(
        (printed["budget"].as_str(), printed["registryTimeout"].as_str()),
        (Some("5s"), Some("750ms"))
    );
}

#[test]
fn the_minimal_configuration_gets_the_documented_defaults() {
    let dir = dir_with(&["p.yml"]);
    let config = load_admission_config(
        &dir.path().join("a.yaml"),
        "apiVersion: verdict.dev/v1\nkind: AdmissionConfig\npolicies: [p.yml]\n",
    )
    .unwrap();
    assert_eq!(
        (config.mode, config.budget, config.trusted_root.is_none()),
        (Mode::Enforce, Duration::from_secs(8), true)
    );
    assert_eq!(config.exempt_namespaces, ["kube-system", "kube-public", "kube-node-lease", "verdict-system"]);
    assert_eq!(
        (config.cache.positive_ttl, config.cache.negative_ttl),
        (Duration::from_secs(600), Duration::from_secs(30))
    );
}

#[test]
fn every_mistake_names_its_line_and_column() {
    let dir = dir_with(&["p.yml"]);
    let cases: Vec<(&str, &str)> = vec![
        ("", "admission.yaml:1:1: error: the configuration is empty"),
        ("apiVersion: verdict.dev/v1\nkind: AdmissionConfig\npolicies: [p.yml\n", "invalid YAML"),
        ("kind: AdmissionConfig\npolicies: [p.yml]\n", "missing required key `apiVersion`"),
        (
            "apiVersion: verdict.dev/v1\nkind: AdmissionConfig\n",
            "admission.yaml:1:1: error: the configuration names no policy (hint: list image policies in `policies` or Kyverno policies in `manifestPolicies`)",
        ),
        (
            "apiVersion: verdict.dev/v1\nkind: AdmissionConfig\nmanifestPolicies: [missing.yml]\n",
            "admission.yaml:3:20: error:",
        ),
        (
            "apiVersion: verdict.dev/v2\nkind: AdmissionConfig\npolicies: [p.yml]\n",
            "admission.yaml:1:13: error: apiVersion must be verdict.dev/v1",
        ),
        (
            "apiVersion: verdict.dev/v1\nkind: AdmissionConfig\npolicies: [p.yml]\nmode: block\n",
            "admission.yaml:4:7: error: mode must be audit, warn or enforce",
        ),
        (
            "apiVersion: verdict.dev/v1\nkind: AdmissionConfig\npolicies: [p.yml]\nexemptNamespace: [a]\n",
            "admission.yaml:4:1: error: unknown key `exemptNamespace` in the top level (hint: did you mean `exemptNamespaces`?)",
        ),
        (
            "apiVersion: verdict.dev/v1\nkind: AdmissionConfig\npolicies: [p.yml]\ncache:\n  ttl: 5m\n",
            "admission.yaml:5:3: error: unknown key `ttl` in `cache`",
        ),
        (
            "apiVersion: verdict.dev/v1\nkind: AdmissionConfig\npolicies: [missing.yml]\n",
            "admission.yaml:3:12: error:",
        ),
        (
            "apiVersion: verdict.dev/v1\nkind: AdmissionConfig\npolicies: [p.yml]\nbudget: soon\n",
            "admission.yaml:4:9: error: `soon` is not a duration",
        ),
        (
            "apiVersion: verdict.dev/v1\nkind: AdmissionConfig\npolicies: [p.yml]\nledger: {org: acme}\n",
            "admission.yaml:4:9: error: `ledger` needs `host` (a verdict server) or `db`",
        ),
        (
            "apiVersion: verdict.dev/v1\nkind: AdmissionConfig\npolicies: [p.yml]\nledger:\n  host: https://v\n  db: l.db\n  org: acme\n",
            "admission.yaml:6:7: error: give `host` or `db`, not both",
        ),
        (
            "apiVersion: verdict.dev/v1\nkind: AdmissionConfig\npolicies: [p.yml]\nledger:\n  host: verdict.internal\n  org: acme\n",
            "admission.yaml:5:9: error: \"verdict.internal\" is not an http:// or https:// URL",
        ),
        (
            "apiVersion: verdict.dev/v1\nkind: AdmissionConfig\npolicies: [p.yml]\nledger:\n  host: https://v\n  org: Acme Corp\n",
            "admission.yaml:6:8: error: invalid org name",
        ),
        (
            "apiVersion: verdict.dev/v1\nkind: AdmissionConfig\npolicies: [p.yml]\nledger:\n  host: https://v\n  org: acme\n  tenant: x\n",
            "admission.yaml:7:3: error: unknown key `tenant` in `ledger`",
        ),
    ];
    for (source, expected) in cases {
        let found = errors(&dir, source);
        assert!(found.iter().any(|e| e.contains(expected)), "expected {expected:?} in {found:#?}");
    }
    // All problems at once.
    let many = errors(
        &dir,
        "apiVersion: verdict.dev/v1\nkind: AdmissionConfig\npolicies: [p.yml]\nmode: block\nbudgett: 5s\n",
    );
    assert_eq!(many.len(), 2, "{many:#?}");
}

/// A bundle's default admission mode applies to a configuration without its own `mode`; a
/// configuration's own `mode` wins (its author wrote it next to the policies).
#[test]
fn a_bundles_default_mode_applies_only_where_the_configuration_gives_none() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("images.yml"), "").unwrap();
    let file = dir.path().join("admission.yaml");
    let load = |text: &str| load_admission_config(&file, text).unwrap_or_else(|d| panic!("{d:?}"));
    let without = load("apiVersion: verdict.dev/v1\nkind: AdmissionConfig\npolicies: [images.yml]\n");
    assert_eq!(without.mode, Mode::Enforce);
    assert_eq!(without.with_default_mode(Mode::Warn).mode, Mode::Warn);
    let own =
        load("apiVersion: verdict.dev/v1\nkind: AdmissionConfig\npolicies: [images.yml]\nmode: enforce\n");
    assert_eq!(own.with_default_mode(Mode::Audit).mode, Mode::Enforce);
}
