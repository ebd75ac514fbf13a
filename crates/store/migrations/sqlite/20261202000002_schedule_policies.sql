-- Schedules an incremental pipeline can trust: what a due time does while a run is active,
-- how late it may start, and the pause after consecutive failures.
ALTER TABLE runtime_configs ADD COLUMN concurrency_policy TEXT NOT NULL DEFAULT 'Forbid'
    CHECK (concurrency_policy IN ('Forbid', 'Allow', 'Replace'));
ALTER TABLE runtime_configs ADD COLUMN starting_deadline_s INTEGER;
ALTER TABLE runtime_configs ADD COLUMN pause_after_failures INTEGER NOT NULL DEFAULT 3;
ALTER TABLE runtime_configs ADD COLUMN paused_at TEXT;
ALTER TABLE runtime_configs ADD COLUMN paused_reason TEXT;
ALTER TABLE runtime_configs ADD COLUMN paused_run_ids TEXT CHECK (json_valid(paused_run_ids));
-- Set by the scheduler's claim of a due time it launches, cleared once the run is registered
-- (or its launch failed): a second scheduler sees the launch in progress before the run exists.
ALTER TABLE runtime_configs ADD COLUMN launch_claimed_at TEXT;
-- The unfinished runs of a config, looked up at every claim.
CREATE INDEX runs_active_by_config ON runs (config_id, seq) WHERE final_phase IS NULL;
-- A run still going after this many seconds is overdue: channels subscribed to run_overdue are
-- told once (`runs.overdue_alerted_at` records it, claimed in SQL like a due time).
ALTER TABLE runtime_configs ADD COLUMN expected_duration_s INTEGER;
ALTER TABLE runs ADD COLUMN overdue_alerted_at TEXT;
