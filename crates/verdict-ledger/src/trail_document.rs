//! The enriched trail document (Kosli's shape): what `get trail -o json` prints and what `evaluate trail`
//! gives a Rego policy as `input.trail`. Compliance follows DESIGN.md rule 6: a trail (or an artifact
//! within it) is NON-COMPLIANT when any current attestation is non-compliant, else INCOMPLETE when an
//! attestation or artifact its template requires is missing, else COMPLIANT.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::model::{Artifact, Attestation, Flow, Recorded, Trail};

/// A template slot: an attestation the template expects.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Slot {
    name: String,
    kind: String,
}

/// What a trail template (Kosli's `version: 1` format) requires.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Template {
    trail: Vec<Slot>,
    artifacts: Vec<(String, Vec<Slot>)>,
}

fn slots(list: Option<&Value>) -> Vec<Slot> {
    list.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|item| {
            let name = item.get("name")?.as_str()?.to_owned();
            let kind = item.get("type").and_then(Value::as_str).unwrap_or("generic").to_owned();
            Some(Slot { name, kind })
        })
        .collect()
}

fn template(value: Option<&Value>) -> Template {
    let Some(trail) = value.and_then(|v| v.get("trail")) else { return Template::default() };
    let artifacts = trail
        .get("artifacts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|artifact| {
            Some((artifact.get("name")?.as_str()?.to_owned(), slots(artifact.get("attestations"))))
        })
        .collect();
    Template { trail: slots(trail.get("attestations")), artifacts }
}

fn status(any_non_compliant: bool, any_missing: bool) -> &'static str {
    if any_non_compliant {
        "NON-COMPLIANT"
    } else if any_missing {
        "INCOMPLETE"
    } else {
        "COMPLIANT"
    }
}

/// The attestation statuses of one target: the latest attestation per name (later reports win), merged
/// with its details, plus a MISSING entry for every expected slot without one.
fn attestation_statuses(
    current: &BTreeMap<String, &Recorded<Attestation>>,
    expected: &[Slot],
) -> (Map<String, Value>, bool, bool) {
    let mut statuses = Map::new();
    let mut non_compliant = false;
    for (name, recorded) in current {
        let attestation = &recorded.record;
        non_compliant |= !attestation.is_compliant;
        let mut entry = Map::new();
        if let Some(Value::Object(payload)) = &attestation.payload {
            entry.extend(payload.clone());
        }
        entry.insert("name".into(), json!(name));
        entry.insert("type".into(), json!(attestation.kind));
        entry.insert("is_compliant".into(), json!(attestation.is_compliant));
        entry.insert(
            "status".into(),
            json!(if attestation.is_compliant { "COMPLIANT" } else { "NON-COMPLIANT" }),
        );
        entry.insert("recorded_at".into(), json!(recorded.recorded_at));
        entry.insert("ledger_entry".into(), json!(recorded.seq));
        if let Some(user_data) = &attestation.user_data {
            entry.insert("user_data".into(), user_data.clone());
        }
        if !attestation.attachments.is_empty() {
            entry.insert("attachments".into(), json!(attestation.attachments));
        }
        statuses.insert(name.clone(), Value::Object(entry));
    }
    let mut missing = false;
    for slot in expected {
        if !current.contains_key(&slot.name) {
            missing = true;
            statuses.insert(
                slot.name.clone(),
                json!({"name": slot.name, "type": slot.kind, "is_compliant": false, "status": "MISSING"}),
            );
        }
    }
    (statuses, non_compliant, missing)
}

