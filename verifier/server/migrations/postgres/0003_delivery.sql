-- Result delivery, secret rotation and the audit log (the PostgreSQL twin of sqlite/0003).
ALTER TABLE sessions ADD COLUMN callback_url TEXT;
ALTER TABLE api_clients ADD COLUMN callback_url TEXT;
ALTER TABLE api_clients ADD COLUMN previous_webhook_secret TEXT;
ALTER TABLE api_clients ADD COLUMN previous_secret_until_ms BIGINT;

CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL UNIQUE REFERENCES sessions (id),
    client_id TEXT NOT NULL REFERENCES api_clients (id),
    url TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts BIGINT NOT NULL DEFAULT 0,
    created_ms BIGINT NOT NULL,
    next_attempt_ms BIGINT NOT NULL,
    leased_until_ms BIGINT,
    last_attempt_ms BIGINT,
    last_status BIGINT,
    last_error TEXT,
    delivered_ms BIGINT
);
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_ms);
CREATE INDEX deliveries_client ON deliveries (client_id, status);

CREATE TABLE audit_log (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    event TEXT NOT NULL,
    session_id TEXT,
    client_id TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX audit_log_session ON audit_log (session_id);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
