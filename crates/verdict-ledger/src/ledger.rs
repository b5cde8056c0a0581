//! The [`Ledger`] trait: every evidence operation, implemented by the SQL store here and (later) by the
//! HTTP client, so the CLI behaves the same against a local file and a shared server.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::chain::{ChainReport, Entry};
use crate::error::LedgerError;
use crate::model::{Artifact, Attestation, Flow, Recorded, Trail, validate_fingerprint, validate_name};
use crate::records::{RecordKind, validate_record};
use crate::sql::SqlLedger;
use crate::template::{expected_type, validate_template};

/// Every evidence operation. Writes append; reads return the latest record per subject.
#[allow(async_fn_in_trait)]
pub trait Ledger {
    /// Records a flow (a later record with the same name corrects it).
    async fn put_flow(&self, org: &str, flow: Flow) -> Result<Recorded<Flow>, LedgerError>;
    /// The latest record of a flow.
    async fn flow(&self, org: &str, name: &str) -> Result<Option<Recorded<Flow>>, LedgerError>;
    /// Every flow, by name.
    async fn flows(&self, org: &str) -> Result<Vec<Recorded<Flow>>, LedgerError>;
    /// Every version of a flow, oldest first (its history: tag changes, descriptions, templates).
    async fn flow_versions(&self, org: &str, name: &str) -> Result<Vec<Recorded<Flow>>, LedgerError>;
    /// Records a trail of an existing flow.
    async fn begin_trail(&self, org: &str, trail: Trail) -> Result<Recorded<Trail>, LedgerError>;
    /// The latest record of a trail.
    async fn trail(&self, org: &str, flow: &str, name: &str) -> Result<Option<Recorded<Trail>>, LedgerError>;
    /// Every trail of a flow, by name.
    async fn trails(&self, org: &str, flow: &str) -> Result<Vec<Recorded<Trail>>, LedgerError>;
    /// Records an artifact in an existing trail.
    async fn report_artifact(&self, org: &str, artifact: Artifact)
    -> Result<Recorded<Artifact>, LedgerError>;
    /// The artifacts of a trail, in reporting order (every report, corrections included).
    async fn artifacts(
        &self,
        org: &str,
        flow: &str,
        trail: &str,
    ) -> Result<Vec<Recorded<Artifact>>, LedgerError>;
    /// Records an attestation on an existing trail (or one of its artifacts).
    async fn attest(&self, org: &str, attestation: Attestation)
    -> Result<Recorded<Attestation>, LedgerError>;
    /// The attestations of a trail, in reporting order (the latest per name is the current one).
    async fn attestations(
        &self,
        org: &str,
        flow: &str,
        trail: &str,
    ) -> Result<Vec<Recorded<Attestation>>, LedgerError>;
    /// Stores an attachment's content for the org and returns its SHA-256 (attestations refer to it).
    async fn put_attachment(&self, org: &str, content: Vec<u8>) -> Result<String, LedgerError>;
    /// An attachment's content, by SHA-256.
    async fn attachment(&self, org: &str, sha256: &str) -> Result<Option<Vec<u8>>, LedgerError>;
    /// Recomputes the hash chain.
    async fn verify(&self) -> Result<ChainReport, LedgerError>;
    /// Appends a record of one of the other kinds (environments, policies, snapshots, …), checked by kind.
    async fn append_record(
        &self,
        org: &str,
        kind: RecordKind,
        subject: &str,
        body: Value,
    ) -> Result<Recorded<Value>, LedgerError>;
    /// Appends many records of one `kind` (subject, body), each checked like [`Ledger::append_record`];
    /// the results are in the same order. The SQL store checks them all first and commits them in one
    /// transaction, consecutively (one invalid record refuses the batch); elsewhere they are sent
    /// concurrently, so an error can come after some of them were recorded — each recorded one is
    /// complete and chained, none is lost.
    async fn append_records(
        &self,
        org: &str,
        kind: RecordKind,
        items: Vec<(String, Value)>,
    ) -> Result<Vec<Recorded<Value>>, LedgerError> {
        use futures_util::stream::{self, StreamExt};
        let results: Vec<Result<Recorded<Value>, LedgerError>> = stream::iter(items)
            .map(|(subject, body)| async move { self.append_record(org, kind, &subject, body).await })
            .buffered(64)
            .collect()
            .await;
        results.into_iter().collect()
    }
    /// Every record of `kind` for `subject`, oldest first.
    async fn records(
        &self,
        org: &str,
        kind: RecordKind,
        subject: &str,
    ) -> Result<Vec<Recorded<Value>>, LedgerError>;
    /// The ledger positions of every record of `kind` for `subject`, oldest first: counting without
    /// reading the bodies.
    async fn record_positions(
        &self,
        org: &str,
        kind: RecordKind,
        subject: &str,
    ) -> Result<Vec<i64>, LedgerError> {
        Ok(self.records(org, kind, subject).await?.into_iter().map(|record| record.seq).collect())
    }
    /// The latest record of `kind` for `subject`, if any.
    async fn latest_record(
        &self,
        org: &str,
        kind: RecordKind,
        subject: &str,
    ) -> Result<Option<Recorded<Value>>, LedgerError> {
        Ok(self.records(org, kind, subject).await?.pop())
    }
    /// The latest record of `kind` for each subject, by subject.
    async fn latest_records(
        &self,
        org: &str,
        kind: RecordKind,
    ) -> Result<Vec<(String, Recorded<Value>)>, LedgerError>;
    /// Every report of an artifact with this fingerprint, in any flow and trail, oldest first: its contexts.
    async fn artifact_reports(
        &self,
        org: &str,
        fingerprint: &str,
    ) -> Result<Vec<Recorded<Artifact>>, LedgerError>;
    /// Every artifact report whose fingerprint or commit starts with `prefix` (4 to 64 lower-case hex
    /// digits), and every trail record whose commit does: `verdict search`, and resolving a fingerprint
    /// prefix to the one artifact it names.
    async fn search(&self, org: &str, prefix: &str) -> Result<crate::model::SearchHits, LedgerError>;
    /// The reports of each of `fingerprints` (in the same order): [`Ledger::artifact_reports`] for many
    /// artifacts. The SQL store answers from one query.
    async fn artifact_reports_many(
        &self,
        org: &str,
        fingerprints: &[String],
    ) -> Result<Vec<Vec<Recorded<Artifact>>>, LedgerError> {
        let mut all = Vec::with_capacity(fingerprints.len());
        for fingerprint in fingerprints {
            all.push(self.artifact_reports(org, fingerprint).await?);
        }
        Ok(all)
    }
    /// The documents of many trails (flow, trail), in the same order. The SQL store builds them from a
    /// handful of queries instead of several per trail.
    async fn trail_documents(
        &self,
        org: &str,
        trails: &[(String, String)],
    ) -> Result<Vec<Value>, LedgerError> {
        let mut documents = Vec::with_capacity(trails.len());
        for (flow, trail) in trails {
            documents.push(self.trail_document(org, flow, trail).await?);
        }
        Ok(documents)
    }
    /// The enriched document of one trail (see [`crate::trail_document`]). The HTTP client overrides
    /// this to fetch it in one request.
    async fn trail_document(
        &self,
        org: &str,
        flow: &str,
        trail: &str,
    ) -> Result<serde_json::Value, LedgerError> {
        load_trail_document(self, org, flow, trail).await
    }
}

