-- A run's state is one row per (run, key) in run_state_keys, no longer a JSON document on the
-- run: a merge writes only the keys it merges, so its cost does not grow with the state held,
-- and previous_state reads the value from the index row it already scans.
ALTER TABLE run_state_keys ADD COLUMN value TEXT NOT NULL DEFAULT 'null' CHECK (json_valid(value));

INSERT INTO run_state_keys (config_id, key, run_seq, value)
SELECT r.config_id, e.key, r.seq, r.state -> e.fullkey FROM runs r, json_each(r.state) e WHERE true
ON CONFLICT (config_id, key, run_seq) DO UPDATE SET value = excluded.value;

ALTER TABLE runs DROP COLUMN state;
