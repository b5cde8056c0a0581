//! The webhook's configuration file (`kind: AdmissionConfig`): YAML, checked against its JSON Schema,
//! every problem reported with file, line and column (`verdict admission validate`), and the effective
//! configuration printable (`--print-config`). Paths are relative to the file. A key verdict does not
//! support is an error, never ignored.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use jsonschema::error::ValidationErrorKind;
use serde::Serialize;
use serde_json::Value;
use verdict_core::duration::parse_duration;
use verdict_policy::diagnostic::Diagnostic;
use verdict_policy::schema::{SchemaWording, diagnose};
use verdict_policy::yaml::{self, Node};

use crate::decision::{DEFAULT_EXEMPT_NAMESPACES, Mode};

/// The schema text (also served to editors from `docs/`).
pub const ADMISSION_CONFIG_V1_SCHEMA: &str = include_str!("../schemas/admission-config-v1.schema.json");

/// The cache of verification results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CacheConfig {
    /// How long an image that satisfied the policies is remembered.
    #[serde(with = "as_text")]
    pub positive_ttl: Duration,
    /// How long an image that failed is remembered (short: a fix should take effect soon).
    #[serde(with = "as_text")]
    pub negative_ttl: Duration,
    /// How many results are kept at most (0 turns the cache off).
    pub max_entries: usize,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            positive_ttl: Duration::from_secs(600),
            negative_ttl: Duration::from_secs(30),
            max_entries: 10_000,
        }
    }
}

/// Where the ledger is, what to check there and whether to record decisions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerConfig {
    /// A verdict server URL, or…
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// …a ledger database (SQLite path or postgres:// URL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub db: Option<String>,
    /// The file holding the server's API token (`None`: `$VERDICT_API_TOKEN`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_token_file: Option<PathBuf>,
    /// The organisation.
    pub org: String,
    /// The environment whose attached policies every image must also satisfy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Whether every decision is appended to the ledger.
    pub record_decisions: bool,
}

/// One image policy file, and the mode its failures take when the configuration gives one (else the
/// policy's own, else the configuration's `mode`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyFile {
    /// The file.
    pub path: PathBuf,
    /// Its mode, given here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
}

/// The effective configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionConfig {
    /// Image policy files.
    pub policies: Vec<PolicyFile>,
    /// Kyverno ClusterPolicy / Policy files evaluated on the request's object.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub manifest_policies: Vec<PathBuf>,
    /// Sigstore trusted root; `None`: the embedded production root.
    pub trusted_root: Option<PathBuf>,
    /// audit, warn or enforce.
    pub mode: Mode,
    /// Whether the file gave `mode` (else [`Mode::Enforce`], or the bundle's `admission` mode when the
    /// file came from a bundle).
    #[serde(skip)]
    pub mode_given: bool,
    /// The time within which every image must be judged.
    #[serde(with = "as_text")]
    pub budget: Duration,
    /// Namespaces admitted without evaluation.
    pub exempt_namespaces: Vec<String>,
    /// Docker's config.json with registry credentials.
    pub docker_config: Option<PathBuf>,
    /// Each registry request's time limit.
    #[serde(with = "as_text")]
    pub registry_timeout: Duration,
    /// The verification cache.
    pub cache: CacheConfig,
    /// The evidence ledger, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ledger: Option<LedgerConfig>,
    /// The cluster manifest policies read (namespace labels, `configMap`, `apiCall`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<crate::cluster::ClusterConfig>,
}

impl Default for AdmissionConfig {
    fn default() -> Self {
        AdmissionConfig {
            policies: Vec::new(),
            manifest_policies: Vec::new(),
            trusted_root: None,
            mode: Mode::Enforce,
            mode_given: false,
            budget: Duration::from_secs(8),
            exempt_namespaces: DEFAULT_EXEMPT_NAMESPACES.iter().map(|n| (*n).to_owned()).collect(),
            docker_config: None,
            registry_timeout: Duration::from_secs(5),
            cache: CacheConfig::default(),
            ledger: None,
            cluster: None,
        }
    }
}

