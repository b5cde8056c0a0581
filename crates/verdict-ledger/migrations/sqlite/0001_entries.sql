-- The ledger is one append-only table of entries, each chained to the one before it.
CREATE TABLE entries (
    seq         INTEGER PRIMARY KEY,
    org         TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    recorded_at TEXT    NOT NULL,
    prev_hash   TEXT    NOT NULL,
    hash        TEXT    NOT NULL UNIQUE
);
CREATE INDEX entries_by_subject ON entries (org, kind, subject);

-- The head of the chain. Every append updates this one row first, which serialises appends in the
-- database (SQLite's write lock), not in any one process.
CREATE TABLE chain_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT    NOT NULL
);
INSERT INTO chain_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