fn recorded<T: DeserializeOwned>(entry: Entry) -> Result<Recorded<T>, LedgerError> {
    let record = serde_json::from_value(entry.body)
        .map_err(|err| LedgerError::Corrupt { seq: entry.seq, message: err.to_string() })?;
    Ok(Recorded { record, seq: entry.seq, hash: entry.hash, recorded_at: entry.recorded_at })
}

fn latest_per_subject<T: DeserializeOwned>(entries: Vec<Entry>) -> Result<Vec<Recorded<T>>, LedgerError> {
    let mut latest: std::collections::BTreeMap<String, Entry> = std::collections::BTreeMap::new();
    for entry in entries {
        latest.insert(entry.subject.clone(), entry);
    }
    latest.into_values().map(recorded).collect()
}

fn invalid(result: Result<(), String>) -> Result<(), LedgerError> {
    result.map_err(LedgerError::Invalid)
}

impl SqlLedger {
    async fn record<T: Serialize + DeserializeOwned>(
        &self,
        org: &str,
        kind: &str,
        subject: &str,
        record: &T,
    ) -> Result<Recorded<T>, LedgerError> {
        let body = serde_json::to_value(record).map_err(|err| LedgerError::Invalid(err.to_string()))?;
        recorded(self.append(org, kind, subject, &body).await?)
    }