mod as_text {
    use std::time::Duration;

    pub fn serialize<S: serde::Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        let millis = duration.as_millis();
        if millis.is_multiple_of(1000) {
            serializer.serialize_str(&format!("{}s", millis / 1000))
        } else {
            serializer.serialize_str(&format!("{millis}ms"))
        }
    }
}

fn mode_named(name: &str) -> Mode {
    match name {
        "audit" => Mode::Audit,
        "warn" => Mode::Warn,
        _ => Mode::Enforce,
    }
}

fn validator() -> Result<&'static jsonschema::Validator, String> {
    static VALIDATOR: OnceLock<Result<jsonschema::Validator, String>> = OnceLock::new();
    VALIDATOR
        .get_or_init(|| {
            let schema: Value =
                serde_json::from_str(ADMISSION_CONFIG_V1_SCHEMA).map_err(|e| e.to_string())?;
            jsonschema::draft202012::new(&schema).map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(Clone::clone)
}

fn allowed_keys(pointer: &str) -> &'static [&'static str] {
    match pointer {
        "" => &[
            "apiVersion",
            "kind",
            "policies",
            "manifestPolicies",
            "trustedRoot",
            "mode",
            "budget",
            "exemptNamespaces",
            "registry",
            "cache",
            "ledger",
            "cluster",
        ],
        "/registry" => &["dockerConfig", "requestTimeout"],
        "/cache" => &["positiveTtl", "negativeTtl", "maxEntries"],
        "/ledger" => &["host", "db", "apiTokenFile", "org", "environment", "recordDecisions"],
        "/cluster" => &["inCluster", "kubeconfig"],
        _ => &[],
    }
}

fn required_hint(property: &str) -> String {
    match property {
        "apiVersion" | "kind" => {
            "start the file with `apiVersion: verdict.dev/v1` and `kind: AdmissionConfig`".to_owned()
        }
        "policies" => "list the image policy files: `policies: [image-policy.yml]`".to_owned(),
        _ => format!("add `{property}`"),
    }
}

fn special(kind: &ValidationErrorKind, pointer: &str) -> Option<(String, String)> {
    match (kind, pointer) {
        (ValidationErrorKind::Constant { .. }, "/apiVersion") => Some((
            "apiVersion must be verdict.dev/v1".to_owned(),
            "write `apiVersion: verdict.dev/v1`".to_owned(),
        )),
        (ValidationErrorKind::Constant { .. }, "/kind") => {
            Some(("kind must be AdmissionConfig".to_owned(), "write `kind: AdmissionConfig`".to_owned()))
        }
        (ValidationErrorKind::Enum { .. }, "/mode") => Some((
            "mode must be audit, warn or enforce".to_owned(),
            "start with `mode: audit`, then warn, then enforce".to_owned(),
        )),
        _ => None,
    }
}

impl AdmissionConfig {
    /// Applies `mode` — the default of the policy bundle the configuration came from (its manifest's
    /// `admission` mode) — unless the configuration gave its own `mode`, which its author wrote next to
    /// the policies and so wins.
    pub fn with_default_mode(mut self, mode: Mode) -> Self {
        if !self.mode_given {
            self.mode = mode;
        }
        self
    }
}

