//! What a file in a policy source is, from its name and first lines: each kind is validated by the
//! loader verdict uses for it everywhere else.

use serde::{Deserialize, Serialize};

/// The kinds of files a bundle carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileKind {
    /// An environment policy (`_schema: …/policy/environment/v1`).
    EnvironmentPolicy,
    /// A Rego module.
    Rego,
    /// A Rego test module (`*_test.rego`), run at build time.
    RegoTest,
    /// An image policy (`kind: ImagePolicy`).
    ImagePolicy,
    /// A webhook configuration (`kind: AdmissionConfig`).
    AdmissionConfig,
    /// Kyverno or CEL policies (ClusterPolicy, Policy, ValidatingPolicy, ValidatingAdmissionPolicy…).
    KyvernoPolicy,
    /// A `kyverno test` suite (`kyverno-test.yaml`), run at build time.
    KyvernoTest,
    /// Anything else the policies or tests read (resources, values, data, documentation).
    Data,
}

impl FileKind {
    /// Whether the kind is a policy verdict loads (and so validates at build time).
    pub fn is_policy(self) -> bool {
        !matches!(self, FileKind::Data | FileKind::RegoTest | FileKind::KyvernoTest)
    }
}

/// The kind of the file at `path` (inside its source) with content `text`.
pub fn classify(path: &str, text: &str) -> FileKind {
    let name = path.rsplit('/').next().unwrap_or(path);
    if name.ends_with("_test.rego") {
        return FileKind::RegoTest;
    }
    if name.ends_with(".rego") {
        return FileKind::Rego;
    }
    if !(name.ends_with(".yaml") || name.ends_with(".yml")) {
        return FileKind::Data;
    }
    let field = |key: &str| {
        text.lines().find_map(|line| {
            let value = line.strip_prefix(key)?.strip_prefix(':')?;
            Some(value.trim().trim_matches(|c| c == '"' || c == '\'').to_owned())
        })
    };
    if field("_schema").is_some_and(|schema| schema.contains("/policy/environment/")) {
        return FileKind::EnvironmentPolicy;
    }
    let api = field("apiVersion").unwrap_or_default();
    let kind = field("kind").unwrap_or_default();
    match (api.as_str(), kind.as_str()) {
        ("verdict.dev/v1", "ImagePolicy") => FileKind::ImagePolicy,
        ("verdict.dev/v1", "AdmissionConfig") => FileKind::AdmissionConfig,
        (api, "Test") if api.starts_with("cli.kyverno.io/") => FileKind::KyvernoTest,
        (api, _) if api.starts_with("cli.kyverno.io/") => FileKind::Data,
        (api, _) if api.starts_with("kyverno.io/") || api.starts_with("policies.kyverno.io/") => {
            FileKind::KyvernoPolicy
        }
        (api, "ValidatingAdmissionPolicy" | "ValidatingAdmissionPolicyBinding")
            if api.starts_with("admissionregistration.k8s.io/") =>
        {
            FileKind::KyvernoPolicy
        }
        _ => FileKind::Data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_known_by_name_and_header() {
        assert_eq!(
            classify("a/gate.yml", "_schema: https://kosli.com/schemas/policy/environment/v1\n"),
            FileKind::EnvironmentPolicy
        );
        assert_eq!(classify("trail.rego", "package policy"), FileKind::Rego);
        assert_eq!(classify("trail_test.rego", "package policy"), FileKind::RegoTest);
        assert_eq!(
            classify("img.yaml", "# c\napiVersion: verdict.dev/v1\nkind: ImagePolicy\n"),
            FileKind::ImagePolicy
        );
        assert_eq!(
            classify("adm.yaml", "apiVersion: verdict.dev/v1\nkind: AdmissionConfig\n"),
            FileKind::AdmissionConfig
        );
        assert_eq!(
            classify("p.yaml", "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\n"),
            FileKind::KyvernoPolicy
        );
        assert_eq!(
            classify("kyverno-test.yaml", "apiVersion: cli.kyverno.io/v1alpha1\nkind: Test\n"),
            FileKind::KyvernoTest
        );
        assert_eq!(
            classify("values.yaml", "apiVersion: cli.kyverno.io/v1alpha1\nkind: Values\n"),
            FileKind::Data
        );
        assert_eq!(
            classify(
                "vap.yaml",
                "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\n"
            ),
            FileKind::KyvernoPolicy
        );
        assert_eq!(classify("pod.yaml", "apiVersion: v1\nkind: Pod\n"), FileKind::Data);
        assert_eq!(classify("README.md", "# hi"), FileKind::Data);
    }
}
