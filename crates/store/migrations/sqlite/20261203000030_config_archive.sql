-- An archived config: hidden from the status list, never claimed by the scheduler, not
-- launched; its versions and runs are kept. NULL while it is not archived.
ALTER TABLE config_heads ADD COLUMN archived_at TEXT;
