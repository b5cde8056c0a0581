//! The SQL store: the chain in SQLite (embedded default) or PostgreSQL, through sqlx's `Any` driver so one
//! code path serves both.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use futures_util::stream::{self, StreamExt};
use serde_json::Value;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Row};
use tokio::sync::oneshot;

use crate::chain::{self, ChainReport, Entry};
use crate::error::LedgerError;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Which database a ledger lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file (WAL journal, synchronous commits).
    Sqlite,
    /// A PostgreSQL database.
    Postgres,
}

/// The ledger in a SQL database.
#[derive(Debug, Clone)]
pub struct SqlLedger {
    pool: AnyPool,
    backend: Backend,
    group: Arc<GroupCommit>,
}

/// An append waiting to be committed, and where to send its outcome.
#[derive(Debug)]
struct Pending {
    /// Which `append_many` call it came from: the entries of one call stand or fall together.
    writer: u64,
    org: String,
    kind: String,
    subject: String,
    body: Value,
    reply: oneshot::Sender<Result<Entry, LedgerError>>,
}

/// Group commit: appends queue up while one caller commits; the next caller to take `committer`
/// commits the whole queue at once.
#[derive(Debug, Default)]
struct GroupCommit {
    queue: Mutex<Vec<Pending>>,
    committer: Arc<tokio::sync::Mutex<()>>,
    /// Numbers the callers of `append_many`.
    writers: std::sync::atomic::AtomicU64,
}

/// An entry with its body as stored (canonical JSON text), for bulk reads.
#[derive(Debug, Clone)]
pub struct RawEntry {
    /// Position in the chain.
    pub seq: i64,
    /// Its kind.
    pub kind: String,
    /// Its subject.
    pub subject: String,
    /// The body, as stored.
    pub body: String,
    /// When it was recorded.
    pub recorded_at: String,
    /// Its hash.
    pub hash: String,
}

impl RawEntry {
    /// The record it holds, parsed straight from the stored text.
    pub fn recorded<T: serde::de::DeserializeOwned>(&self) -> Result<crate::model::Recorded<T>, LedgerError> {
        let record = serde_json::from_str(&self.body)
            .map_err(|err| LedgerError::Corrupt { seq: self.seq, message: err.to_string() })?;
        Ok(crate::model::Recorded {
            record,
            seq: self.seq,
            hash: self.hash.clone(),
            recorded_at: self.recorded_at.clone(),
        })
    }
}

/// One entry as `verify` reads it: seq, org, kind, subject, body, recorded_at, prev_hash, hash.
type VerifyRow = (i64, String, String, String, String, String, String, String);

/// Locks a queue; a poisoned lock (a panic while pushing or draining) still holds a valid `Vec`.
/// The raw entries `query` (from [`SqlLedger::raw_entries`]) finds with `low < seq <= high`.
async fn raw_range(
    pool: &AnyPool,
    query: &str,
    org: &str,
    low: i64,
    high: i64,
) -> Result<Vec<RawEntry>, LedgerError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(query.to_owned()))
        .bind(org)
        .bind(low)
        .bind(high)
        .fetch_one(pool)
        .await?;
    let page: String = row.try_get("page")?;
    let rows: Vec<(i64, String, String, String, String, String)> = serde_json::from_str(&page)
        .map_err(|err| LedgerError::Corrupt { seq: low + 1, message: err.to_string() })?;
    Ok(rows
        .into_iter()
        .map(|(seq, kind, subject, body, recorded_at, hash)| RawEntry {
            seq,
            kind,
            subject,
            body,
            recorded_at,
            hash,
        })
        .collect())
}

