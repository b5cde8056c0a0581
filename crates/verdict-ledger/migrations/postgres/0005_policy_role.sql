-- The `policy` role (DESIGN.md rule 12): who may change what is enforced is not who records evidence.
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_role_check CHECK (role IN ('read', 'write', 'policy', 'admin'));
