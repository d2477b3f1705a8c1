-- Which model files each process ran with (the PostgreSQL twin of sqlite/0001).
CREATE TABLE model_loads (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    process_started_at TEXT NOT NULL,
    name TEXT NOT NULL,
    file TEXT NOT NULL,
    sha256 TEXT NOT NULL
);
CREATE INDEX model_loads_started ON model_loads (process_started_at);
