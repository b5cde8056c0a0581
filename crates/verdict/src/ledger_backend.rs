//! The ledger a command works on, chosen at the edge: the embedded SQL store (`--db`, the default) or a
//! `verdict server` (`--host`). Both implement [`Ledger`]; this enum forwards to whichever was chosen, so
//! commands are written once.

use serde_json::Value;
use verdict_client::HttpLedger;
use verdict_ledger::{
    Artifact, Attestation, ChainReport, Flow, Ledger, LedgerError, RecordKind, Recorded, SqlLedger, Trail,
};

/// The embedded ledger or a server.
#[derive(Debug)]
pub enum CliLedger {
    /// An SQLite file or PostgreSQL database opened directly.
    Local(SqlLedger),
    /// A `verdict server`.
    Remote(HttpLedger),
}

macro_rules! forward {
    ($self:ident, $method:ident ( $($arg:expr),* )) => {
        match $self {
            CliLedger::Local(ledger) => ledger.$method($($arg),*).await,
            CliLedger::Remote(ledger) => ledger.$method($($arg),*).await,
        }
    };
}

impl Ledger for CliLedger {
    async fn put_flow(&self, org: &str, flow: Flow) -> Result<Recorded<Flow>, LedgerError> {
        forward!(self, put_flow(org, flow))
    }
    async fn flow(&self, org: &str, name: &str) -> Result<Option<Recorded<Flow>>, LedgerError> {
        forward!(self, flow(org, name))
    }
    async fn flows(&self, org: &str) -> Result<Vec<Recorded<Flow>>, LedgerError> {
        forward!(self, flows(org))
    }
    async fn flow_versions(&self, org: &str, name: &str) -> Result<Vec<Recorded<Flow>>, LedgerError> {
        forward!(self, flow_versions(org, name))
    }
    async fn begin_trail(&self, org: &str, trail: Trail) -> Result<Recorded<Trail>, LedgerError> {
        forward!(self, begin_trail(org, trail))
    }
    async fn trail(&self, org: &str, flow: &str, name: &str) -> Result<Option<Recorded<Trail>>, LedgerError> {
        forward!(self, trail(org, flow, name))
    }
    async fn trails(&self, org: &str, flow: &str) -> Result<Vec<Recorded<Trail>>, LedgerError> {
        forward!(self, trails(org, flow))
    }
    async fn report_artifact(
        &self,
        org: &str,
        artifact: Artifact,
    ) -> Result<Recorded<Artifact>, LedgerError> {
        forward!(self, report_artifact(org, artifact))
    }
    async fn artifacts(
        &self,
        org: &str,
        flow: &str,
        trail: &str,
    ) -> Result<Vec<Recorded<Artifact>>, LedgerError> {
        forward!(self, artifacts(org, flow, trail))
    }
    async fn attest(
        &self,
        org: &str,
        attestation: Attestation,
    ) -> Result<Recorded<Attestation>, LedgerError> {
        forward!(self, attest(org, attestation))
    }
    async fn attestations(
        &self,
        org: &str,
        flow: &str,
        trail: &str,
    ) -> Result<Vec<Recorded<Attestation>>, LedgerError> {
        forward!(self, attestations(org, flow, trail))
    }
    async fn put_attachment(&self, org: &str, content: Vec<u8>) -> Result<String, LedgerError> {
        forward!(self, put_attachment(org, content))
    }
    async fn attachment(&self, org: &str, sha256: &str) -> Result<Option<Vec<u8>>, LedgerError> {
        forward!(self, attachment(org, sha256))
    }
    async fn verify(&self) -> Result<ChainReport, LedgerError> {
        match self {
            CliLedger::Local(ledger) => Ledger::verify(ledger).await,
            CliLedger::Remote(ledger) => ledger.verify().await,
        }
    }
    async fn append_record(
        &self,
        org: &str,
        kind: RecordKind,
        subject: &str,
        body: Value,
    ) -> Result<Recorded<Value>, LedgerError> {
        forward!(self, append_record(org, kind, subject, body))
    }
    async fn record_positions(
        &self,
        org: &str,
        kind: RecordKind,
        subject: &str,
    ) -> Result<Vec<i64>, LedgerError> {
        forward!(self, record_positions(org, kind, subject))
    }
    async fn latest_record(
        &self,
        org: &str,
        kind: RecordKind,
        subject: &str,
    ) -> Result<Option<Recorded<Value>>, LedgerError> {
        forward!(self, latest_record(org, kind, subject))
    }
    async fn append_records(
        &self,
        org: &str,
        kind: RecordKind,
        items: Vec<(String, Value)>,
    ) -> Result<Vec<Recorded<Value>>, LedgerError> {
        forward!(self, append_records(org, kind, items))
    }
    async fn records(
        &self,
        org: &str,
        kind: RecordKind,
        subject: &str,
    ) -> Result<Vec<Recorded<Value>>, LedgerError> {
        forward!(self, records(org, kind, subject))
    }
    async fn latest_records(
        &self,
        org: &str,
        kind: RecordKind,
    ) -> Result<Vec<(String, Recorded<Value>)>, LedgerError> {
        forward!(self, latest_records(org, kind))
    }
    async fn artifact_reports(
        &self,
        org: &str,
        fingerprint: &str,
    ) -> Result<Vec<Recorded<Artifact>>, LedgerError> {
        forward!(self, artifact_reports(org, fingerprint))
    }
    async fn search(&self, org: &str, prefix: &str) -> Result<verdict_ledger::SearchHits, LedgerError> {
        forward!(self, search(org, prefix))
    }
    async fn artifact_reports_many(
        &self,
        org: &str,
        fingerprints: &[String],
    ) -> Result<Vec<Vec<Recorded<Artifact>>>, LedgerError> {
        forward!(self, artifact_reports_many(org, fingerprints))
    }
    async fn trail_documents(
        &self,
        org: &str,
        trails: &[(String, String)],
    ) -> Result<Vec<Value>, LedgerError> {
        forward!(self, trail_documents(org, trails))
    }
    async fn trail_document(&self, org: &str, flow: &str, trail: &str) -> Result<Value, LedgerError> {
        forward!(self, trail_document(org, flow, trail))
    }
}
