-- A run's end is recorded once, on the run itself: `final_phase` is set in the transaction that
-- stores a final phase in run_metadata, and state/output writes check it in their own UPDATE.
-- Being a column of the row they update (not a subquery), the check is re-evaluated after a
-- concurrent final sync's row lock is released, so a racing write cannot land after it.
ALTER TABLE runs ADD COLUMN final_phase TEXT;
UPDATE runs SET final_phase = m.phase FROM run_metadata m
WHERE m.run_seq = runs.seq AND m.phase IN ('Succeeded', 'Failed', 'Error');

-- The run a task token was minted for (NULL for user tokens and project task tokens): it is
-- revoked in the transaction that records the run's final phase.
ALTER TABLE tokens ADD COLUMN run_id TEXT;
UPDATE tokens SET run_id = scope ->> 'run_id' WHERE kind = 'task';
CREATE INDEX tokens_by_run ON tokens (run_id) WHERE run_id IS NOT NULL;

-- Tokens of runs that ended before this migration end now.
UPDATE tokens SET revoked_at = now()
WHERE revoked_at IS NULL
  AND run_id IN (SELECT run_id FROM runs WHERE final_phase IS NOT NULL);
