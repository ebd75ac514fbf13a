-- Workflows submitted through the Argo Server API without config_id/version_number run as
-- runs of one built-in config per project, marked ad_hoc: runs and run_metadata keep their
-- foreign key to a config version, so every reader of runs stays as it is.
ALTER TABLE config_heads ADD COLUMN ad_hoc BOOLEAN NOT NULL DEFAULT FALSE;
CREATE UNIQUE INDEX config_heads_one_ad_hoc ON config_heads (project_name) WHERE ad_hoc;
