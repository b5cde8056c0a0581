-- The `policy` role (DESIGN.md rule 12): who may change what is enforced is not who records evidence.
-- SQLite cannot change a CHECK constraint in place, so the table is rebuilt with the same rows.
CREATE TABLE api_tokens_with_policy_role (
    id          TEXT PRIMARY KEY,
    org         TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('read', 'write', 'policy', 'admin')),
    token_hash  TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);
INSERT INTO api_tokens_with_policy_role (id, org, role, token_hash, description, created_at, revoked_at)
    SELECT id, org, role, token_hash, description, created_at, revoked_at FROM api_tokens;
DROP TABLE api_tokens;
ALTER TABLE api_tokens_with_policy_role RENAME TO api_tokens;
