-- Evidence at rest (the PostgreSQL twin of sqlite/0004).
ALTER TABLE evidence ADD COLUMN key_id TEXT;
ALTER TABLE evidence ADD COLUMN nonce BYTEA;
ALTER TABLE sessions ADD COLUMN evidence_purged_at TEXT;
