-- API tokens of `verdict server`: bound to one org with a role, stored as SHA-256 of the token only.
CREATE TABLE api_tokens (
    id          TEXT PRIMARY KEY,
    org         TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('read', 'write', 'admin')),
    token_hash  TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);

-- Attestation attachments, stored once per org under the SHA-256 of their content. Attestation entries
-- carry the hash, so the chain covers them.
CREATE TABLE attachments (
    org       TEXT   NOT NULL,
    sha256    TEXT   NOT NULL,
    size      BIGINT NOT NULL,
    content   BLOB   NOT NULL,
    stored_at TEXT   NOT NULL,
    PRIMARY KEY (org, sha256)
);
