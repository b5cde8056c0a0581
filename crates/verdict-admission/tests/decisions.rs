//! The admission decision over real reviews, with a stand-in judge (the image policy against a registry
//! is tested in verdict-images and, end to end, through the webhook): every workload kind of the oracle's
//! verify-image-signatures fixtures admitted when signed and denied when not; the three modes; fail closed
//! on errors, malformed objects and an exhausted budget; exempt namespaces; UPDATE and DELETE.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use verdict_admission::{ImageJudge, Judgement, Mode, Settings, answer, decide, parse_review};

/// Admits images whose reference contains `:signed`; `down` images are a registry error; `slow` ones
/// take a second. Counts the images judged.
#[derive(Default)]
struct StandIn {
    judged: AtomicUsize,
}

impl ImageJudge for StandIn {
    async fn judge(&self, image: &str) -> Judgement {
        self.judged.fetch_add(1, Ordering::SeqCst);
        if image.contains("slow") {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        if image.contains("down") {
            return Judgement {
                allowed: false,
                digest: None,
                reasons: vec!["registry unavailable: connection refused".into()],
                notes: Vec::new(),
            };
        }
        if image.contains(":signed") {
            Judgement {
                allowed: true,
                digest: Some(format!("sha256:{}", "1".repeat(64))),
                reasons: Vec::new(),
                notes: Vec::new(),
            }
        } else {
            Judgement {
                allowed: false,
                digest: None,
                reasons: vec!["the image is not signed (no signature was found)".into()],
                notes: Vec::new(),
            }
        }
    }
}

fn oracle(file: &str) -> Vec<u8> {
    std::fs::read(verdict_testkit::oracles().join("admission/reviews/verify-image-signatures").join(file))
        .unwrap()
}

fn settings(mode: Mode) -> Settings {
    Settings { mode, ..Settings::default() }
}

#[tokio::test]
async fn every_workload_kind_signed_is_admitted_unsigned_is_denied() {
    for kind in [
        "pod",
        "deployment",
        "replicaset",
        "statefulset",
        "daemonset",
        "job",
        "cronjob",
        "replicationcontroller",
    ] {
        for (variant, admitted) in [("signed", true), ("unsigned", false)] {
            let request = parse_review(&oracle(&format!("{kind}_creation_{variant}.json"))).unwrap();
            let judge = StandIn::default();
            let decision = decide(&request, &judge, &settings(Mode::Enforce)).await;
            assert_eq!(
                (decision.passed, decision.admitted),
                (admitted, admitted),
                "{kind} {variant}: {decision:?}"
            );
            assert_eq!(judge.judged.load(Ordering::SeqCst), 1, "{kind} {variant}");
            let review = serde_json::to_value(answer(&request, &decision)).unwrap();
            assert_eq!(review["response"]["uid"], request.uid.as_str());
            assert_eq!(review["response"]["allowed"], admitted);
            if !admitted {
                let message = review["response"]["status"]["message"].as_str().unwrap();
                assert!(message.contains("test-verify-image-signatures:unsigned"), "{message}");
                assert!(message.contains(".image)"), "the path is named: {message}");
                assert!(message.contains("not signed"), "{message}");
            }
        }
    }
}

#[tokio::test]
async fn the_modes_run_the_same_evaluation_and_differ_in_the_answer() {
    let request = parse_review(&oracle("deployment_creation_unsigned.json")).unwrap();
    for (mode, admitted, warnings) in
        [(Mode::Enforce, false, 0), (Mode::Warn, true, 1), (Mode::Audit, true, 0)]
    {
        let decision = decide(&request, &StandIn::default(), &settings(mode)).await;
        assert!(!decision.passed, "{mode:?}: the evaluation fails in every mode");
        assert_eq!(decision.admitted, admitted, "{mode:?}");
        let review = serde_json::to_value(answer(&request, &decision)).unwrap();
        assert_eq!(review["response"]["allowed"], admitted, "{mode:?}");
        let found = review["response"]["warnings"].as_array().map_or(0, Vec::len);
        assert_eq!(found, warnings, "{mode:?}: {review}");
    }
}

/// A review of `kind` with these images in a pod spec, in `namespace`, with `operation`.
fn review(operation: &str, namespace: &str, images: &[&str], old_images: Option<&[&str]>) -> Vec<u8> {
    let pod = |images: &[&str]| {
        let containers: Vec<Value> = images
            .iter()
            .enumerate()
            .map(|(i, image)| json!({"name": format!("c{i}"), "image": image}))
            .collect();
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": namespace}, "spec": {"containers": containers}})
    };
    let object = if operation == "DELETE" { Value::Null } else { pod(images) };
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": "u", "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "resource": {"group": "", "version": "v1", "resource": "pods"}, "operation": operation,
        "namespace": namespace, "name": "p", "userInfo": {"username": "dev"},
        "object": object, "oldObject": old_images.map(pod)}})
    .to_string()
    .into_bytes()
}

