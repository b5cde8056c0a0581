-- The ledger is one append-only table of entries, each chained to the one before it.
CREATE TABLE entries (
    seq         BIGINT  PRIMARY KEY,
    org         TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    recorded_at TEXT    NOT NULL,
    prev_hash   TEXT    NOT NULL,
    hash        TEXT    NOT NULL UNIQUE
);
CREATE INDEX entries_by_subject ON entries (org, kind, subject);

-- The head of the chain. Every append updates this one row first, which takes its row lock and so
-- serialises appends in the database, across every server process sharing it.
CREATE TABLE chain_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT  NOT NULL,
    hash TEXT    NOT NULL
);
INSERT INTO chain_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