/// Builds the trail document from the trail's records (artifacts and attestations in ledger order).
///
/// Evidence binding (DESIGN.md rule 11): an attestation that carries a fingerprint is evidence for that
/// fingerprint only. An `ARTIFACT.ATTESTATION` name binds to the artifact of that name that was current
/// when it was reported (or, reported before any, to the first one reported after it). Only attestations
/// bound to no artifact are trail-level, and those count for every artifact of the trail. Each name's
/// earlier fingerprints stay in the document under `previous`, with their own attestations and status.
pub fn trail_document(
    trail: &Recorded<Trail>,
    flow: &Flow,
    artifacts: &[Recorded<Artifact>],
    attestations: &[Recorded<Attestation>],
) -> Value {
    let template = template(trail.record.template.as_ref().or(flow.template.as_ref()));
    // Every report per template name, oldest first; the last one is the current artifact of that name.
    let mut reports: BTreeMap<&str, Vec<&Recorded<Artifact>>> = BTreeMap::new();
    for artifact in artifacts {
        reports.entry(artifact.record.name.as_str()).or_default().push(artifact);
    }
    let names_of = |fingerprint: &str| -> Vec<&str> {
        reports
            .iter()
            .filter(|(_, list)| list.iter().any(|a| a.record.fingerprint == fingerprint))
            .map(|(name, _)| *name)
            .collect()
    };
    let known_name =
        |name: &str| reports.contains_key(name) || template.artifacts.iter().any(|(n, _)| n == name);
    let mut trail_level: BTreeMap<String, &Recorded<Attestation>> = BTreeMap::new();
    // Artifact attestations by fingerprint, or by template name while no artifact of that name exists.
    let mut by_fingerprint: BTreeMap<String, BTreeMap<String, &Recorded<Attestation>>> = BTreeMap::new();
    let mut waiting: BTreeMap<String, BTreeMap<String, &Recorded<Attestation>>> = BTreeMap::new();
    for recorded in attestations {
        let attestation = &recorded.record;
        let dotted = attestation.name.split_once('.').filter(|(artifact, _)| known_name(artifact));
        if let Some(fingerprint) = &attestation.fingerprint {
            // `backend.tests` with backend's fingerprint is the `tests` slot of backend.
            let name = match dotted {
                Some((artifact, slot)) if names_of(fingerprint).contains(&artifact) => slot.to_owned(),
                _ => attestation.name.clone(),
            };
            by_fingerprint.entry(fingerprint.clone()).or_default().insert(name, recorded);
            continue;
        }
        let Some((artifact, slot)) = dotted else {
            trail_level.insert(attestation.name.clone(), recorded);
            continue;
        };
        let list = reports.get(artifact).map(Vec::as_slice).unwrap_or_default();
        let current = list.iter().rev().find(|a| a.seq < recorded.seq).or_else(|| list.first());
        match current {
            Some(bound) => {
                by_fingerprint
                    .entry(bound.record.fingerprint.clone())
                    .or_default()
                    .insert(slot.to_owned(), recorded);
            }
            None => {
                waiting.entry(artifact.to_owned()).or_default().insert(slot.to_owned(), recorded);
            }
        }
    }
    let (trail_statuses, trail_bad, trail_missing) = attestation_statuses(&trail_level, &template.trail);
    let mut artifacts_statuses = Map::new();
    let mut any_artifact_bad = false;
    let mut any_artifact_missing = false;
    let empty = BTreeMap::new();
    let mut names: Vec<&str> =
        template.artifacts.iter().map(|(n, _)| n.as_str()).chain(reports.keys().copied()).collect();
    names.sort_unstable();
    names.dedup();
    for name in names {
        let expected =
            template.artifacts.iter().find(|(n, _)| n == name).map(|(_, s)| s.as_slice()).unwrap_or_default();
        let Some((current, earlier)) = reports.get(name).and_then(|list| list.split_last()) else {
            let (statuses, bad, _) = attestation_statuses(waiting.get(name).unwrap_or(&empty), expected);
            any_artifact_bad |= bad;
            any_artifact_missing = true;
            artifacts_statuses.insert(
                name.to_owned(),
                json!({"status": "MISSING", "is_compliant": false, "attestations_statuses": statuses}),
            );
            continue;
        };
        let entry_for = |artifact: &Recorded<Artifact>| {
            let own = by_fingerprint.get(&artifact.record.fingerprint).unwrap_or(&empty);
            let (statuses, bad, missing) = attestation_statuses(own, expected);
            // The artifact's status within the trail: trail-level evidence plus its own.
            let artifact_status = status(bad || trail_bad, missing || trail_missing);
            let entry = json!({
                "fingerprint": artifact.record.fingerprint,
                "filename": artifact.record.filename,
                "commit": artifact.record.commit,
                "build_url": artifact.record.build_url,
                "annotations": artifact.record.annotations,
                "recorded_at": artifact.recorded_at,
                "status": artifact_status,
                "is_compliant": artifact_status == "COMPLIANT",
                "attestations_statuses": statuses,
            });
            (entry, bad, missing)
        };
        let (mut entry, bad, missing) = entry_for(current);
        // Earlier fingerprints of this name (rebuilds), each once, by their last report, oldest first.
        let mut previous: Vec<&Recorded<Artifact>> = Vec::new();
        for artifact in earlier.iter().rev() {
            let fingerprint = &artifact.record.fingerprint;
            if fingerprint != &current.record.fingerprint
                && !previous.iter().any(|p| &p.record.fingerprint == fingerprint)
            {
                previous.push(artifact);
            }
        }
        if !previous.is_empty() {
            let list: Vec<Value> = previous.iter().rev().map(|artifact| entry_for(artifact).0).collect();
            entry["previous"] = Value::Array(list);
        }
        any_artifact_bad |= bad;
        any_artifact_missing |= missing;
        artifacts_statuses.insert(name.to_owned(), entry);
    }
    let trail_status = status(trail_bad || any_artifact_bad, trail_missing || any_artifact_missing);
    let record = &trail.record;
    json!({
        "name": record.name,
        "flow": record.flow,
        "description": record.description,
        "git_commit": record.commit.as_ref().map(|sha| json!({"sha1": sha})),
        "origin_url": record.origin_url,
        "user_data": record.user_data,
        "recorded_at": trail.recorded_at,
        "compliance_status": {
            "status": trail_status,
            "is_compliant": trail_status == "COMPLIANT",
            "attestations_statuses": trail_statuses,
            "artifacts_statuses": artifacts_statuses,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FP: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn recorded<T>(record: T, seq: i64) -> Recorded<T> {
        Recorded { record, seq, hash: format!("h{seq}"), recorded_at: format!("t{seq}") }
    }

    fn flow(template: Option<Value>) -> Flow {
        Flow {
            name: "f".into(),
            description: String::new(),
            tags: BTreeMap::new(),
            template,
            archived: false,
        }
    }

    fn trail() -> Recorded<Trail> {
        recorded(
            Trail {
                name: "t".into(),
                flow: "f".into(),
                description: String::new(),
                commit: Some("abc".into()),
                origin_url: None,
                user_data: None,
                template: None,
            },
            1,
        )
    }

    fn attestation(
        name: &str,
        compliant: bool,
        fingerprint: Option<&str>,
        seq: i64,
    ) -> Recorded<Attestation> {
        recorded(
            Attestation {
                name: name.into(),
                kind: "generic".into(),
                flow: "f".into(),
                trail: "t".into(),
                fingerprint: fingerprint.map(str::to_owned),
                is_compliant: compliant,
                payload: Some(json!({"summary": {"high": 0}})),
                user_data: None,
                attachments: Vec::new(),
            },
            seq,
        )
    }

    fn artifact(name: &str, seq: i64) -> Recorded<Artifact> {
        recorded(
            Artifact {
                fingerprint: FP.into(),
                name: name.into(),
                filename: None,
                flow: "f".into(),
                trail: "t".into(),
                commit: None,
                build_url: None,
                annotations: BTreeMap::new(),
            },
            seq,
        )
    }

    fn template() -> Value {
        json!({"version": 1, "trail": {"attestations": [{"name": "pr", "type": "pull_request"}],
                                          "artifacts": [{"name": "backend", "attestations": [{"name": "tests", "type": "junit"}]}]}})
    }

    fn status_of(document: &Value) -> &str {
        document["compliance_status"]["status"].as_str().unwrap()
    }

    #[test]
    fn without_a_template_only_failures_matter() {
        let document = trail_document(&trail(), &flow(None), &[], &[attestation("scan", true, None, 2)]);
        assert_eq!(status_of(&document), "COMPLIANT");
        let statuses = &document["compliance_status"]["attestations_statuses"]["scan"];
        assert_eq!(
            (statuses["status"].as_str(), statuses["summary"]["high"].as_i64()),
            (Some("COMPLIANT"), Some(0))
        );
        assert_eq!(document["git_commit"]["sha1"], "abc");
    }

    #[test]
    fn the_latest_attestation_per_name_wins() {
        let fixed = [attestation("scan", false, None, 2), attestation("scan", true, None, 3)];
        assert_eq!(status_of(&trail_document(&trail(), &flow(None), &[], &fixed)), "COMPLIANT");
        let broke = [attestation("scan", true, None, 2), attestation("scan", false, None, 3)];
        assert_eq!(status_of(&trail_document(&trail(), &flow(None), &[], &broke)), "NON-COMPLIANT");
    }

    #[test]
    fn template_slots_make_a_trail_incomplete_until_filled() {
        let f = flow(Some(template()));
        let nothing = trail_document(&trail(), &f, &[], &[]);
        assert_eq!(status_of(&nothing), "INCOMPLETE");
        assert_eq!(nothing["compliance_status"]["artifacts_statuses"]["backend"]["status"], "MISSING");
        assert_eq!(nothing["compliance_status"]["attestations_statuses"]["pr"]["status"], "MISSING");
        let complete = trail_document(
            &trail(),
            &f,
            &[artifact("backend", 2)],
            &[attestation("pr", true, None, 3), attestation("tests", true, Some(FP), 4)],
        );
        assert_eq!(status_of(&complete), "COMPLIANT");
        assert_eq!(
            complete["compliance_status"]["artifacts_statuses"]["backend"]["attestations_statuses"]["tests"]
                ["status"],
            "COMPLIANT"
        );
    }

    #[test]
    fn non_compliance_beats_incompleteness_and_dotted_names_bind_early() {
        let f = flow(Some(template()));
        // `backend.tests` reported before the artifact binds to it when it arrives.
        let document = trail_document(
            &trail(),
            &f,
            &[artifact("backend", 3)],
            &[attestation("backend.tests", false, None, 2)],
        );
        assert_eq!(status_of(&document), "NON-COMPLIANT");
        let backend = &document["compliance_status"]["artifacts_statuses"]["backend"];
        assert_eq!(backend["attestations_statuses"]["tests"]["status"], "NON-COMPLIANT");
        assert_eq!(backend["status"], "NON-COMPLIANT");
    }

    #[test]
    fn another_artifact_failing_does_not_taint_this_one() {
        let f = flow(None);
        let mut other = artifact("frontend", 3);
        other.record.fingerprint = "a".repeat(64);
        let document = trail_document(
            &trail(),
            &f,
            &[artifact("backend", 2), other],
            &[attestation("scan", false, Some(&"a".repeat(64)), 4)],
        );
        let statuses = &document["compliance_status"]["artifacts_statuses"];
        assert_eq!(
            (statuses["backend"]["status"].as_str(), statuses["frontend"]["status"].as_str()),
            (Some("COMPLIANT"), Some("NON-COMPLIANT"))
        );
        assert_eq!(status_of(&document), "NON-COMPLIANT");
    }
    fn artifact_with(name: &str, fingerprint: &str, seq: i64) -> Recorded<Artifact> {
        let mut reported = artifact(name, seq);
        reported.record.fingerprint = fingerprint.to_owned();
        reported
    }

    #[test]
    fn evidence_for_a_rebuilt_fingerprint_stays_with_the_old_one() {
        let x = "a".repeat(64);
        let y = "b".repeat(64);
        let document = trail_document(
            &trail(),
            &flow(None),
            &[artifact_with("app", &x, 2), artifact_with("app", &y, 4)],
            &[attestation("scan", true, Some(&x), 3)],
        );
        let app = &document["compliance_status"]["artifacts_statuses"]["app"];
        assert_eq!(app["fingerprint"], y);
        assert_eq!(app["attestations_statuses"], json!({}));
        assert_eq!(
            document["compliance_status"]["attestations_statuses"],
            json!({}),
            "never lifted to the trail"
        );
        let previous = app["previous"].as_array().unwrap();
        assert_eq!(previous.len(), 1);
        assert_eq!(previous[0]["fingerprint"], x);
        assert_eq!(previous[0]["attestations_statuses"]["scan"]["status"], "COMPLIANT");
    }

    #[test]
    fn an_attestation_for_a_fingerprint_the_trail_never_reported_is_evidence_for_nothing_here() {
        let document = trail_document(
            &trail(),
            &flow(None),
            &[artifact("app", 2)],
            &[attestation("scan", true, Some(&"c".repeat(64)), 3)],
        );
        let status = &document["compliance_status"];
        assert_eq!(status["attestations_statuses"], json!({}));
        assert_eq!(status["artifacts_statuses"]["app"]["attestations_statuses"], json!({}));
    }

    #[test]
    fn a_dotted_name_binds_to_the_artifact_current_when_it_was_reported() {
        let x = "a".repeat(64);
        let y = "b".repeat(64);
        let f = flow(Some(template()));
        // tests for X (reported while X was current), then a rebuild Y: Y has no tests of its own.
        let document = trail_document(
            &trail(),
            &f,
            &[artifact_with("backend", &x, 2), artifact_with("backend", &y, 4)],
            &[attestation("pr", true, None, 1), attestation("backend.tests", true, None, 3)],
        );
        let backend = &document["compliance_status"]["artifacts_statuses"]["backend"];
        assert_eq!(backend["attestations_statuses"]["tests"]["status"], "MISSING");
        assert_eq!(backend["status"], "INCOMPLETE");
        assert_eq!(backend["previous"][0]["attestations_statuses"]["tests"]["status"], "COMPLIANT");
        assert_eq!(backend["previous"][0]["status"], "COMPLIANT");
        assert_eq!(status_of(&document), "INCOMPLETE");
    }

    #[test]
    fn a_fingerprint_bound_dotted_name_fills_the_artifact_slot() {
        let f = flow(Some(template()));
        let document = trail_document(
            &trail(),
            &f,
            &[artifact("backend", 2)],
            &[attestation("pr", true, None, 3), attestation("backend.tests", true, Some(FP), 4)],
        );
        assert_eq!(status_of(&document), "COMPLIANT");
    }

    #[test]
    fn a_superseded_failure_does_not_fail_the_trail_but_stays_visible() {
        let x = "a".repeat(64);
        let y = "b".repeat(64);
        let document = trail_document(
            &trail(),
            &flow(None),
            &[artifact_with("app", &x, 2), artifact_with("app", &y, 4)],
            &[attestation("scan", false, Some(&x), 3), attestation("scan", true, Some(&y), 5)],
        );
        assert_eq!(status_of(&document), "COMPLIANT");
        assert_eq!(
            document["compliance_status"]["artifacts_statuses"]["app"]["previous"][0]["status"],
            "NON-COMPLIANT"
        );
    }
}
