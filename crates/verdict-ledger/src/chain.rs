//! The hash chain: `hash = sha256(prev_hash ‖ canonical entry)`, and its verification.

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One ledger entry as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    /// Position in the chain, from 1, without gaps.
    pub seq: i64,
    /// The organisation the entry belongs to.
    pub org: String,
    /// What kind of record it is (`flow`, `trail`, `artifact`, `attestation`, …).
    pub kind: String,
    /// What it is about (`flow`, `flow/trail`, …).
    pub subject: String,
    /// The record itself.
    pub body: Value,
    /// When it was recorded (RFC 3339, UTC).
    pub recorded_at: String,
    /// The hash of the entry before it ([`GENESIS`] for the first).
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
}

/// JSON with object keys sorted at every level and no insignificant white space, so one value always
/// encodes to the same bytes.
pub fn canonical_json(value: &Value) -> String {
    // Written into one buffer with serde_json's own escaping; snapshot evaluations run to megabytes,
    // so no intermediate strings.
    fn write(value: &Value, out: &mut Vec<u8>) {
        match value {
            Value::Object(map) => {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
                out.push(b'{');
                for (index, (key, item)) in entries.into_iter().enumerate() {
                    if index > 0 {
                        out.push(b',');
                    }
                    // Writing a string or a scalar into a Vec cannot fail.
                    let _ = serde_json::to_writer(&mut *out, key);
                    out.push(b':');
                    write(item, out);
                }
                out.push(b'}');
            }
            Value::Array(items) => {
                out.push(b'[');
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        out.push(b',');
                    }
                    write(item, out);
                }
                out.push(b']');
            }
            scalar => {
                let _ = serde_json::to_writer(&mut *out, scalar);
            }
        }
    }
    let mut out = Vec::new();
    write(value, &mut out);
    // serde_json writes UTF-8 only.
    String::from_utf8(out).unwrap_or_default()
}

/// The hash of an entry with these fields, chained to `prev_hash`.
pub fn entry_hash(
    prev_hash: &str,
    seq: i64,
    org: &str,
    kind: &str,
    subject: &str,
    body: &Value,
    recorded_at: &str,
) -> String {
    entry_hash_canonical(prev_hash, seq, org, kind, subject, &canonical_json(body), recorded_at)
}

/// [`entry_hash`] with the body already in canonical form (as the store keeps it), so verification
/// hashes stored text without parsing it. The canonical entry is the object
/// `{"body","kind","org","recorded_at","seq","subject"}` with its keys in that (sorted) order.
pub fn entry_hash_canonical(
    prev_hash: &str,
    seq: i64,
    org: &str,
    kind: &str,
    subject: &str,
    canonical_body: &str,
    recorded_at: &str,
) -> String {
    // Fed to the hasher piece by piece: verification hashes every entry, so no intermediate string.
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(b"{\"body\":");
    hasher.update(canonical_body.as_bytes());
    for (key, text) in [("kind", kind), ("org", org), ("recorded_at", recorded_at)] {
        hasher.update(b",\"");
        hasher.update(key.as_bytes());
        hasher.update(b"\":");
        update_quoted(&mut hasher, text);
    }
    hasher.update(b",\"seq\":");
    hasher.update(seq.to_string().as_bytes());
    hasher.update(b",\"subject\":");
    update_quoted(&mut hasher, subject);
    hasher.update(b"}");
    hex::encode(hasher.finalize())
}

/// Feeds `text` as a JSON string (serde_json's escaping) to the hasher.
fn update_quoted(hasher: &mut Sha256, text: &str) {
    if text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\' && b < 0x7f) {
        hasher.update(b"\"");
        hasher.update(text.as_bytes());
        hasher.update(b"\"");
    } else {
        hasher.update(Value::String(text.to_owned()).to_string().as_bytes());
    }
}

/// One link of the chain as verification sees it: where it is, what it claims, and its recomputed hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The entry's position.
    pub seq: i64,
    /// The stored previous hash.
    pub prev_hash: String,
    /// The stored hash.
    pub hash: String,
    /// The hash recomputed from the stored content.
    pub recomputed: String,
}

impl From<&Entry> for Link {
    fn from(entry: &Entry) -> Self {
        Link {
            seq: entry.seq,
            prev_hash: entry.prev_hash.clone(),
            hash: entry.hash.clone(),
            recomputed: entry_hash(
                &entry.prev_hash,
                entry.seq,
                &entry.org,
                &entry.kind,
                &entry.subject,
                &entry.body,
                &entry.recorded_at,
            ),
        }
    }
}