#[tokio::test]
async fn errors_and_exhausted_budgets_fail_closed() {
    let down = parse_review(&review("CREATE", "shop", &["ghcr.io/acme/down:signed"], None)).unwrap();
    let decision = decide(&down, &StandIn::default(), &settings(Mode::Enforce)).await;
    assert!(!decision.admitted);
    assert!(decision.reasons[0].contains("registry unavailable"), "{:?}", decision.reasons);

    let slow = parse_review(&review(
        "CREATE",
        "shop",
        &["ghcr.io/acme/slow:signed", "ghcr.io/acme/app:signed"],
        None,
    ))
    .unwrap();
    let budget = Settings { budget: Duration::from_millis(100), ..settings(Mode::Enforce) };
    let started = std::time::Instant::now();
    let decision = decide(&slow, &StandIn::default(), &budget).await;
    assert!(started.elapsed() < Duration::from_millis(900), "answered within the budget");
    assert!(!decision.admitted);
    assert!(
        decision.reasons.iter().all(|r| r.contains("within the budget of 100ms")),
        "{:?}",
        decision.reasons
    );
    assert_eq!(decision.images.len(), 2);

    let mut broken: Value = serde_json::from_slice(&review("CREATE", "shop", &["x"], None)).unwrap();
    broken["request"]["object"]["spec"]["containers"][0] = json!({"name": "no-image"});
    let broken = parse_review(broken.to_string().as_bytes()).unwrap();
    let judge = StandIn::default();
    let decision = decide(&broken, &judge, &settings(Mode::Enforce)).await;
    assert!(!decision.admitted);
    assert!(decision.reasons[0].contains("object.spec.containers[0]"), "{:?}", decision.reasons);
    assert_eq!(judge.judged.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn exempt_namespaces_updates_and_deletes() {
    let judge = StandIn::default();
    let system =
        parse_review(&review("CREATE", "kube-system", &["registry.k8s.io/coredns:1"], None)).unwrap();
    let decision = decide(&system, &judge, &settings(Mode::Enforce)).await;
    assert!(decision.admitted && decision.images.is_empty());
    assert!(decision.reasons[0].contains("exempt"));
    assert_eq!(judge.judged.load(Ordering::SeqCst), 0);

    // UPDATE: the unchanged unsigned sidecar is not judged again; the new app image is.
    let update = parse_review(&review(
        "UPDATE",
        "shop",
        &["ghcr.io/acme/app:signed", "ghcr.io/acme/sidecar:1"],
        Some(&["ghcr.io/acme/app:old", "ghcr.io/acme/sidecar:1"]),
    ))
    .unwrap();
    let decision = decide(&update, &judge, &settings(Mode::Enforce)).await;
    assert!(decision.admitted, "{decision:?}");
    assert_eq!(
        decision.images.iter().map(|i| i.image.as_str()).collect::<Vec<_>>(),
        ["ghcr.io/acme/app:signed"]
    );
    let update = parse_review(&review(
        "UPDATE",
        "shop",
        &["ghcr.io/acme/app:unsigned"],
        Some(&["ghcr.io/acme/app:signed"]),
    ))
    .unwrap();
    assert!(!decide(&update, &judge, &settings(Mode::Enforce)).await.admitted);

    let delete = parse_review(&review("DELETE", "shop", &[], Some(&["ghcr.io/acme/app:unsigned"]))).unwrap();
    let before = judge.judged.load(Ordering::SeqCst);
    assert!(decide(&delete, &judge, &settings(Mode::Enforce)).await.admitted);
    assert_eq!(judge.judged.load(Ordering::SeqCst), before);
}

/// Fails nothing in the configured mode, and reports one failure of a policy with a mode of its own.
struct WithNote(Mode);

impl ImageJudge for WithNote {
    async fn judge(&self, _image: &str) -> Judgement {
        Judgement {
            allowed: true,
            digest: None,
            reasons: Vec::new(),
            notes: vec![(self.0, "rule \"team\": the image is not signed".into())],
        }
    }
}

/// A policy's own mode decides what its failure does, whatever the configured mode: enforce denies
/// even when the webhook audits, warn warns, audit only records.
#[tokio::test]
async fn a_policy_with_its_own_mode_acts_in_that_mode() {
    let request = parse_review(&oracle("deployment_creation_signed.json")).unwrap();
    let cases = [
        (Mode::Audit, Mode::Enforce, false, 0),
        (Mode::Enforce, Mode::Warn, true, 1),
        (Mode::Enforce, Mode::Audit, true, 0),
        (Mode::Warn, Mode::Audit, true, 0),
    ];
    for (configured, own, admitted, warnings) in cases {
        let decision = decide(&request, &WithNote(own), &settings(configured)).await;
        assert!(!decision.passed, "the evaluation failed");
        assert_eq!(decision.admitted, admitted, "configured {configured:?}, policy {own:?}");
        assert_eq!(decision.notes.len(), 1, "the failure is recorded in every mode");
        let review = serde_json::to_value(answer(&request, &decision)).unwrap();
        assert_eq!(review["response"]["allowed"], admitted);
        let found = review["response"]["warnings"].as_array().map_or(0, Vec::len);
        assert_eq!(found, warnings, "configured {configured:?}, policy {own:?}: {review}");
        if !admitted {
            assert!(review["response"]["status"]["message"].as_str().unwrap().contains("rule \"team\""));
        }
    }
}

/// Kyverno's own disallow-host-namespaces policy (from the oracle) at admission, on the oracle's real
/// reviews: an Enforce copy denies the Pod (rule `host-namespaces`) and the Deployment (the autogen
/// rule) in enforce mode and warns in warn mode; the Audit original admits and records; a clean Pod
/// passes.
#[tokio::test]
async fn manifest_policies_decide_with_the_kyverno_engine() {
    use verdict_admission::manifest::ManifestPolicies;
    let original = verdict_testkit::oracles().join(
        "kyverno-policies/pod-security/baseline/disallow-host-namespaces/disallow-host-namespaces.yaml",
    );
    let dir = tempfile::tempdir().unwrap();
    let enforced = dir.path().join("enforced.yaml");
    std::fs::write(
        &enforced,
        std::fs::read_to_string(&original)
            .unwrap()
            .replace("validationFailureAction: Audit", "validationFailureAction: Enforce"),
    )
    .unwrap();
    let manifest_settings = |mode: Mode, file: &std::path::Path| Settings {
        mode,
        judge_images: false,
        manifest: ManifestPolicies::load(&[file.to_path_buf()]).unwrap(),
        ..Settings::default()
    };
    let review =
        |path: &str| std::fs::read(verdict_testkit::oracles().join("admission/reviews").join(path)).unwrap();
    let judge = StandIn::default();
    for (file, rule) in [
        ("host-namespaces-psp-policy/pod_request.json", "host-namespaces"),
        ("host-namespaces-psp-policy/deployment_request.json", "autogen-host-namespaces"),
    ] {
        let request = parse_review(&review(file)).unwrap();
        let denied = decide(&request, &judge, &manifest_settings(Mode::Enforce, &enforced)).await;
        assert!(!denied.admitted, "{file}: {denied:#?}");
        let message = answer(&request, &denied).response.unwrap().result.message;
        assert!(message.contains(&format!("policy disallow-host-namespaces rule {rule}")), "{message}");
        assert!(message.contains("Sharing the host namespaces is disallowed"), "{message}");
        let warned = decide(&request, &judge, &manifest_settings(Mode::Warn, &enforced)).await;
        assert!(warned.admitted);
        let warnings = answer(&request, &warned).response.unwrap().warnings.unwrap_or_default();
        assert!(warnings.iter().any(|w| w.contains(rule)), "{warnings:?}");
        // The policy's own Audit action: admitted, the failure recorded as an audit note.
        let audited = decide(&request, &judge, &manifest_settings(Mode::Enforce, &original)).await;
        assert!(audited.admitted && !audited.passed, "{audited:#?}");
        assert!(audited.notes.iter().any(|(mode, note)| *mode == Mode::Audit && note.contains(rule)));
    }
    // Images are not judged when only manifest policies are configured.
    assert_eq!(judge.judged.load(Ordering::SeqCst), 0);
    let clean = parse_review(&review("pod-privileged-policy/no_privileged_containers.json")).unwrap();
    let passed = decide(&clean, &judge, &manifest_settings(Mode::Enforce, &enforced)).await;
    assert!(passed.admitted && passed.passed, "{passed:#?}");
    assert_eq!(passed.manifest.len(), 1);
    assert_eq!(passed.manifest[0].result, verdict_kyverno::Status::Pass);
    // A file that holds no Kyverno policy is refused at load.
    let image_policy = dir.path().join("image.yaml");
    std::fs::write(&image_policy, "apiVersion: verdict.dev/v1\nkind: ImagePolicy\nrules: []\n").unwrap();
    let refused = ManifestPolicies::load(&[image_policy]).unwrap_err().to_string();
    assert!(refused.contains("no Kyverno ClusterPolicy or Policy (found ImagePolicy)"), "{refused}");
}
