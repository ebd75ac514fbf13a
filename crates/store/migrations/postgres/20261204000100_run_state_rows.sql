-- A run's state is one row per (run, key) in run_state_keys, no longer a JSON document on the
-- run: a merge writes only the keys it merges, so its cost does not grow with the state held,
-- and previous_state reads the value from the index row it already scans.
ALTER TABLE run_state_keys ADD COLUMN value JSONB NOT NULL DEFAULT 'null';

INSERT INTO run_state_keys (config_id, key, run_seq, value)
SELECT r.config_id, e.key, r.seq, e.value FROM runs r CROSS JOIN LATERAL jsonb_each(r.state) e
ON CONFLICT (config_id, key, run_seq) DO UPDATE SET value = EXCLUDED.value;

ALTER TABLE run_state_keys ALTER COLUMN value DROP DEFAULT;
ALTER TABLE runs DROP COLUMN state;