    /// The trail new evidence goes to, or an error naming what is missing (the flow, or the trail in it)
    /// or refusing an archived flow.
    async fn require_trail(
        &self,
        org: &str,
        flow: &str,
        trail: &str,
    ) -> Result<Recorded<Trail>, LedgerError> {
        self.require_active_flow(org, flow).await?;
        if let Some(record) = self.trail(org, flow, trail).await? {
            return Ok(record);
        }
        Err(LedgerError::NotFound(format!(
            "trail {trail:?} does not exist in flow {flow:?} of org {org:?}: begin it with `verdict begin trail {trail} --flow {flow}`"
        )))
    }
}

impl SqlLedger {
    /// The flow new evidence goes to: it must exist and not be archived.
    async fn require_active_flow(&self, org: &str, flow: &str) -> Result<(), LedgerError> {
        match self.flow(org, flow).await? {
            None => Err(LedgerError::NotFound(format!(
                "flow {flow:?} does not exist in org {org:?}: create it with `verdict create flow {flow}`"
            ))),
            Some(existing) if existing.record.archived => Err(LedgerError::Invalid(format!(
                "flow {flow:?} is archived: it takes no new trails, artifacts or attestations \
                 (`verdict create flow {flow}` restores it)"
            ))),
            Some(_) => Ok(()),
        }
    }

    /// Refuses an attestation bound to a fingerprint the trail never reported (DESIGN.md rule 11): it
    /// could be evidence for no artifact of the trail, and is most likely a mistyped or stale fingerprint.
    /// Artifacts are never removed, so a fingerprint found here stays reported.
    async fn require_reported(
        &self,
        org: &str,
        flow: &str,
        trail: &str,
        fingerprint: &str,
    ) -> Result<(), LedgerError> {
        let reported = self.artifacts(org, flow, trail).await?;
        if reported.iter().any(|a| a.record.fingerprint == fingerprint) {
            return Ok(());
        }
        let mut known: Vec<String> =
            reported.iter().map(|a| format!("{} ({})", a.record.name, a.record.fingerprint)).collect();
        known.dedup();
        let has = if known.is_empty() {
            "it has no artifacts yet".to_owned()
        } else {
            format!("it has {}", known.join(", "))
        };
        Err(LedgerError::Invalid(format!(
            "artifact {fingerprint} was not reported in trail {trail:?} of flow {flow:?} ({has}): report it \
             first with `verdict attest artifact`, or attest to the trail without --fingerprint"
        )))
    }

    /// Refuses an attestation whose type differs from the one its template slot expects: it could never
    /// satisfy that slot, and recording it would hide the mistake.
    async fn check_slot_type(
        &self,
        org: &str,
        trail: Recorded<Trail>,
        attestation: &Attestation,
    ) -> Result<(), LedgerError> {
        let template = match trail.record.template {
            Some(template) => Some(template),
            None => self.flow(org, &attestation.flow).await?.and_then(|f| f.record.template),
        };
        let expected = template.as_ref().and_then(|t| expected_type(t, &attestation.name));
        match expected {
            Some(expected) if expected != attestation.kind => Err(LedgerError::Invalid(format!(
                "the template expects attestation {:?} to be of type {expected}, not {}",
                attestation.name, attestation.kind
            ))),
            _ => Ok(()),
        }
    }
}

