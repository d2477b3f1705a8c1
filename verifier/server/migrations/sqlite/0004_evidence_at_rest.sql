-- Evidence at rest: each crop sealed with AES-256-GCM under a key named by `key_id`, with its
-- own nonce (rows written before this migration have neither and hold plain JPEG).
ALTER TABLE evidence ADD COLUMN key_id TEXT;
ALTER TABLE evidence ADD COLUMN nonce BLOB;
-- When a session's crops were purged (retention, or the subject's request); the decision, its
-- reasons and the crops' hashes stay.
ALTER TABLE sessions ADD COLUMN evidence_purged_at TEXT;