/// Refuses what no database should store: an invalid org name (it would make an invisible separate org),
/// and NUL characters in the org, kind or subject (PostgreSQL cannot store them in text). NULs inside a
/// body are stored escaped in its canonical JSON, so they are fine.
fn check_entry_text(org: &str, kind: &str, items: &[(String, Value)]) -> Result<(), LedgerError> {
    crate::model::validate_name("org", org).map_err(LedgerError::Invalid)?;
    if kind.contains('\0') {
        return Err(LedgerError::Invalid("a record kind cannot contain a NUL character".to_owned()));
    }
    for (subject, _) in items {
        if subject.contains('\0') {
            return Err(LedgerError::Invalid(format!(
                "the subject {subject:?} contains a NUL character, which the ledger cannot store"
            )));
        }
    }
    Ok(())
}

fn lock(queue: &Mutex<Vec<Pending>>) -> MutexGuard<'_, Vec<Pending>> {
    queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Turns `--db` (a file path, a `sqlite://` URL or a `postgres://` URL) into a connection URL.
fn connection_url(location: &str) -> Result<(String, Backend), LedgerError> {
    let invalid = |message: &str| LedgerError::InvalidLocation {
        location: location.to_owned(),
        message: message.to_owned(),
    };
    if location.trim().is_empty() {
        return Err(invalid("it is empty"));
    }
    if location.starts_with("postgres://") || location.starts_with("postgresql://") {
        return Ok((location.to_owned(), Backend::Postgres));
    }
    if let Some(rest) = location.strip_prefix("sqlite:") {
        let url = if rest.contains("mode=") {
            location.to_owned()
        } else if rest.contains('?') {
            format!("{location}&mode=rwc")
        } else {
            format!("{location}?mode=rwc")
        };
        return Ok((url, Backend::Sqlite));
    }
    if location.contains("://") {
        return Err(invalid("use a file path, a sqlite:// URL or a postgres:// URL"));
    }
    let path = Path::new(location);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && !parent.is_dir()
    {
        return Err(invalid(&format!("the directory {} does not exist", parent.display())));
    }
    Ok((format!("sqlite://{location}?mode=rwc"), Backend::Sqlite))
}

/// The file an embedded (SQLite) ledger location names, or `None` for a PostgreSQL URL and in-memory
/// SQLite: what a caller checks before opening, since opening creates a missing file.
pub fn embedded_file(location: &str) -> Option<std::path::PathBuf> {
    if location.starts_with("postgres://") || location.starts_with("postgresql://") {
        return None;
    }
    let path = match location.strip_prefix("sqlite:") {
        Some(rest) => {
            let rest = rest.strip_prefix("//").unwrap_or(rest);
            let path = rest.split_once('?').map_or(rest, |(path, _)| path);
            if path.is_empty() || path == ":memory:" || location.contains("mode=memory") {
                return None;
            }
            path
        }
        None if location.contains("://") => return None,
        None => location,
    };
    Some(std::path::PathBuf::from(path))
}

/// Refuses a file that is not an SQLite database before SQLite is asked to open it (it would fail
/// later, noisily, as if the database were unavailable). An empty file is a new database.
fn check_sqlite_file(location: &str) -> Result<(), LedgerError> {
    use std::io::Read;
    let Some(path) = embedded_file(location) else { return Ok(()) };
    let Ok(mut file) = std::fs::File::open(&path) else { return Ok(()) };
    let mut header = [0u8; 16];
    let read = file.read(&mut header).unwrap_or(0);
    if read == 0 || header == *b"SQLite format 3\0" {
        return Ok(());
    }
    Err(LedgerError::InvalidLocation {
        location: location.to_owned(),
        message: format!("{} is not a verdict ledger (not an SQLite database)", path.display()),
    })
}

/// Why a database cannot be connected to, from one direct attempt after the pool gave up.
async fn connect_failure(url: &str) -> LedgerError {
    use sqlx::Connection;
    let attempt = tokio::time::timeout(std::time::Duration::from_secs(5), sqlx::AnyConnection::connect(url));
    let cause = match attempt.await {
        Ok(Err(err)) => verdict_core::error_chain::describe(&err),
        Ok(Ok(_)) => "the database accepted a connection only after the pool's 5 s wait".to_owned(),
        Err(_) => "no answer within 5 s".to_owned(),
    };
    LedgerError::Unavailable { what: "database", message: format!("cannot connect: {cause}") }
}