impl Ledger for SqlLedger {
    async fn put_flow(&self, org: &str, flow: Flow) -> Result<Recorded<Flow>, LedgerError> {
        invalid(validate_name("flow", &flow.name))?;
        if let Some(template) = &flow.template {
            invalid(validate_template(template))?;
        }
        self.record(org, "flow", &flow.name.clone(), &flow).await
    }

    async fn flow(&self, org: &str, name: &str) -> Result<Option<Recorded<Flow>>, LedgerError> {
        self.latest_entry(org, "flow", name).await?.map(recorded).transpose()
    }

    async fn flows(&self, org: &str) -> Result<Vec<Recorded<Flow>>, LedgerError> {
        latest_per_subject(self.entries_of_kind(org, "flow", None).await?)
    }

    async fn flow_versions(&self, org: &str, name: &str) -> Result<Vec<Recorded<Flow>>, LedgerError> {
        self.entries(org, "flow", name).await?.into_iter().map(recorded).collect()
    }

    async fn begin_trail(&self, org: &str, trail: Trail) -> Result<Recorded<Trail>, LedgerError> {
        invalid(validate_name("trail", &trail.name))?;
        invalid(validate_name("flow", &trail.flow))?;
        if let Some(template) = &trail.template {
            invalid(validate_template(template))?;
        }
        self.require_active_flow(org, &trail.flow).await?;
        let subject = format!("{}/{}", trail.flow, trail.name);
        self.record(org, "trail", &subject, &trail).await
    }

    async fn trail(&self, org: &str, flow: &str, name: &str) -> Result<Option<Recorded<Trail>>, LedgerError> {
        self.latest_entry(org, "trail", &format!("{flow}/{name}")).await?.map(recorded).transpose()
    }

    async fn trails(&self, org: &str, flow: &str) -> Result<Vec<Recorded<Trail>>, LedgerError> {
        latest_per_subject(self.entries_of_kind(org, "trail", Some(&format!("{flow}/"))).await?)
    }

    async fn report_artifact(
        &self,
        org: &str,
        artifact: Artifact,
    ) -> Result<Recorded<Artifact>, LedgerError> {
        invalid(validate_fingerprint(&artifact.fingerprint))?;
        self.require_trail(org, &artifact.flow, &artifact.trail).await?;
        let subject = format!("{}/{}", artifact.flow, artifact.trail);
        self.record(org, "artifact", &subject, &artifact).await
    }

    async fn artifacts(
        &self,
        org: &str,
        flow: &str,
        trail: &str,
    ) -> Result<Vec<Recorded<Artifact>>, LedgerError> {
        self.entries(org, "artifact", &format!("{flow}/{trail}")).await?.into_iter().map(recorded).collect()
    }

    async fn attest(
        &self,
        org: &str,
        attestation: Attestation,
    ) -> Result<Recorded<Attestation>, LedgerError> {
        if attestation.name.is_empty() {
            return Err(LedgerError::Invalid("an attestation needs a name (--name)".to_owned()));
        }
        if let Some(fingerprint) = &attestation.fingerprint {
            invalid(validate_fingerprint(fingerprint))?;
        }
        let trail = self.require_trail(org, &attestation.flow, &attestation.trail).await?;
        if let Some(fingerprint) = &attestation.fingerprint {
            self.require_reported(org, &attestation.flow, &attestation.trail, fingerprint).await?;
        }
        self.check_slot_type(org, trail, &attestation).await?;
        for attached in &attestation.attachments {
            if !self.has_attachment(org, &attached.sha256).await? {
                return Err(LedgerError::NotFound(format!(
                    "attachment {} ({}) was not uploaded: store its content first",
                    attached.name, attached.sha256
                )));
            }
        }
        let subject = format!("{}/{}", attestation.flow, attestation.trail);
        self.record(org, "attestation", &subject, &attestation).await
    }

