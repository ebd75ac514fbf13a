-- Retention: what `polyphemus prune` (and serve's background pruning) may remove from a
-- project. No row, or NULL in a column, keeps that part forever: nothing is pruned by default.
CREATE TABLE retention_policies (
    project_name                  TEXT PRIMARY KEY REFERENCES projects (name),
    keep_runs_days                INTEGER CHECK (keep_runs_days >= 0),
    keep_output_days              INTEGER CHECK (keep_output_days >= 0),
    successful_runs_history_limit INTEGER CHECK (successful_runs_history_limit >= 0),
    failed_runs_history_limit     INTEGER CHECK (failed_runs_history_limit >= 0),
    updated_at                    TEXT NOT NULL
);

-- Deleting a run checks that no state-key row still refers to it: without this index, each
-- check would read every row of the table.
CREATE INDEX run_state_keys_by_run ON run_state_keys (run_seq);

-- When retention emptied the run's output (and removed its local run directory).
ALTER TABLE runs ADD COLUMN output_pruned_at TEXT;

-- Run metadata outlives its run: when retention deletes a run, what the orchestrator reported
-- about it (phase, times, failed nodes) stays, and with it the config's last success. SQLite
-- cannot drop a foreign key, so the table is rebuilt without the one on runs (nothing refers
-- to run_metadata, so dropping it checks nothing).
CREATE TABLE run_metadata_rebuilt (
    run_seq         INTEGER PRIMARY KEY,
    run_id          TEXT NOT NULL UNIQUE,
    config_id       INTEGER NOT NULL,
    version_number  INTEGER NOT NULL,
    phase           TEXT NOT NULL,
    started_at      TEXT,
    finished_at     TEXT,
    message         TEXT,
    nodes           TEXT NOT NULL CHECK (json_valid(nodes)),
    duration_s      REAL,
    retries         INTEGER NOT NULL,
    failed_nodes    TEXT NOT NULL CHECK (json_valid(failed_nodes)),
    updated_at      TEXT NOT NULL,
    FOREIGN KEY (config_id, version_number) REFERENCES configs (config_id, version_number)
);
INSERT INTO run_metadata_rebuilt (run_seq, run_id, config_id, version_number, phase, started_at,
    finished_at, message, nodes, duration_s, retries, failed_nodes, updated_at)
SELECT run_seq, run_id, config_id, version_number, phase, started_at, finished_at, message,
    nodes, duration_s, retries, failed_nodes, updated_at
FROM run_metadata;
DROP TABLE run_metadata;
ALTER TABLE run_metadata_rebuilt RENAME TO run_metadata;
CREATE INDEX run_metadata_successes ON run_metadata (config_id, finished_at) WHERE phase = 'Succeeded';
