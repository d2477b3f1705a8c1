-- The PostgreSQL twin of sqlite/0005.
-- Idempotency keys of POST /v1/sessions: the first request with a client's key creates the
-- session; a retry with the same key and the same request gets the same answer back. The answer
-- holds the capture link (a credential), so it is sealed like the evidence (AES-256-GCM under
-- `key_id`). Rows older than [server].idempotency_hours are deleted by the retention job.
CREATE TABLE idempotency_keys (
    client_id TEXT NOT NULL REFERENCES api_clients (id),
    idempotency_key TEXT NOT NULL,
    request_sha256 TEXT NOT NULL,
    session_id TEXT NOT NULL REFERENCES sessions (id),
    key_id TEXT NOT NULL,
    nonce BYTEA NOT NULL,
    response BYTEA NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (client_id, idempotency_key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_ms);
