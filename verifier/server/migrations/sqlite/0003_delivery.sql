-- Result delivery: where a decision is sent, the outbox it is sent from, webhook secret rotation,
-- and the append-only audit log.

-- A session's own callback URL (set when it is created), else its client's.
ALTER TABLE sessions ADD COLUMN callback_url TEXT;
ALTER TABLE api_clients ADD COLUMN callback_url TEXT;
-- While a secret rotates, the previous one signs too, until `previous_secret_until_ms`.
ALTER TABLE api_clients ADD COLUMN previous_webhook_secret TEXT;
ALTER TABLE api_clients ADD COLUMN previous_secret_until_ms INTEGER;

-- The outbox: one row per decision to deliver, written in the decision's own transaction. The
-- id is the `Verifier-Delivery-Id`, the same on every attempt; `body` is the exact bytes sent.
-- A worker claims a due row by setting `leased_until_ms` (a process killed mid-send leaves a
-- lease that runs out, and the row is taken again: at least once, under one id).
CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL UNIQUE REFERENCES sessions (id),
    client_id TEXT NOT NULL REFERENCES api_clients (id),
    url TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL,
    next_attempt_ms INTEGER NOT NULL,
    leased_until_ms INTEGER,
    last_attempt_ms INTEGER,
    last_status INTEGER,
    last_error TEXT,
    delivered_ms INTEGER
);
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_ms);
CREATE INDEX deliveries_client ON deliveries (client_id, status);

-- Every decision, delivery outcome and purge, never updated nor deleted. `detail` is JSON
-- without holder data (codes, ids, hashes, counts).
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms INTEGER NOT NULL,
    event TEXT NOT NULL,
    session_id TEXT,
    client_id TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX audit_log_session ON audit_log (session_id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
