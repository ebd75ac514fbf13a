-- Retention: what `polyphemus prune` (and serve's background pruning) may remove from a
-- project. No row, or NULL in a column, keeps that part forever: nothing is pruned by default.
CREATE TABLE retention_policies (
    project_name                  TEXT PRIMARY KEY REFERENCES projects (name),
    keep_runs_days                INTEGER CHECK (keep_runs_days >= 0),
    keep_output_days              INTEGER CHECK (keep_output_days >= 0),
    successful_runs_history_limit INTEGER CHECK (successful_runs_history_limit >= 0),
    failed_runs_history_limit     INTEGER CHECK (failed_runs_history_limit >= 0),
    updated_at                    TIMESTAMPTZ NOT NULL
);

-- Deleting a run checks that no state-key row still refers to it: without this index, each
-- check would read every row of the table.
CREATE INDEX run_state_keys_by_run ON run_state_keys (run_seq);

-- When retention emptied the run's output (and removed its local run directory).
ALTER TABLE runs ADD COLUMN output_pruned_at TIMESTAMPTZ;

-- Run metadata outlives its run: when retention deletes a run, what the orchestrator reported
-- about it (phase, times, failed nodes) stays, and with it the config's last success.
ALTER TABLE run_metadata DROP CONSTRAINT run_metadata_run_seq_fkey;
