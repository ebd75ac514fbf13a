-- A run's output is what its jobs appended, then (once it ended) its steps' logs. The length
-- of the appended part is kept so that a later final sync replaces only the logs after it.
ALTER TABLE runs ADD COLUMN api_output_bytes BIGINT;
