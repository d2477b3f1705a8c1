-- API clients (letter services) and their verification sessions.
--
-- API keys and capture tokens are stored only as SHA-256 hashes: both are 256-bit random
-- strings, so a hash lookup is as strong as a slow password hash and keeps the lookup indexed.
-- The webhook secret must sign deliveries, so it is kept as issued (the result-delivery issue
-- encrypts it at rest with the evidence key).
CREATE TABLE api_clients (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    key_sha256 TEXT NOT NULL UNIQUE,
    webhook_secret TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- One row per verification session. `expected_identity` and `decision` are JSON documents
-- (holder data: never logged). Status moves created -> capturing -> decided | expired.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES api_clients (id),
    purpose TEXT NOT NULL,
    reference TEXT NOT NULL,
    expected_identity TEXT,
    token_sha256 TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL CHECK (status IN ('created', 'capturing', 'decided', 'expired')),
    created_at TEXT NOT NULL,
    -- Unix milliseconds: the token must be opened before `open_by`; once opened, the capture
    -- must end before `capture_until`.
    open_by_ms INTEGER NOT NULL,
    capture_until_ms INTEGER,
    decided_at TEXT,
    outcome TEXT,
    decision TEXT
);
CREATE INDEX sessions_client ON sessions (client_id, created_at);
CREATE INDEX sessions_status ON sessions (status);

-- The few evidence crops a decision keeps (document, portrait, one live face); every other
-- frame is dropped once analysed. Encryption at rest and retention come with result delivery.
CREATE TABLE evidence (
    session_id TEXT NOT NULL REFERENCES sessions (id),
    kind TEXT NOT NULL CHECK (kind IN ('document', 'portrait', 'face')),
    sha256 TEXT NOT NULL,
    media_type TEXT NOT NULL,
    bytes BLOB NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (session_id, kind)
);
