//! Flows, trails, artifacts and attestations through the Ledger trait on the embedded SQLite store:
//! corrections append, bad input and unknown references record nothing, organisations do not mix.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use serde_json::json;
use verdict_ledger::{Artifact, Attestation, Flow, Ledger, LedgerError, RecordKind, SqlLedger, Trail};

const FP: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn flow(name: &str, description: &str) -> Flow {
    Flow {
        name: name.into(),
        description: description.into(),
        tags: BTreeMap::from([("risk-level".into(), "high".into())]),
        template: None,
        archived: false,
    }
}

fn trail(flow: &str, name: &str) -> Trail {
    Trail {
        name: name.into(),
        flow: flow.into(),
        description: String::new(),
        commit: Some("abc123".into()),
        origin_url: None,
        user_data: None,
        template: None,
    }
}

fn attestation(name: &str, compliant: bool) -> Attestation {
    Attestation {
        name: name.into(),
        kind: "generic".into(),
        flow: "backend".into(),
        trail: "a1".into(),
        fingerprint: None,
        is_compliant: compliant,
        payload: None,
        user_data: Some(json!({"by": "ci"})),
        attachments: Vec::new(),
    }
}

async fn open() -> (tempfile::TempDir, SqlLedger) {
    let dir = tempfile::tempdir().unwrap();
    let ledger = SqlLedger::open(&dir.path().join("l.db").display().to_string()).await.unwrap();
    (dir, ledger)
}

#[tokio::test]
async fn records_and_reads_back_evidence() {
    let (_dir, ledger) = open().await;
    ledger.put_flow("acme", flow("backend", "first")).await.unwrap();
    ledger.put_flow("acme", flow("frontend", "")).await.unwrap();
    let corrected = ledger.put_flow("acme", flow("backend", "corrected")).await.unwrap();
    assert_eq!(corrected.seq, 3);
    assert_eq!(ledger.flow("acme", "backend").await.unwrap().unwrap().record.description, "corrected");
    let names: Vec<String> = ledger.flows("acme").await.unwrap().into_iter().map(|f| f.record.name).collect();
    assert_eq!(names, ["backend", "frontend"]);

    ledger.begin_trail("acme", trail("backend", "a1")).await.unwrap();
    ledger.begin_trail("acme", trail("backend", "b2")).await.unwrap();
    ledger.begin_trail("acme", trail("frontend", "a1")).await.unwrap();
    let trails: Vec<String> =
        ledger.trails("acme", "backend").await.unwrap().into_iter().map(|t| t.record.name).collect();
    assert_eq!(trails, ["a1", "b2"]);

    let artifact = Artifact {
        fingerprint: FP.into(),
        name: "backend".into(),
        filename: Some("app.tar".into()),
        flow: "backend".into(),
        trail: "a1".into(),
        commit: None,
        build_url: None,
        annotations: BTreeMap::new(),
    };
    ledger.report_artifact("acme", artifact.clone()).await.unwrap();
    assert_eq!(ledger.artifacts("acme", "backend", "a1").await.unwrap()[0].record, artifact);

    ledger.attest("acme", attestation("tests", false)).await.unwrap();
    ledger.attest("acme", attestation("tests", true)).await.unwrap();
    let attestations = ledger.attestations("acme", "backend", "a1").await.unwrap();
    assert_eq!(attestations.iter().map(|a| a.record.is_compliant).collect::<Vec<_>>(), [false, true]);
    assert!(ledger.attestations("acme", "backend", "b2").await.unwrap().is_empty());

    let report = Ledger::verify(&ledger).await.unwrap();
    assert_eq!((report.count, report.problem), (9, None));
}

#[tokio::test]
async fn bad_input_and_unknown_references_record_nothing() {
    let (_dir, ledger) = open().await;
    ledger.put_flow("acme", flow("backend", "")).await.unwrap();
    let cases: Vec<(LedgerError, &str)> = vec![
        (ledger.put_flow("acme", flow("bad name", "")).await.unwrap_err(), "invalid flow name"),
        (ledger.begin_trail("acme", trail("nope", "a1")).await.unwrap_err(), "flow \"nope\" does not exist"),
        (ledger.begin_trail("acme", trail("backend", "")).await.unwrap_err(), "invalid trail name"),
        (
            ledger.attest("acme", attestation("tests", true)).await.unwrap_err(),
            "trail \"a1\" does not exist in flow \"backend\"",
        ),
        // Another organisation cannot see acme's flow.
        (
            ledger.begin_trail("other", trail("backend", "a1")).await.unwrap_err(),
            "flow \"backend\" does not exist",
        ),
    ];
    for (error, message) in cases {
        assert!(error.to_string().contains(message), "{error}");
    }
    ledger.begin_trail("acme", trail("backend", "a1")).await.unwrap();
    let mut bad = attestation("tests", true);
    bad.fingerprint = Some("xyz".into());
    let error = ledger.attest("acme", bad).await.unwrap_err();
    assert!(
        matches!(error, LedgerError::Invalid(_))
            && error.to_string().contains("not a valid SHA256 fingerprint"),
        "{error}"
    );
    // Only the flow and the trail were recorded.
    assert_eq!(Ledger::verify(&ledger).await.unwrap().count, 2);
}