    async fn attestations(
        &self,
        org: &str,
        flow: &str,
        trail: &str,
    ) -> Result<Vec<Recorded<Attestation>>, LedgerError> {
        self.entries(org, "attestation", &format!("{flow}/{trail}"))
            .await?
            .into_iter()
            .map(recorded)
            .collect()
    }

    async fn put_attachment(&self, org: &str, content: Vec<u8>) -> Result<String, LedgerError> {
        self.store_attachment(org, &content).await
    }

    async fn attachment(&self, org: &str, sha256: &str) -> Result<Option<Vec<u8>>, LedgerError> {
        self.load_attachment(org, sha256).await
    }

    async fn verify(&self) -> Result<ChainReport, LedgerError> {
        SqlLedger::verify(self).await
    }

    async fn append_record(
        &self,
        org: &str,
        kind: RecordKind,
        subject: &str,
        body: Value,
    ) -> Result<Recorded<Value>, LedgerError> {
        invalid(validate_record(kind, subject, &body))?;
        if kind == RecordKind::SnapshotEvaluation
            && let Some(sha256) = body.get("evaluation_sha256").and_then(Value::as_str)
            && !self.has_attachment(org, sha256).await?
        {
            return Err(LedgerError::Invalid(format!(
                "the evaluation document {sha256} has not been uploaded: upload it as an attachment first"
            )));
        }
        recorded(self.append(org, kind.as_str(), subject, &body).await?)
    }

    async fn append_records(
        &self,
        org: &str,
        kind: RecordKind,
        items: Vec<(String, Value)>,
    ) -> Result<Vec<Recorded<Value>>, LedgerError> {
        for (subject, body) in &items {
            invalid(validate_record(kind, subject, body))?;
        }
        self.append_many(org, kind.as_str(), items).await?.into_iter().map(recorded).collect()
    }

    async fn records(
        &self,
        org: &str,
        kind: RecordKind,
        subject: &str,
    ) -> Result<Vec<Recorded<Value>>, LedgerError> {
        self.entries(org, kind.as_str(), subject).await?.into_iter().map(recorded).collect()
    }

    async fn record_positions(
        &self,
        org: &str,
        kind: RecordKind,
        subject: &str,
    ) -> Result<Vec<i64>, LedgerError> {
        self.entry_positions(org, kind.as_str(), subject).await
    }

    async fn latest_record(
        &self,
        org: &str,
        kind: RecordKind,
        subject: &str,
    ) -> Result<Option<Recorded<Value>>, LedgerError> {
        self.latest_entry(org, kind.as_str(), subject).await?.map(recorded).transpose()
    }

    async fn latest_records(
        &self,
        org: &str,
        kind: RecordKind,
    ) -> Result<Vec<(String, Recorded<Value>)>, LedgerError> {
        let mut latest: std::collections::BTreeMap<String, Entry> = std::collections::BTreeMap::new();
        for entry in self.entries_of_kind(org, kind.as_str(), None).await? {
            latest.insert(entry.subject.clone(), entry);
        }
        latest.into_iter().map(|(subject, entry)| Ok((subject, recorded(entry)?))).collect()
    }

    async fn artifact_reports(
        &self,
        org: &str,
        fingerprint: &str,
    ) -> Result<Vec<Recorded<Artifact>>, LedgerError> {
        invalid(validate_fingerprint(fingerprint))?;
        self.artifact_entries(org, fingerprint).await?.into_iter().map(recorded).collect()
    }

