-- Which model files each process ran with: decisions cite model versions, and this table lets
-- an auditor tie a process start to the exact (SHA-256) models it used.
CREATE TABLE model_loads (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    process_started_at TEXT NOT NULL,
    name TEXT NOT NULL,
    file TEXT NOT NULL,
    sha256 TEXT NOT NULL
);
CREATE INDEX model_loads_started ON model_loads (process_started_at);