/// Loads the configuration `source` read from `file`; relative paths are resolved against `file`'s
/// directory. Every problem is returned, each with its line and column.
pub fn load_admission_config(file: &Path, source: &str) -> Result<AdmissionConfig, Vec<Diagnostic>> {
    let name = file.display().to_string();
    let root = match yaml::parse(source) {
        Ok(Some(root)) => root,
        Ok(None) => {
            return Err(vec![
                Diagnostic::error(&name, 1, 1, "the configuration is empty")
                    .with_hint("start with `apiVersion: verdict.dev/v1` and `kind: AdmissionConfig`"),
            ]);
        }
        Err(err) => {
            return Err(vec![Diagnostic::error(
                &name,
                err.position.line,
                err.position.column,
                format!("invalid YAML: {}", err.message),
            )]);
        }
    };
    let document = root.to_json();
    let diagnostics = match validator() {
        Ok(validator) => diagnose(
            validator,
            &name,
            &root,
            &document,
            &SchemaWording { allowed_keys, required_hint, special },
        ),
        Err(err) => vec![Diagnostic::error(&name, 1, 1, format!("internal error: embedded schema: {err}"))],
    };
    if !diagnostics.is_empty() {
        return Err(diagnostics);
    }
    let base = file.parent().unwrap_or(Path::new("."));
    let mut builder = Builder { file: &name, root: &root, base, diagnostics: Vec::new() };
    let config = builder.config(&document);
    if builder.diagnostics.is_empty() { Ok(config) } else { Err(builder.diagnostics) }
}

struct Builder<'a> {
    file: &'a str,
    root: &'a Node,
    base: &'a Path,
    diagnostics: Vec<Diagnostic>,
}

