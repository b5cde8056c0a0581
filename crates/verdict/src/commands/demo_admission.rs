//! The admission part of `verdict demo`: the backend images of the demo's two trails in a registry on a
//! loopback port — 1.4.2 signed by the release key with a SLSA provenance attestation, 1.4.3 unsigned —
//! and the admission webhook over
//! HTTPS in enforce, warn and audit mode, each also checking the `production` environment's policies in
//! the demo's ledger and recording every decision there. Nothing leaves the machine: the signature is
//! key-based and, with no transparency log at hand, the demo's image policy waives the log for that one
//! key (`ignoreTlog: true`, the air-gapped set-up).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::anyhow;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use verdict_admission::ledger::{DecisionRecorder, EnvironmentJudge};
use verdict_admission::{
    AdmissionConfig, LedgerConfig, LiveEvaluator, Mode, PolicyFile, ReloadingCertificate, WebhookConfig,
    build_judge,
};

use super::admission::{decision_appender, environment_check, open_ledger};
use crate::error::CliError;

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const DSSE_LAYER: &str = "application/vnd.dsse.envelope.v1+json";
const IN_TOTO: &str = "application/vnd.in-toto+json";
/// The predicate type the demo's image policy requires.
const SLSA_PROVENANCE: &str = "https://slsa.dev/provenance/v1";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// An OCI image manifest over `config` and `layers`, with its blobs (the bundle signer's layout).
fn manifest(config: &[u8], layers: &[(&str, Vec<u8>, Value)]) -> (Vec<u8>, Vec<Vec<u8>>) {
    verdict_bundle::sign::image_manifest(config, layers)
}

/// The demo backend image of `version`: the same bytes on every run, so its digest — the artifact's
/// fingerprint in the demo's trails — is fixed.
pub(crate) fn backend_image(version: &str) -> (Vec<u8>, Vec<Vec<u8>>) {
    let config = json!({"architecture": "amd64", "os": "linux", "config": {"Labels": {"org.opencontainers.image.version": version}}});
    manifest(
        config.to_string().as_bytes(),
        &[("application/vnd.oci.image.layer.v1.tar", format!("backend {version}").into_bytes(), Value::Null)],
    )
}

/// The digest (`sha256:<hex>`) of the demo backend image of `version`.
pub(crate) fn backend_digest(version: &str) -> String {
    sha256(&backend_image(version).0)
}