/// The bulk reads (one paged read of the whole org) give exactly what the per-trail reads give.
#[tokio::test]
async fn bulk_reads_match_per_item_reads() {
    let (_dir, ledger) = open().await;
    ledger.put_flow("acme", flow("backend", "")).await.unwrap();
    ledger.put_flow("other-org-flow", flow("backend", "")).await.unwrap();
    let mut trails = Vec::new();
    let mut fingerprints = Vec::new();
    for i in 0..80 {
        let name = format!("t{i}");
        ledger.begin_trail("acme", trail("backend", &name)).await.unwrap();
        let fingerprint = format!("{:064x}", i % 70);
        let artifact = Artifact {
            fingerprint: fingerprint.clone(),
            name: "app".into(),
            filename: None,
            flow: "backend".into(),
            trail: name.clone(),
            commit: None,
            build_url: None,
            annotations: BTreeMap::new(),
        };
        ledger.report_artifact("acme", artifact).await.unwrap();
        let mut attested = attestation("app.tests", i % 3 != 0);
        attested.trail = name.clone();
        ledger.attest("acme", attested).await.unwrap();
        trails.push(("backend".to_owned(), name));
        fingerprints.push(fingerprint);
    }
    fingerprints.push(format!("{:064x}", 999));
    // Enough trail events (one batch) that the bulk read spans several ranges of the chain.
    let events: Vec<(String, serde_json::Value)> = (0..12_000)
        .map(|i| {
            let (flow, trail) = &trails[i % trails.len()];
            let body = json!({"event": "artifact_started_running", "flow": flow, "trail": trail,
                "fingerprint": fingerprints[i % trails.len()], "environment": "prod", "snapshot": i + 1});
            (format!("{flow}/{trail}"), body)
        })
        .collect();
    let before = Ledger::verify(&ledger).await.unwrap().count;
    // One invalid item refuses the whole batch.
    let mut bad = events.clone();
    bad[7].1["fingerprint"] = json!("not-a-fingerprint");
    let refused = ledger.append_records("acme", RecordKind::TrailEvent, bad).await;
    assert!(matches!(refused, Err(LedgerError::Invalid(_))), "{refused:?}");
    assert_eq!(Ledger::verify(&ledger).await.unwrap().count, before);
    let appended = ledger.append_records("acme", RecordKind::TrailEvent, events).await.unwrap();
    assert_eq!(appended.len(), 12_000);
    assert!(appended.windows(2).all(|w| w[1].seq == w[0].seq + 1));
    let report = Ledger::verify(&ledger).await.unwrap();
    assert_eq!((report.count, report.problem), (before + 12_000, None));
    let bulk = ledger.trail_documents("acme", &trails).await.unwrap();
    assert_eq!(bulk.len(), 80);
    for ((flow, name), document) in trails.iter().zip(&bulk) {
        assert_eq!(&ledger.trail_document("acme", flow, name).await.unwrap(), document, "{name}");
        assert_eq!(document["events"].as_array().unwrap().len(), 150, "{name}");
    }
    let many = ledger.artifact_reports_many("acme", &fingerprints).await.unwrap();
    for (fingerprint, reports) in fingerprints.iter().zip(&many) {
        assert_eq!(&ledger.artifact_reports("acme", fingerprint).await.unwrap(), reports);
    }
    assert_eq!(many[0].len(), 2, "fingerprint 0 was reported in t0 and t70");
    assert!(many[80].is_empty());
    // An unknown trail is an error in bulk too.
    let mut missing = trails.clone();
    missing.push(("backend".into(), "nope".into()));
    assert!(matches!(ledger.trail_documents("acme", &missing).await, Err(LedgerError::NotFound(_))));
}

/// A snapshot evaluation record must name an evaluation document that was stored first.
#[tokio::test]
async fn a_snapshot_evaluation_needs_its_document() {
    let (_dir, ledger) = open().await;
    let document = br#"{"status":"COMPLIANT"}"#.to_vec();
    let missing = verdict_ledger::content_hash(b"never stored");
    let body = |sha256: &str| json!({"environment": "prod", "snapshot": 1, "status": "COMPLIANT", "evaluation_sha256": sha256});
    let refused =
        ledger.append_record("acme", RecordKind::SnapshotEvaluation, "prod#1", body(&missing)).await;
    assert!(
        matches!(&refused, Err(LedgerError::Invalid(m)) if m.contains("has not been uploaded")),
        "{refused:?}"
    );
    for bad in [
        body("ABC"),
        json!({"environment": "prod", "snapshot": 1, "status": "GREEN", "evaluation_sha256": missing}),
    ] {
        let refused = ledger.append_record("acme", RecordKind::SnapshotEvaluation, "prod#1", bad).await;
        assert!(matches!(refused, Err(LedgerError::Invalid(_))), "{refused:?}");
    }
    assert_eq!(Ledger::verify(&ledger).await.unwrap().count, 0);
    let stored = ledger.put_attachment("acme", document).await.unwrap();
    ledger.append_record("acme", RecordKind::SnapshotEvaluation, "prod#1", body(&stored)).await.unwrap();
    assert_eq!(Ledger::verify(&ledger).await.unwrap().count, 1);
}
