//! verdict's evidence ledger: append-only, and tamper-evident through a hash chain.
//!
//! Every write is an entry; every entry's hash covers the previous entry's hash and its own canonical
//! encoding, so changing, deleting or reordering any stored entry breaks the chain at that entry, which
//! [`SqlLedger::verify`] finds. The chain ([`chain`]) is pure; the SQL store ([`SqlLedger`]) keeps it in
//! SQLite (the embedded default) or PostgreSQL, and appends to it inside one database transaction.

mod attachments;
pub mod chain;
mod error;
pub mod flows;
mod ledger;
pub mod model;
pub mod records;
mod sql;
pub mod template;
pub mod tokens;
pub mod trail_document;

pub use attachments::content_hash;
pub use chain::{ChainProblem, ChainReport, Entry, GENESIS};
pub use error::LedgerError;
pub use ledger::{Ledger, load_trail_document};
pub use model::{Artifact, AttachmentRef, Attestation, Flow, Recorded, SearchHits, Trail};
pub use records::RecordKind;
pub use sql::{Backend, RawEntry, SqlLedger, embedded_file};
pub use tokens::{Role, SERVER_ADMIN_ORG, TokenGrant, TokenInfo};
pub use trail_document::trail_document;
