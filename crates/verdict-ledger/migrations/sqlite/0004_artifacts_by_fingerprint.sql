-- "Where was this fingerprint reported?" (an artifact's contexts) without scanning every artifact entry.
CREATE INDEX artifacts_by_fingerprint ON entries (org, json_extract(body, '$.fingerprint')) WHERE kind = 'artifact';