/// What is wrong with the chain, at the first entry where it breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum ChainProblem {
    /// The entry's content no longer matches its hash: it was modified.
    Modified {
        /// The entry.
        seq: i64,
    },
    /// The entry does not follow the one before it: it was reordered, or an entry before it was replaced.
    Unlinked {
        /// The entry.
        seq: i64,
    },
    /// An entry is missing: the chain jumps from one position to a later one.
    Deleted {
        /// The position of the first missing entry.
        seq: i64,
    },
    /// Entries at the end of the chain are missing: the recorded head is further on.
    Truncated {
        /// The position of the first missing entry.
        seq: i64,
        /// How many entries the head says there are.
        head_seq: i64,
    },
}

impl std::fmt::Display for ChainProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChainProblem::Modified { seq } => {
                write!(f, "entry {seq} was modified: its content does not match its hash")
            }
            ChainProblem::Unlinked { seq } => {
                write!(f, "entry {seq} does not follow entry {}: entries were reordered or replaced", seq - 1)
            }
            ChainProblem::Deleted { seq } => {
                write!(f, "entry {seq} was deleted: the chain skips from {} to a later entry", seq - 1)
            }
            ChainProblem::Truncated { seq, head_seq } => {
                write!(f, "entries {seq} to {head_seq} were deleted: the chain ends before its recorded head")
            }
        }
    }
}

/// The outcome of verifying the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ChainReport {
    /// How many entries were checked.
    pub count: i64,
    /// The hash of the last valid entry ([`GENESIS`] for an empty ledger).
    pub head_hash: String,
    /// The first problem, if any.
    pub problem: Option<ChainProblem>,
}

/// Checks links one at a time, in `seq` order, holding only the last hash: a chain of any length is
/// verified in constant memory.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    previous: String,
    count: i64,
    problem: Option<ChainProblem>,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        ChainVerifier { previous: GENESIS.to_owned(), count: 0, problem: None }
    }
}

impl ChainVerifier {
    /// Checks the next link; false once a problem was found (later links are then ignored).
    pub fn push(&mut self, link: Link) -> bool {
        if self.problem.is_some() {
            return false;
        }
        let expected_seq = self.count + 1;
        self.problem = if link.seq != expected_seq {
            Some(ChainProblem::Deleted { seq: expected_seq })
        } else if link.prev_hash != self.previous {
            Some(ChainProblem::Unlinked { seq: link.seq })
        } else if link.recomputed != link.hash {
            Some(ChainProblem::Modified { seq: link.seq })
        } else {
            None
        };
        if self.problem.is_some() {
            return false;
        }
        self.previous = link.hash;
        self.count += 1;
        true
    }

    /// The report, comparing the links seen with the recorded head.
    pub fn finish(self, head_seq: i64, head_hash: &str) -> ChainReport {
        let ChainVerifier { previous, count, problem } = self;
        if problem.is_some() {
            return ChainReport { count, head_hash: previous, problem };
        }
        let problem = if head_seq > count {
            Some(ChainProblem::Truncated { seq: count + 1, head_seq })
        } else if head_seq < count || head_hash != previous {
            // The head row itself was edited.
            Some(ChainProblem::Modified { seq: head_seq.max(count) })
        } else {
            None
        };
        ChainReport { count, head_hash: previous, problem }
    }
}