pub(crate) fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

impl SqlLedger {
    /// Opens (creating it if needed) the ledger at `location` and brings its schema up to date.
    pub async fn open(location: &str) -> Result<Self, LedgerError> {
        install_default_drivers();
        let (url, backend) = connection_url(location)?;
        check_sqlite_file(location)?;
        // A database that cannot be reached within a few seconds is reported unavailable (exit 3) rather
        // than retried for sqlx's default 30 s.
        let mut options = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 4 } else { 16 })
            .acquire_timeout(std::time::Duration::from_secs(5));
        if backend == Backend::Sqlite {
            options = options.after_connect(|connection, _| {
                Box::pin(async move {
                    // WAL for concurrent readers; FULL synchronous so an acknowledged append survives a
                    // crash; a busy timeout so concurrent appends wait for the write lock; a 64 MiB page
                    // cache (default 2 MiB) so the indexes of a large ledger stay in memory while thousands
                    // of entries are inserted at once.
                    for pragma in [
                        "PRAGMA journal_mode = WAL",
                        "PRAGMA synchronous = FULL",
                        "PRAGMA busy_timeout = 30000",
                        "PRAGMA cache_size = -65536",
                    ] {
                        sqlx::query(pragma).execute(&mut *connection).await?;
                    }
                    Ok(())
                })
            });
        }
        let pool = match options.connect(&url).await {
            Ok(pool) => pool,
            // The pool retries and then reports only that it timed out: one direct attempt says why
            // (connection refused, unknown host, authentication failed, …).
            Err(sqlx::Error::PoolTimedOut) => return Err(connect_failure(&url).await),
            Err(err) => return Err(err.into()),
        };
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&pool).await.map_err(LedgerError::Migration)?;
        Ok(SqlLedger { pool, backend, group: Arc::default() })
    }

    /// The connection pool, for the other stores that share the database (tokens, attachments).
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Whether the database answers: for readiness probes.
    pub async fn ping(&self) -> Result<(), LedgerError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// The database this ledger lives in.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Appends an entry, chained to the current head, durably: it returns once the entry is committed.
    ///
    /// Concurrent appends are grouped: one caller at a time commits everything queued so far in one
    /// transaction (group commit), so N concurrent writers cost one commit, not N. The transaction's
    /// first statement updates the head row, so appends from every process sharing the database wait
    /// for each other in the database and the chain stays linear.
    pub async fn append(
        &self,
        org: &str,
        kind: &str,
        subject: &str,
        body: &Value,
    ) -> Result<Entry, LedgerError> {
        let mut entries = self.append_many(org, kind, vec![(subject.to_owned(), body.clone())]).await?;
        entries.pop().ok_or_else(|| LedgerError::Invalid("nothing was appended".to_owned()))
    }

    /// Appends entries of one kind (subject, body) in this order, consecutively and in one transaction:
    /// what a snapshot's thousands of trail events need, without a round of the group commit each.
    pub async fn append_many(
        &self,
        org: &str,
        kind: &str,
        items: Vec<(String, Value)>,
    ) -> Result<Vec<Entry>, LedgerError> {
        // Everything the database could refuse is checked before the entries join a batch shared with
        // other writers (and other orgs): one bad record must fail only its own writer.
        check_entry_text(org, kind, &items)?;
        let mut receivers = Vec::with_capacity(items.len());
        let writer = self.group.writers.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        {
            let mut queue = lock(&self.group.queue);
            for (subject, body) in items {
                let (reply, receiver) = oneshot::channel();
                queue.push(Pending {
                    writer,
                    org: org.to_owned(),
                    kind: kind.to_owned(),
                    subject,
                    body,
                    reply,
                });
                receivers.push(receiver);
            }
        }
        let Some(first) = receivers.first() else { return Ok(Vec::new()) };
        let guard = self.group.committer.clone().lock_owned().await;
        // All of them joined the queue together, so they are committed together: when the first is
        // answered (or its sender dropped), so are the rest.
        if first.is_empty() && !first.is_terminated() {
            let batch = std::mem::take(&mut *lock(&self.group.queue));
            // The commit runs in its own task, so a caller that goes away (a client that disconnects)
            // cannot cancel a transaction that other callers are waiting for.
            let ledger = self.clone();
            let committed = tokio::spawn(async move {
                let _guard = guard;
                ledger.commit_batch(batch).await;
            });
            let _ = committed.await;
        }
        let mut entries = Vec::with_capacity(receivers.len());
        for receiver in receivers {
            entries.push(receiver.await.map_err(|_| LedgerError::Unavailable {
                what: "database",
                message: "the append was abandoned before it was committed".to_owned(),
            })??);
        }
        Ok(entries)
    }

    /// Commits `batch` in one transaction and answers every caller in it. When the database refuses the
    /// batch, each caller's entries are retried in a transaction of their own, so a row the database
    /// refuses fails only the writer who sent it.
    async fn commit_batch(&self, batch: Vec<Pending>) {
        let writers = batch.iter().map(|p| p.writer).collect::<std::collections::BTreeSet<_>>().len();
        match self.insert_batch(&batch).await {
            Ok(entries) => {
                for (pending, entry) in batch.into_iter().zip(entries) {
                    let _ = pending.reply.send(Ok(entry));
                }
            }
            Err(error) if writers > 1 => {
                tracing::debug!(
                    appends = batch.len(),
                    "a shared commit failed, retrying each writer alone: {error}"
                );
                let mut groups: Vec<Vec<Pending>> = Vec::new();
                for pending in batch {
                    match groups.last_mut() {
                        Some(group) if group[0].writer == pending.writer => group.push(pending),
                        _ => groups.push(vec![pending]),
                    }
                }
                for group in groups {
                    Box::pin(self.commit_batch(group)).await;
                }
            }
            Err(error) => {
                let message = error.to_string();
                tracing::warn!(appends = batch.len(), "append failed: {message}");
                for pending in batch {
                    let _ = pending
                        .reply
                        .send(Err(LedgerError::Unavailable { what: "database", message: message.clone() }));
                }
            }
        }
    }

    async fn insert_batch(&self, batch: &[Pending]) -> Result<Vec<Entry>, LedgerError> {
        let count =
            i64::try_from(batch.len()).map_err(|_| LedgerError::Invalid("batch too large".to_owned()))?;
        let mut transaction = self.pool.begin().await?;
        sqlx::query("UPDATE chain_head SET seq = seq + $1 WHERE id = 1")
            .bind(count)
            .execute(&mut *transaction)
            .await?;
        let head =
            sqlx::query("SELECT seq, hash FROM chain_head WHERE id = 1").fetch_one(&mut *transaction).await?;
        let last_seq: i64 = head.try_get("seq")?;
        let mut prev_hash: String = head.try_get("hash")?;
        let recorded_at = now_rfc3339();
        let mut entries = Vec::with_capacity(batch.len());
        let mut rows = Vec::with_capacity(batch.len());
        for (offset, pending) in (0..count).zip(batch) {
            let seq = last_seq - count + 1 + offset;
            let Pending { org, kind, subject, body, .. } = pending;
            let canonical = chain::canonical_json(body);
            let hash =
                chain::entry_hash_canonical(&prev_hash, seq, org, kind, subject, &canonical, &recorded_at);
            rows.push(canonical);
            entries.push(Entry {
                seq,
                org: org.clone(),
                kind: kind.clone(),
                subject: subject.clone(),
                body: Value::Null,
                recorded_at: recorded_at.clone(),
                prev_hash: std::mem::replace(&mut prev_hash, hash.clone()),
                hash,
            });
        }
        // Many rows per statement: each statement is a round trip to the database (or to SQLite's
        // worker thread), which dominates when a batch holds thousands of small entries.
        // One statement for the whole batch: the rows travel as one JSON array that the database unpacks
        // (SQLite's json_each, PostgreSQL's json_array_elements). A statement per row would cost a round
        // trip each, which dominates when a snapshot appends thousands of trail events.
        let mut packed = Vec::with_capacity(rows.iter().map(|r| r.len() + 300).sum());
        packed.push(b'[');
        for (index, (entry, canonical)) in entries.iter().zip(&rows).enumerate() {
            if index > 0 {
                packed.push(b',');
            }
            let row = (
                entry.seq,
                &entry.org,
                &entry.kind,
                &entry.subject,
                canonical,
                &entry.recorded_at,
                &entry.prev_hash,
                &entry.hash,
            );
            serde_json::to_writer(&mut packed, &row)
                .map_err(|err| LedgerError::Invalid(format!("cannot encode entries: {err}")))?;
        }
        packed.push(b']');
        let packed = String::from_utf8(packed)
            .map_err(|err| LedgerError::Invalid(format!("cannot encode entries: {err}")))?;
        let statement = match self.backend {
            Backend::Sqlite => {
                "INSERT INTO entries (seq, org, kind, subject, body, recorded_at, prev_hash, hash) \
                 SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, \
                 value ->> 6, value ->> 7 FROM json_each($1)"
            }
            Backend::Postgres => {
                "INSERT INTO entries (seq, org, kind, subject, body, recorded_at, prev_hash, hash) \
                 SELECT (r ->> 0)::bigint, r ->> 1, r ->> 2, r ->> 3, r ->> 4, r ->> 5, r ->> 6, r ->> 7 \
                 FROM json_array_elements($1::json) AS r"
            }
        };
        sqlx::query(statement).bind(packed).execute(&mut *transaction).await?;
        for (entry, pending) in entries.iter_mut().zip(batch) {
            entry.body = pending.body.clone();
        }
        sqlx::query("UPDATE chain_head SET hash = $1 WHERE id = 1")
            .bind(&prev_hash)
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        Ok(entries)
    }

    fn entry(row: &sqlx::any::AnyRow) -> Result<Entry, LedgerError> {
        let seq: i64 = row.try_get("seq")?;
        let body: String = row.try_get("body")?;
        let body = serde_json::from_str(&body)
            .map_err(|err| LedgerError::Corrupt { seq, message: err.to_string() })?;
        Ok(Entry {
            seq,
            org: row.try_get("org")?,
            kind: row.try_get("kind")?,
            subject: row.try_get("subject")?,
            body,
            recorded_at: row.try_get("recorded_at")?,
            prev_hash: row.try_get("prev_hash")?,
            hash: row.try_get("hash")?,
        })
    }

    /// The entries of one subject, oldest first.
    pub async fn entries(&self, org: &str, kind: &str, subject: &str) -> Result<Vec<Entry>, LedgerError> {
        let rows = sqlx::query(
            "SELECT seq, org, kind, subject, body, recorded_at, prev_hash, hash FROM entries \
             WHERE org = $1 AND kind = $2 AND subject = $3 ORDER BY seq",
        )
        .bind(org)
        .bind(kind)
        .bind(subject)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(Self::entry).collect()
    }

    /// The positions of one subject's entries, oldest first.
    pub async fn entry_positions(
        &self,
        org: &str,
        kind: &str,
        subject: &str,
    ) -> Result<Vec<i64>, LedgerError> {
        let rows =
            sqlx::query("SELECT seq FROM entries WHERE org = $1 AND kind = $2 AND subject = $3 ORDER BY seq")
                .bind(org)
                .bind(kind)
                .bind(subject)
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(|row| row.try_get("seq").map_err(LedgerError::from)).collect()
    }

    /// The latest entry of one subject, if any.
    pub async fn latest_entry(
        &self,
        org: &str,
        kind: &str,
        subject: &str,
    ) -> Result<Option<Entry>, LedgerError> {
        let row = sqlx::query(
            "SELECT seq, org, kind, subject, body, recorded_at, prev_hash, hash FROM entries \
             WHERE org = $1 AND kind = $2 AND subject = $3 ORDER BY seq DESC LIMIT 1",
        )
        .bind(org)
        .bind(kind)
        .bind(subject)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(Self::entry).transpose()
    }

    /// The artifact entries (every report, oldest first) that carry `fingerprint`.
    pub async fn artifact_entries(&self, org: &str, fingerprint: &str) -> Result<Vec<Entry>, LedgerError> {
        let query = match self.backend {
            Backend::Sqlite => {
                "SELECT seq, org, kind, subject, body, recorded_at, prev_hash, hash FROM entries \
                 WHERE org = $1 AND json_extract(body, '$.fingerprint') = $2 AND kind = 'artifact' ORDER BY seq"
            }
            Backend::Postgres => {
                "SELECT seq, org, kind, subject, body, recorded_at, prev_hash, hash FROM entries \
                 WHERE org = $1 AND ((body::json) ->> 'fingerprint') = $2 AND kind = 'artifact' ORDER BY seq"
            }
        };
        let rows = sqlx::query(query).bind(org).bind(fingerprint).fetch_all(&self.pool).await?;
        rows.iter().map(Self::entry).collect()
    }

    /// The artifact entries whose fingerprint or commit starts with `prefix`, and the trail entries whose
    /// commit does, oldest first. `prefix` is checked hex, so it holds no LIKE wildcard.
    pub async fn prefix_entries(&self, org: &str, prefix: &str) -> Result<Vec<Entry>, LedgerError> {
        let query = match self.backend {
            Backend::Sqlite => {
                "SELECT seq, org, kind, subject, body, recorded_at, prev_hash, hash FROM entries \
                 WHERE org = $1 AND ((kind = 'artifact' AND (json_extract(body, '$.fingerprint') LIKE $2 \
                 OR json_extract(body, '$.commit') LIKE $2)) \
                 OR (kind = 'trail' AND json_extract(body, '$.commit') LIKE $2)) ORDER BY seq"
            }
            Backend::Postgres => {
                "SELECT seq, org, kind, subject, body, recorded_at, prev_hash, hash FROM entries \
                 WHERE org = $1 AND ((kind = 'artifact' AND (((body::json) ->> 'fingerprint') LIKE $2 \
                 OR ((body::json) ->> 'commit') LIKE $2)) \
                 OR (kind = 'trail' AND ((body::json) ->> 'commit') LIKE $2)) ORDER BY seq"
            }
        };
        let pattern = format!("{prefix}%");
        let rows = sqlx::query(query).bind(org).bind(pattern).fetch_all(&self.pool).await?;
        rows.iter().map(Self::entry).collect()
    }

    /// The entries of one kind, oldest first; with `subject_prefix`, only subjects starting with it.
    pub async fn entries_of_kind(
        &self,
        org: &str,
        kind: &str,
        subject_prefix: Option<&str>,
    ) -> Result<Vec<Entry>, LedgerError> {
        let rows = sqlx::query(
            "SELECT seq, org, kind, subject, body, recorded_at, prev_hash, hash FROM entries \
             WHERE org = $1 AND kind = $2 ORDER BY seq",
        )
        .bind(org)
        .bind(kind)
        .fetch_all(&self.pool)
        .await?;
        let entries: Vec<Entry> = rows.iter().map(Self::entry).collect::<Result<_, _>>()?;
        Ok(match subject_prefix {
            Some(prefix) => entries.into_iter().filter(|e| e.subject.starts_with(prefix)).collect(),
            None => entries,
        })
    }

    /// Recomputes the whole chain and compares it with the recorded head.
    ///
    /// The head is read first and the entries are read up to its sequence number: an append commits its
    /// entries and the head together, so every entry up to a committed head is there to read, and entries
    /// appended while the pages are read (beyond that head) are not part of this verification. Links are
    /// checked page by page and not kept, so memory does not grow with the ledger.
    pub async fn verify(&self) -> Result<ChainReport, LedgerError> {
        self.verify_with_progress(|_, _| {}).await
    }

    /// [`SqlLedger::verify`], calling `progress(entries checked, entries to check)` after each page, for a
    /// progress bar over a large ledger.
    pub async fn verify_with_progress(
        &self,
        mut progress: impl FnMut(i64, i64),
    ) -> Result<ChainReport, LedgerError> {
        let head = sqlx::query("SELECT seq, hash FROM chain_head WHERE id = 1").fetch_one(&self.pool).await?;
        let head_seq: i64 = head.try_get("seq")?;
        let head_hash: String = head.try_get("hash")?;
        // Entries are read a page at a time as one JSON array built by the database: one value per page
        // instead of eight per row, which is what reading 100,000 rows costs most. The body is hashed as
        // stored (canonical text), without parsing it: any change to it, even one that is still
        // equivalent JSON, changes the hash.
        let page_query = match self.backend {
            Backend::Sqlite => {
                "SELECT json_group_array(json_array(seq, org, kind, subject, body, recorded_at, prev_hash, hash)) \
                 AS page FROM (SELECT * FROM entries WHERE seq > $1 AND seq <= $3 ORDER BY seq LIMIT $2)"
            }
            Backend::Postgres => {
                "SELECT COALESCE(json_agg(json_build_array(seq, org, kind, subject, body, recorded_at, prev_hash, hash) \
                 ORDER BY seq), '[]')::text AS page FROM (SELECT * FROM entries WHERE seq > $1 AND seq <= $3 \
                 ORDER BY seq LIMIT $2) p"
            }
        };
        const PAGE: i64 = 5_000;
        let mut verifier = chain::ChainVerifier::default();
        let mut after = 0_i64;
        'pages: loop {
            let row =
                sqlx::query(page_query).bind(after).bind(PAGE).bind(head_seq).fetch_one(&self.pool).await?;
            let page: String = row.try_get("page")?;
            let rows: Vec<VerifyRow> = serde_json::from_str(&page)
                .map_err(|err| LedgerError::Corrupt { seq: after + 1, message: err.to_string() })?;
            let Some(last) = rows.last() else { break };
            let full = rows.len() as i64 == PAGE;
            after = last.0;
            for (seq, org, kind, subject, body, recorded_at, prev_hash, hash) in rows {
                let recomputed =
                    chain::entry_hash_canonical(&prev_hash, seq, &org, &kind, &subject, &body, &recorded_at);
                if !verifier.push(chain::Link { seq, prev_hash, hash, recomputed }) {
                    break 'pages;
                }
            }
            progress(after, head_seq);
            if !full {
                break;
            }
        }
        let report = verifier.finish(head_seq, &head_hash);
        if report.problem.is_some() {
            return Ok(report);
        }
        // Rows beyond the head read at the start are later appends, unless they lie beyond the head as it
        // is now: the highest row is read before the head, and a committed append moves both together.
        let highest: Option<i64> = sqlx::query("SELECT MAX(seq) AS highest FROM entries")
            .fetch_one(&self.pool)
            .await?
            .try_get("highest")?;
        let now: i64 = sqlx::query("SELECT seq FROM chain_head WHERE id = 1")
            .fetch_one(&self.pool)
            .await?
            .try_get("seq")?;
        match highest {
            Some(highest) if highest > now => {
                Ok(ChainReport { problem: Some(chain::ChainProblem::Modified { seq: now + 1 }), ..report })
            }
            _ => Ok(report),
        }
    }

    /// Every entry of `org` whose kind is one of `kinds`, oldest first, with bodies left as stored text:
    /// bulk reads (a whole org's trails for a snapshot evaluation) read ranges of the chain as one JSON
    /// array each, like `verify`, several ranges at once, and parse each body once, straight into its
    /// record type.
    pub async fn raw_entries(&self, org: &str, kinds: &[&'static str]) -> Result<Vec<RawEntry>, LedgerError> {
        let list: Vec<String> = kinds.iter().map(|k| format!("'{}'", k.replace('\'', "''"))).collect();
        let inner = format!(
            "SELECT seq, kind, subject, body, recorded_at, hash FROM entries \
             WHERE org = $1 AND kind IN ({}) AND seq > $2 AND seq <= $3",
            list.join(", ")
        );
        let query = match self.backend {
            Backend::Sqlite => format!(
                "SELECT json_group_array(json_array(seq, kind, subject, body, recorded_at, hash)) AS page \
                 FROM ({inner} ORDER BY seq)"
            ),
            Backend::Postgres => format!(
                "SELECT COALESCE(json_agg(json_build_array(seq, kind, subject, body, recorded_at, hash) ORDER BY seq), '[]')::text \
                 AS page FROM ({inner}) p"
            ),
        };
        // Ranges of the chain as it is now (later appends are not part of this read), read concurrently.
        const RANGE: i64 = 10_000;
        let head: i64 = sqlx::query("SELECT seq FROM chain_head WHERE id = 1")
            .fetch_one(&self.pool)
            .await?
            .try_get("seq")?;
        let ranges: Vec<(i64, i64)> =
            (0..head).step_by(RANGE as usize).map(|low| (low, (low + RANGE).min(head))).collect();
        let pages: Vec<Result<Vec<RawEntry>, LedgerError>> = stream::iter(ranges)
            .map(|(low, high)| {
                let pool = self.pool.clone();
                let query = query.clone();
                let org = org.to_owned();
                async move {
                    tokio::spawn(async move { raw_range(&pool, &query, &org, low, high).await })
                        .await
                        .map_err(|err| LedgerError::Invalid(format!("a bulk read failed: {err}")))?
                }
            })
            .buffered(4)
            .collect()
            .await;
        let mut entries = Vec::new();
        for page in pages {
            entries.extend(page?);
        }
        Ok(entries)
    }

    /// Runs a statement directly against the database: for tests that tamper with stored rows.
    #[doc(hidden)]
    pub async fn execute_raw(&self, statement: &str) -> Result<u64, LedgerError> {
        Ok(sqlx::query(sqlx::AssertSqlSafe(statement.to_owned())).execute(&self.pool).await?.rows_affected())
    }

    /// Closes the connections, waiting for them to finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_become_urls() {
        assert_eq!(
            connection_url("ledger.db").unwrap(),
            ("sqlite://ledger.db?mode=rwc".to_owned(), Backend::Sqlite)
        );
        assert_eq!(connection_url("sqlite:///tmp/l.db").unwrap().0, "sqlite:///tmp/l.db?mode=rwc");
        assert_eq!(connection_url("postgres://u@127.0.0.1:5/db").unwrap().1, Backend::Postgres);
        assert!(connection_url("mysql://x").is_err());
        assert!(connection_url("").is_err());
        assert!(connection_url("/no/such/dir/ledger.db").is_err());
    }

    #[test]
    fn embedded_files_are_found_in_every_spelling() {
        use std::path::PathBuf;
        assert_eq!(embedded_file("ledger.db"), Some(PathBuf::from("ledger.db")));
        assert_eq!(embedded_file("sqlite:///tmp/l.db?mode=rwc"), Some(PathBuf::from("/tmp/l.db")));
        assert_eq!(embedded_file("sqlite:l.db"), Some(PathBuf::from("l.db")));
        assert_eq!(embedded_file("sqlite::memory:"), None);
        assert_eq!(embedded_file("postgres://u@h/db"), None);
    }

    #[tokio::test]
    async fn a_file_that_is_not_a_database_is_invalid_not_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.txt");
        std::fs::write(&path, "these are my notes, not a ledger").unwrap();
        let error = SqlLedger::open(&path.display().to_string()).await.unwrap_err();
        assert!(matches!(error, LedgerError::InvalidLocation { .. }), "{error}");
        assert!(error.to_string().contains("not a verdict ledger"));
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "these are my notes, not a ledger",
            "left untouched"
        );
    }
}
