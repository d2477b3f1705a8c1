-- API clients and their verification sessions (the PostgreSQL twin of sqlite/0002: the same
-- columns, BIGINT for every integer, BYTEA for bytes).
CREATE TABLE api_clients (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    key_sha256 TEXT NOT NULL UNIQUE,
    webhook_secret TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES api_clients (id),
    purpose TEXT NOT NULL,
    reference TEXT NOT NULL,
    expected_identity TEXT,
    token_sha256 TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL CHECK (status IN ('created', 'capturing', 'decided', 'expired')),
    created_at TEXT NOT NULL,
    open_by_ms BIGINT NOT NULL,
    capture_until_ms BIGINT,
    decided_at TEXT,
    outcome TEXT,
    decision TEXT
);
CREATE INDEX sessions_client ON sessions (client_id, created_at);
CREATE INDEX sessions_status ON sessions (status);

CREATE TABLE evidence (
    session_id TEXT NOT NULL REFERENCES sessions (id),
    kind TEXT NOT NULL CHECK (kind IN ('document', 'portrait', 'face')),
    sha256 TEXT NOT NULL,
    media_type TEXT NOT NULL,
    bytes BYTEA NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (session_id, kind)
);