    async fn search(&self, org: &str, prefix: &str) -> Result<crate::model::SearchHits, LedgerError> {
        invalid(crate::model::validate_search_prefix(prefix))?;
        let mut hits = crate::model::SearchHits::default();
        for entry in self.prefix_entries(org, prefix).await? {
            match entry.kind.as_str() {
                "artifact" => hits.artifacts.push(recorded(entry)?),
                _ => hits.trails.push(recorded(entry)?),
            }
        }
        Ok(hits)
    }

    async fn artifact_reports_many(
        &self,
        org: &str,
        fingerprints: &[String],
    ) -> Result<Vec<Vec<Recorded<Artifact>>>, LedgerError> {
        if fingerprints.len() < BULK_THRESHOLD {
            let mut all = Vec::with_capacity(fingerprints.len());
            for fingerprint in fingerprints {
                all.push(self.artifact_reports(org, fingerprint).await?);
            }
            return Ok(all);
        }
        let mut by_fingerprint: std::collections::HashMap<String, Vec<Recorded<Artifact>>> =
            std::collections::HashMap::new();
        for entry in self.raw_entries(org, &["artifact"]).await? {
            let report: Recorded<Artifact> = entry.recorded()?;
            by_fingerprint.entry(report.record.fingerprint.clone()).or_default().push(report);
        }
        Ok(fingerprints.iter().map(|fp| by_fingerprint.get(fp).cloned().unwrap_or_default()).collect())
    }

    async fn trail_documents(
        &self,
        org: &str,
        trails: &[(String, String)],
    ) -> Result<Vec<Value>, LedgerError> {
        if trails.len() < BULK_THRESHOLD {
            let mut documents = Vec::with_capacity(trails.len());
            for (flow, trail) in trails {
                documents.push(self.trail_document(org, flow, trail).await?);
            }
            return Ok(documents);
        }
        // Everything of the org that trail documents are made of, grouped by kind and subject, in chain
        // order: one paged read for any number of trails.
        let wanted: std::collections::HashSet<String> =
            trails.iter().map(|(f, t)| format!("{f}/{t}")).collect();
        let mut flows: std::collections::HashMap<String, crate::sql::RawEntry> = Default::default();
        let mut grouped: std::collections::HashMap<String, TrailEntries> = Default::default();
        let kinds = ["flow", "trail", "artifact", "attestation", RecordKind::TrailEvent.as_str()];
        for entry in self.raw_entries(org, &kinds).await? {
            if entry.kind == "flow" {
                // The latest record of a flow wins.
                flows.insert(entry.subject.clone(), entry);
            } else if wanted.contains(&entry.subject) {
                let group = grouped.entry(entry.subject.clone()).or_default();
                match entry.kind.as_str() {
                    "trail" => group.trail = Some(entry),
                    "artifact" => group.artifacts.push(entry),
                    "attestation" => group.attestations.push(entry),
                    _ => group.events.push(entry),
                }
            }
        }
        let flows: std::collections::HashMap<String, Recorded<Flow>> = flows
            .into_iter()
            .map(|(name, entry)| Ok((name, entry.recorded()?)))
            .collect::<Result<_, LedgerError>>()?;
        // Parsing the records and building the documents is CPU work: spread over the cores.
        let threads = std::thread::available_parallelism().map_or(1, usize::from).min(8);
        let chunk = trails.len().div_ceil(threads).max(1);
        let (flows, groups) = (&flows, &grouped);
        let built: Vec<Result<Vec<Value>, LedgerError>> = std::thread::scope(|scope| {
            let workers: Vec<_> = trails
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        part.iter()
                            .map(|(flow, trail)| grouped_document(flows, groups, flow, trail))
                            .collect()
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|worker| {
                    worker.join().unwrap_or_else(|_| {
                        Err(LedgerError::Invalid("building trail documents failed".to_owned()))
                    })
                })
                .collect()
        });
        // Freeing tens of thousands of small strings takes a while; nobody needs to wait for it.
        std::thread::spawn(move || drop(grouped));
        let mut documents = Vec::with_capacity(trails.len());
        for part in built {
            documents.extend(part?);
        }
        Ok(documents)
    }
}