/// What the demo registry holds: (repository, reference) → (media type, bytes), references being tags
/// and digests of manifests, and `blob:<digest>` for blobs.
type Contents = BTreeMap<(String, String), (&'static str, Vec<u8>)>;

fn put_manifest(
    contents: &mut Contents,
    repository: &str,
    tag: &str,
    (body, blobs): (Vec<u8>, Vec<Vec<u8>>),
) {
    for blob in blobs {
        contents.insert(
            (repository.to_owned(), format!("blob:{}", sha256(&blob))),
            ("application/octet-stream", blob),
        );
    }
    contents.insert((repository.to_owned(), sha256(&body)), (OCI_MANIFEST, body.clone()));
    contents.insert((repository.to_owned(), tag.to_owned()), (OCI_MANIFEST, body));
}

/// The release key of the demo's CI.
struct ReleaseKey {
    key: verdict_bundle::sign::SigningKey,
}

impl ReleaseKey {
    fn generate() -> Result<Self, CliError> {
        let key = verdict_bundle::sign::SigningKey::generate()
            .map_err(|_| CliError::unavailable(anyhow!("cannot generate the demo's signing key")))?;
        Ok(ReleaseKey { key })
    }

    fn public_pem(&self) -> Result<String, CliError> {
        self.key
            .public_pem()
            .map_err(|_| CliError::unavailable(anyhow!("cannot encode the demo's public key")))
    }

    /// cosign's legacy `.sig` manifest for `name@digest`: one simple-signing layer and its signature,
    /// never uploaded to a transparency log.
    fn sign(&self, name: &str, digest: &str) -> Result<(Vec<u8>, Vec<Vec<u8>>), CliError> {
        self.key
            .legacy_signature(name, digest)
            .map_err(|_| CliError::unavailable(anyhow!("cannot sign the demo image")))
    }

    /// The base64 ECDSA signature of `message`.
    fn signature(&self, message: &[u8]) -> Result<String, CliError> {
        self.key.signature(message).map_err(|_| CliError::unavailable(anyhow!("cannot sign the demo image")))
    }

    /// cosign's legacy `.att` manifest for `name@digest`: a DSSE envelope of an in-toto SLSA provenance
    /// statement built by the demo's CI, signed by this key, never logged.
    fn attest_provenance(&self, name: &str, digest: &str) -> Result<(Vec<u8>, Vec<Vec<u8>>), CliError> {
        let statement = json!({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": name, "digest": {"sha256": digest.trim_start_matches("sha256:")}}],
            "predicateType": SLSA_PROVENANCE,
            "predicate": {"buildDefinition": {"buildType": "https://actions.github.io/buildtypes/workflow/v1",
                                              "externalParameters": {"workflow": {"ref": "refs/heads/main"}}},
                          "runDetails": {"builder": {"id": "https://github.com/acme/backend/.github/workflows/release.yml"}}},
        })
        .to_string();
        let pae = format!("DSSEv1 {} {IN_TOTO} {} {statement}", IN_TOTO.len(), statement.len());
        let envelope = json!({
            "payloadType": IN_TOTO,
            "payload": B64.encode(statement.as_bytes()),
            "signatures": [{"keyid": "", "sig": self.signature(pae.as_bytes())?}],
        })
        .to_string()
        .into_bytes();
        Ok(manifest(b"{}", &[(DSSE_LAYER, envelope, json!({"predicateType": SLSA_PROVENANCE}))]))
    }
}

async fn registry_root() -> Response {
    Response::new(Body::from("{}"))
}

async fn registry_serve(State(contents): State<Arc<Contents>>, UrlPath(rest): UrlPath<String>) -> Response {
    let found = rest
        .rsplit_once("/manifests/")
        .map(|(repository, reference)| (repository, reference.to_owned()))
        .or_else(|| {
            rest.rsplit_once("/blobs/").map(|(repository, digest)| (repository, format!("blob:{digest}")))
        })
        .and_then(|(repository, reference)| contents.get(&(repository.to_owned(), reference)));
    let Some((media_type, body)) = found else {
        let mut response =
            Response::new(Body::from(r#"{"errors":[{"code":"NAME_UNKNOWN","message":"not found"}]}"#));
        *response.status_mut() = StatusCode::NOT_FOUND;
        return response;
    };
    let mut response = Response::new(Body::from(body.clone()));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, header::HeaderValue::from_static(media_type));
    if let Ok(digest) = header::HeaderValue::from_str(&sha256(body)) {
        headers.insert("docker-content-digest", digest);
    }
    response
}

/// Serves `contents` as a read-only registry on `listener` (plain HTTP: it is a loopback address).
fn start_registry(listener: tokio::net::TcpListener, contents: Contents) {
    let app = Router::new()
        .route("/v2/", axum::routing::get(registry_root))
        .route("/v2/{*rest}", axum::routing::get(registry_serve))
        .with_state(Arc::new(contents));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
}

/// A self-signed serving certificate for 127.0.0.1 in `dir`: (certificate path, key path, PEM).
fn serving_certificate(dir: &Path) -> Result<(std::path::PathBuf, std::path::PathBuf, String), CliError> {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .map_err(|err| CliError::unavailable(anyhow!("cannot make the demo's serving certificate: {err}")))?;
    let cert_pem = certified.cert.pem();
    let (cert, key) = (dir.join("webhook.crt"), dir.join("webhook.key"));
    std::fs::write(&cert, &cert_pem)
        .and_then(|()| std::fs::write(&key, certified.signing_key.serialize_pem()))
        .map_err(|err| CliError::unavailable(anyhow!("cannot write the demo's certificate: {err}")))?;
    Ok((cert, key, cert_pem))
}

/// A Deployment `name` in namespace `shop` running `image`, as the API server would send it.
fn deployment_review(uid: &str, name: &str, image: &str) -> Value {
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": uid, "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
        "resource": {"group": "apps", "version": "v1", "resource": "deployments"},
        "operation": "CREATE", "namespace": "shop", "name": name, "userInfo": {"username": "alice"},
        "object": {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "shop"},
                   "spec": {"template": {"spec": {"containers": [{"name": "backend", "image": image}]}}}}}})
}

/// What one posted review came back with.
pub(crate) struct Answer {
    /// The mode of the webhook that answered.
    pub mode: Mode,
    /// The image.
    pub image: String,
    /// Whether the API server would let the Deployment in.
    pub allowed: bool,
    /// The denial message, when denied.
    pub message: Option<String>,
    /// The warnings shown to `kubectl`, when admitted with warnings.
    pub warnings: Vec<String>,
}

/// What the admission part did.
pub(crate) struct AdmissionRun {
    /// Every answer, in the order posted.
    pub answers: Vec<Answer>,
    /// How many decisions were recorded in the ledger.
    pub recorded: u64,
}

