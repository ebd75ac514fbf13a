-- Run params: what one run was launched with (a backfill's window), laid over the config's
-- runtime params when a job reads them.
ALTER TABLE runs ADD COLUMN params TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(params));

-- A backfill launches one run per window of [from_time, to_time), one after another.
-- `next_window` is the first window not yet succeeded; `current_run_id` its run while one is
-- launched (no foreign key: retention may delete runs, the backfill keeps its history).
CREATE TABLE backfills (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    project_name      TEXT NOT NULL REFERENCES projects (name),
    config_id         INTEGER NOT NULL REFERENCES config_heads (config_id),
    from_time         TEXT NOT NULL,
    to_time           TEXT NOT NULL,
    every_s           INTEGER NOT NULL CHECK (every_s > 0),
    windows           INTEGER NOT NULL CHECK (windows > 0),
    next_window       INTEGER NOT NULL DEFAULT 0 CHECK (next_window >= 0 AND next_window <= windows),
    state             TEXT NOT NULL CHECK (state IN ('running', 'stopped', 'done', 'failed')),
    current_run_id    TEXT,
    reason            TEXT,
    -- Set by the scheduler that claimed the next window, cleared once its run is recorded:
    -- a second scheduler sees the launch in progress before the run exists.
    launch_claimed_at TEXT,
    created_by        TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);
CREATE INDEX backfills_by_config ON backfills (config_id, id);
-- At most one running backfill per config; the second is refused by this index.
CREATE UNIQUE INDEX backfills_one_running ON backfills (config_id) WHERE state = 'running';

-- Every run a backfill launched, by window (a retried window has several).
CREATE TABLE backfill_runs (
    backfill_id  INTEGER NOT NULL REFERENCES backfills (id),
    window_index INTEGER NOT NULL,
    run_id       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (backfill_id, window_index, run_id)
);
