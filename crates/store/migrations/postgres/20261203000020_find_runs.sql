-- Finding any run of a project: its runs newest first, and a run by its workflow name.
CREATE INDEX runs_by_project ON runs (project_name, seq);
CREATE INDEX runs_by_name ON runs (project_name, name);
-- A uid prefix is a range in byte order, whatever the database's collation.
CREATE INDEX runs_by_run_id_bytes ON runs ((run_id COLLATE "C"));