/// Runs the admission part against the demo's ledger `db` (org `org`), whose `production` environment
/// already has the release gate attached.
pub(crate) async fn run(db: &str, org: &str) -> Result<AdmissionRun, CliError> {
    let dir = tempfile::tempdir()
        .map_err(|err| CliError::unavailable(anyhow!("cannot create a temporary directory: {err}")))?;
    let key = ReleaseKey::generate()?;
    let mut contents = Contents::new();
    for version in ["1.4.2", "1.4.3"] {
        put_manifest(&mut contents, "backend", version, backend_image(version));
    }
    // The signature names the image by the registry's address, known only once it listens: bind first.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|err| CliError::unavailable(anyhow!("cannot start the demo registry: {err}")))?;
    let host = listener.local_addr().map_err(|err| CliError::unavailable(anyhow!("{err}")))?;
    let signed = backend_digest("1.4.2");
    let signature = key.sign(&format!("{host}/backend"), &signed)?;
    let tag = signed.replace(':', "-");
    put_manifest(&mut contents, "backend", &format!("{tag}.sig"), signature);
    let provenance = key.attest_provenance(&format!("{host}/backend"), &signed)?;
    put_manifest(&mut contents, "backend", &format!("{tag}.att"), provenance);
    start_registry(listener, contents);

    let policy = dir.path().join("image-policy.yml");
    let pem = key.public_pem()?;
    let indented = pem.trim_end().lines().collect::<Vec<_>>().join("\n              ");
    std::fs::write(
        &policy,
        format!(
            "apiVersion: verdict.dev/v1\nkind: ImagePolicy\nrules:\n  - name: release-signed\n    images: [\"{host}/backend\"]\n    attestors:\n      entries:\n        - key:\n            ignoreTlog: true\n            publicKey: |\n              {indented}\n    attestations:\n      - name: provenance\n        predicateType: {SLSA_PROVENANCE}\n        policy: |\n          package policy\n          default allow := false\n          allow if input.predicate.buildDefinition.externalParameters.workflow.ref == \"refs/heads/main\"\n          violations contains \"not built from main\" if not allow\n"
        ),
    )
    .map_err(|err| CliError::unavailable(anyhow!("cannot write the demo's image policy: {err}")))?;
    let (cert, cert_key, cert_pem) = serving_certificate(dir.path())?;
    let client = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(cert_pem.as_bytes())
                .map_err(|err| CliError::unavailable(anyhow!("{err}")))?,
        )
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|err| CliError::unavailable(anyhow!("cannot build the HTTPS client: {err}")))?;
    let ledger_config = LedgerConfig {
        host: None,
        db: Some(db.to_owned()),
        api_token_file: None,
        org: org.to_owned(),
        environment: Some("production".to_owned()),
        record_decisions: true,
    };
    let ledger = open_ledger(&ledger_config).await?;
    let recorder = DecisionRecorder::start(decision_appender(Arc::clone(&ledger), org.to_owned()), 100, 5);

    let mut answers = Vec::new();
    let mut uid = 0;
    for mode in [Mode::Enforce, Mode::Warn, Mode::Audit] {
        let config = AdmissionConfig {
            policies: vec![PolicyFile { path: policy.clone(), mode: None }],
            mode,
            ..AdmissionConfig::default()
        };
        let (judge, settings) = build_judge(&config).map_err(CliError::invalid)?;
        let check = environment_check(Arc::clone(&ledger), org.to_owned(), "production".to_owned());
        let live = LiveEvaluator::new(EnvironmentJudge::new(judge, "production".to_owned(), check), settings);
        let tls = ReloadingCertificate::load(&cert, &cert_key).map_err(CliError::invalid)?;
        let webhook = WebhookConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls: Some(tls),
            max_body_bytes: 1 << 20,
            recorder: Some(recorder.clone()),
        };
        let (ready, address) = tokio::sync::oneshot::channel();
        tokio::spawn(verdict_admission::serve(webhook, live, move |address| {
            let _ = ready.send(address);
        }));
        let address =
            address.await.map_err(|_| CliError::unavailable(anyhow!("the demo webhook did not start")))?;
        for version in ["1.4.2", "1.4.3"] {
            uid += 1;
            let image = format!("{host}/backend:{version}");
            let review = deployment_review(&format!("demo-{uid}"), "backend", &image);
            let answer: Value = client
                .post(format!("https://{address}/validate"))
                .json(&review)
                .send()
                .await
                .and_then(reqwest::Response::error_for_status)
                .map_err(|err| CliError::unavailable(anyhow!("the demo webhook did not answer: {err}")))?
                .json()
                .await
                .map_err(|err| CliError::unavailable(anyhow!("the demo webhook's answer: {err}")))?;
            let response = &answer["response"];
            answers.push(Answer {
                mode,
                image,
                allowed: response["allowed"].as_bool().unwrap_or(false),
                message: response.pointer("/status/message").and_then(Value::as_str).map(str::to_owned),
                warnings: response["warnings"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect(),
            });
        }
    }
    // The recorder appends in the background; wait (boundedly) until it has.
    let posted = u64::try_from(answers.len()).unwrap_or(u64::MAX);
    let counters = recorder.counters();
    for _ in 0..100 {
        let done = counters.recorded.load(Ordering::Relaxed)
            + counters.failed.load(Ordering::Relaxed)
            + counters.dropped.load(Ordering::Relaxed);
        if done >= posted {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(AdmissionRun { answers, recorded: counters.recorded.load(Ordering::Relaxed) })
}