/// The raw entries of one trail (subject `flow/trail`), in chain order.
#[derive(Default)]
struct TrailEntries {
    trail: Option<crate::sql::RawEntry>,
    artifacts: Vec<crate::sql::RawEntry>,
    attestations: Vec<crate::sql::RawEntry>,
    events: Vec<crate::sql::RawEntry>,
}

/// One trail's document from its org's flows and the grouped raw entries of its trails.
fn grouped_document(
    flows: &std::collections::HashMap<String, Recorded<Flow>>,
    groups: &std::collections::HashMap<String, TrailEntries>,
    flow: &str,
    trail: &str,
) -> Result<Value, LedgerError> {
    let Some(flow_record) = flows.get(flow) else {
        return Err(LedgerError::NotFound(format!("flow {flow:?} does not exist")));
    };
    let Some(group) = groups.get(&format!("{flow}/{trail}")) else {
        return Err(LedgerError::NotFound(format!("trail {trail:?} does not exist in flow {flow:?}")));
    };
    let Some(trail_entry) = &group.trail else {
        return Err(LedgerError::NotFound(format!("trail {trail:?} does not exist in flow {flow:?}")));
    };
    let trail_record: Recorded<Trail> = trail_entry.recorded()?;
    let trail_artifacts: Vec<Recorded<Artifact>> = parse_all(&group.artifacts)?;
    let trail_attestations: Vec<Recorded<Attestation>> = parse_all(&group.attestations)?;
    let trail_events: Vec<Recorded<Value>> = parse_all(&group.events)?;
    let mut document =
        crate::trail_document(&trail_record, &flow_record.record, &trail_artifacts, &trail_attestations);
    attach_events(&mut document, trail_events);
    Ok(document)
}

/// The enriched document of one trail (see [`crate::trail_document`]), read through any [`Ledger`].
pub async fn load_trail_document<L: Ledger + ?Sized>(
    ledger: &L,
    org: &str,
    flow: &str,
    trail: &str,
) -> Result<serde_json::Value, LedgerError> {
    let Some(flow_record) = ledger.flow(org, flow).await? else {
        return Err(LedgerError::NotFound(format!("flow {flow:?} does not exist in org {org:?}")));
    };
    let Some(trail_record) = ledger.trail(org, flow, trail).await? else {
        return Err(LedgerError::NotFound(format!(
            "trail {trail:?} does not exist in flow {flow:?} of org {org:?}"
        )));
    };
    let artifacts = ledger.artifacts(org, flow, trail).await?;
    let attestations = ledger.attestations(org, flow, trail).await?;
    let mut document = crate::trail_document(&trail_record, &flow_record.record, &artifacts, &attestations);
    attach_events(
        &mut document,
        ledger.records(org, RecordKind::TrailEvent, &format!("{flow}/{trail}")).await?,
    );
    Ok(document)
}

/// Below this many items, the bulk reads ask per item (cheaper than reading the whole org).
const BULK_THRESHOLD: usize = 64;

/// Parses every raw entry into its record type.
fn parse_all<T: DeserializeOwned>(entries: &[crate::sql::RawEntry]) -> Result<Vec<Recorded<T>>, LedgerError> {
    entries.iter().map(|e| e.recorded()).collect()
}

/// Adds where the trail's artifacts started and stopped running (snapshots append these), oldest first.
fn attach_events(document: &mut Value, events: Vec<Recorded<Value>>) {
    let events: Vec<Value> = events
        .into_iter()
        .map(|event| {
            let mut body = event.record;
            if let Some(object) = body.as_object_mut() {
                object.remove("flow");
                object.remove("trail");
                object.insert("recorded_at".into(), Value::String(event.recorded_at));
            }
            body
        })
        .collect();
    if let Some(object) = document.as_object_mut() {
        object.insert("events".into(), Value::Array(events));
    }
}