/// Checks links (in `seq` order) against each other and against the recorded head.
pub fn verify(links: impl IntoIterator<Item = Link>, head_seq: i64, head_hash: &str) -> ChainReport {
    let mut verifier = ChainVerifier::default();
    for link in links {
        if !verifier.push(link) {
            break;
        }
    }
    verifier.finish(head_seq, head_hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<Entry> {
        let mut previous = GENESIS.to_owned();
        (1..=n)
            .map(|seq| {
                let body = serde_json::json!({"name": format!("flow-{seq}"), "tags": {"b": 1, "a": 2}});
                let at = "2026-11-22T00:00:00Z";
                let hash = entry_hash(&previous, seq, "acme", "flow", "f", &body, at);
                let entry = Entry {
                    seq,
                    org: "acme".into(),
                    kind: "flow".into(),
                    subject: "f".into(),
                    body,
                    recorded_at: at.into(),
                    prev_hash: previous.clone(),
                    hash: hash.clone(),
                };
                previous = hash;
                entry
            })
            .collect()
    }

    /// The canonical entry written out as one JSON object, as docs/evidence-format.md defines it: an
    /// independent statement of the hash that the streaming hasher must match.
    fn reference_hash(
        prev: &str,
        seq: i64,
        org: &str,
        kind: &str,
        subject: &str,
        body: &str,
        at: &str,
    ) -> String {
        let q = |t: &str| Value::String(t.to_owned()).to_string();
        let text = format!(
            "{{\"body\":{body},\"kind\":{},\"org\":{},\"recorded_at\":{},\"seq\":{seq},\"subject\":{}}}",
            q(kind),
            q(org),
            q(at),
            q(subject)
        );
        hex::encode(Sha256::digest(format!("{prev}{text}").as_bytes()))
    }

    #[test]
    fn streaming_hash_matches_the_written_out_entry() {
        let cases = [
            ("acme", "flow", "backend", "2026-11-22T00:00:00Z"),
            ("a\"cme", "trail", "back\\end/t\n1", "2026-11-22T00:00:00.123456789Z"),
            ("été", "attestation", "flow/\u{7f}\u{1}", "x"),
        ];
        for (org, kind, subject, at) in cases {
            for seq in [1, 42, i64::MAX] {
                assert_eq!(
                    entry_hash_canonical(GENESIS, seq, org, kind, subject, r#"{"a":1}"#, at),
                    reference_hash(GENESIS, seq, org, kind, subject, r#"{"a":1}"#, at),
                    "{org} {kind} {subject}"
                );
            }
        }
        // A fixed golden (computed with Python's hashlib), so a change to the hashed form cannot pass
        // unnoticed.
        assert_eq!(
            entry_hash_canonical(
                GENESIS,
                1,
                "acme",
                "flow",
                "backend",
                r#"{"name":"backend"}"#,
                "2026-11-22T00:00:00Z"
            ),
            "c55c8b98dbaee02cf848a0c4d99a1f31cc66d20777819dfad3964df5a52e2fea"
        );
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let value = serde_json::json!({"b": [{"z": 1, "y": null}], "a": "x\"y"});
        assert_eq!(canonical_json(&value), r#"{"a":"x\"y","b":[{"y":null,"z":1}]}"#);
        // Escapes, non-ASCII, control characters and numbers as serde_json writes them (the form
        // hashed into every existing entry).
        let value = serde_json::json!({"é\u{1}": ["\\", "\n\t", 1.5, -0.0, 12345678901234567i64, true, null], "Z": {}, "a": []});
        assert_eq!(
            canonical_json(&value),
            "{\"Z\":{},\"a\":[],\"é\\u0001\":[\"\\\\\",\"\\n\\t\",1.5,-0.0,12345678901234567,true,null]}"
        );
    }

    #[test]
    fn an_intact_chain_verifies() {
        let entries = chain(5);
        let head = entries.last().unwrap().hash.clone();
        let report = verify(entries.iter().map(Link::from), 5, &head);
        assert_eq!((report.count, report.problem, report.head_hash), (5, None, head));
        assert_eq!(verify(Vec::new(), 0, GENESIS).problem, None);
        // Hashing stored canonical text gives the same hash as hashing the value.
        let entry = &chain(1)[0];
        assert_eq!(
            entry_hash_canonical(
                GENESIS,
                1,
                "acme",
                "flow",
                "f",
                &canonical_json(&entry.body),
                &entry.recorded_at
            ),
            entry.hash
        );
    }

    #[test]
    fn every_kind_of_tampering_is_named_at_its_entry() {
        let head = |e: &[Entry]| e.last().unwrap().hash.clone();
        let mut modified = chain(5);
        modified[2].body["name"] = serde_json::json!("evil");
        assert_eq!(
            verify(modified.iter().map(Link::from), 5, &head(&modified)).problem,
            Some(ChainProblem::Modified { seq: 3 })
        );

        let mut deleted = chain(5);
        deleted.remove(1);
        let h = head(&deleted);
        assert_eq!(
            verify(deleted.iter().map(Link::from), 5, &h).problem,
            Some(ChainProblem::Deleted { seq: 2 })
        );

        let mut reordered = chain(5);
        reordered.swap(1, 2);
        let (a, b) = (reordered[1].seq, reordered[2].seq);
        reordered[1].seq = b;
        reordered[2].seq = a;
        let h = head(&reordered);
        assert_eq!(
            verify(reordered.iter().map(Link::from), 5, &h).problem,
            Some(ChainProblem::Unlinked { seq: 2 })
        );

        let truncated = chain(3);
        assert_eq!(
            verify(truncated.iter().map(Link::from), 5, "x").problem,
            Some(ChainProblem::Truncated { seq: 4, head_seq: 5 })
        );

        let intact = chain(3);
        assert_eq!(
            verify(intact.iter().map(Link::from), 3, GENESIS).problem,
            Some(ChainProblem::Modified { seq: 3 })
        );
    }
}