impl Builder<'_> {
    fn error(&mut self, pointer: &str, message: String, hint: &str) {
        let node = self.root.pointer(pointer).unwrap_or(self.root);
        self.diagnostics
            .push(Diagnostic::error(self.file, node.start.line, node.start.column, message).with_hint(hint));
    }

    fn duration(&mut self, document: &Value, pointer: &str, default: Duration) -> Duration {
        let Some(text) = document.pointer(pointer).and_then(Value::as_str) else { return default };
        match parse_duration(text) {
            Ok(duration) => duration,
            Err(message) => {
                self.error(pointer, message, "write a duration such as 500ms, 8s or 10m");
                default
            }
        }
    }

    fn path(&mut self, document: &Value, pointer: &str) -> Option<PathBuf> {
        let text = document.pointer(pointer).and_then(Value::as_str)?;
        let path = self.base.join(text);
        if !path.is_file() {
            self.error(
                pointer,
                format!("{} does not exist or is not a file", path.display()),
                "paths are relative to the configuration file",
            );
        }
        Some(path)
    }

    fn config(&mut self, document: &Value) -> AdmissionConfig {
        let defaults = AdmissionConfig::default();
        let mut policies = Vec::new();
        for (index, entry) in document["policies"].as_array().into_iter().flatten().enumerate() {
            let (pointer, mode) = match entry {
                Value::Object(fields) => (
                    format!("/policies/{index}/path"),
                    fields.get("mode").and_then(Value::as_str).map(mode_named),
                ),
                _ => (format!("/policies/{index}"), None),
            };
            if let Some(path) = self.path(document, &pointer) {
                policies.push(PolicyFile { path, mode });
            }
        }
        let mode = document.get("mode").and_then(Value::as_str).map_or(Mode::Enforce, mode_named);
        let exempt_namespaces = match document.get("exemptNamespaces").and_then(Value::as_array) {
            Some(list) => list.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            None => defaults.exempt_namespaces.clone(),
        };
        let cache = CacheConfig {
            positive_ttl: self.duration(document, "/cache/positiveTtl", defaults.cache.positive_ttl),
            negative_ttl: self.duration(document, "/cache/negativeTtl", defaults.cache.negative_ttl),
            max_entries: document
                .pointer("/cache/maxEntries")
                .and_then(Value::as_u64)
                .and_then(|n| usize::try_from(n).ok())
                .unwrap_or(defaults.cache.max_entries),
        };
        let mut manifest_policies = Vec::new();
        for index in 0..document["manifestPolicies"].as_array().map_or(0, Vec::len) {
            if let Some(path) = self.path(document, &format!("/manifestPolicies/{index}")) {
                manifest_policies.push(path);
            }
        }
        if policies.is_empty() && manifest_policies.is_empty() && self.diagnostics.is_empty() {
            self.error(
                "",
                "the configuration names no policy".to_owned(),
                "list image policies in `policies` or Kyverno policies in `manifestPolicies`",
            );
        }
        AdmissionConfig {
            policies,
            manifest_policies,
            trusted_root: self.path(document, "/trustedRoot"),
            mode,
            mode_given: document.get("mode").is_some(),
            budget: self.duration(document, "/budget", defaults.budget),
            exempt_namespaces,
            docker_config: self.path(document, "/registry/dockerConfig"),
            registry_timeout: self.duration(document, "/registry/requestTimeout", defaults.registry_timeout),
            cache,
            ledger: document.get("ledger").map(|ledger| self.ledger(ledger)),
            cluster: document.get("cluster").and_then(|cluster| self.cluster(document, cluster)),
        }
    }

    fn cluster(&mut self, document: &Value, cluster: &Value) -> Option<crate::cluster::ClusterConfig> {
        let in_cluster = cluster.get("inCluster").and_then(Value::as_bool).unwrap_or(false);
        match (in_cluster, cluster.get("kubeconfig")) {
            (true, Some(_)) => {
                self.error(
                    "/cluster/kubeconfig",
                    "give `inCluster: true` or `kubeconfig`, not both".to_owned(),
                    "inside the cluster, use its service account",
                );
                None
            }
            (true, None) => Some(crate::cluster::ClusterConfig::InCluster),
            (false, Some(_)) => {
                self.path(document, "/cluster/kubeconfig").map(crate::cluster::ClusterConfig::Kubeconfig)
            }
            (false, None) => {
                self.error(
                    "/cluster",
                    "`cluster` needs `inCluster: true` or `kubeconfig`".to_owned(),
                    "write `cluster: {inCluster: true}` when the webhook runs in the cluster",
                );
                None
            }
        }
    }

    fn ledger(&mut self, ledger: &Value) -> LedgerConfig {
        let text = |key: &str| ledger.get(key).and_then(Value::as_str).map(str::to_owned);
        let (host, db) = (text("host"), text("db"));
        match (&host, &db) {
            (Some(_), Some(_)) => self.error(
                "/ledger/db",
                "give `host` or `db`, not both".to_owned(),
                "a server (host) or a database (db)",
            ),
            (None, None) => self.error(
                "/ledger",
                "`ledger` needs `host` (a verdict server) or `db` (a database)".to_owned(),
                "add `host: https://verdict.internal`",
            ),
            _ => {}
        }
        if let Some(host) = &host
            && !(host.starts_with("https://") || host.starts_with("http://"))
        {
            self.error(
                "/ledger/host",
                format!("{host:?} is not an http:// or https:// URL"),
                "write the server's URL",
            );
        }
        let org = text("org").unwrap_or_default();
        if let Err(message) = verdict_ledger::model::validate_name("org", &org) {
            self.error("/ledger/org", message, "write the org the webhook's token belongs to");
        }
        let environment = text("environment");
        if let Some(environment) = &environment
            && let Err(message) = verdict_ledger::model::validate_name("environment", environment)
        {
            self.error(
                "/ledger/environment",
                message,
                "write an environment created with `verdict create environment`",
            );
        }
        // A database path is relative to this file, like every other path; URLs are kept as they are.
        let db = db.map(|db| {
            if db.contains("://") || db.starts_with("sqlite:") {
                db
            } else {
                self.base.join(db).display().to_string()
            }
        });
        LedgerConfig {
            host,
            db,
            api_token_file: ledger.get("apiTokenFile").and_then(|_| {
                let document = serde_json::json!({"ledger": ledger});
                self.path(&document, "/ledger/apiTokenFile")
            }),
            org,
            environment,
            record_decisions: ledger.get("recordDecisions").and_then(Value::as_bool).unwrap_or(true),
        }
    }
}
