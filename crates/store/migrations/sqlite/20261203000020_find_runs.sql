-- Finding any run of a project: its runs newest first, and a run by its workflow name.
-- A uid prefix uses the UNIQUE index on run_id (binary collation, so a range is a prefix).
CREATE INDEX runs_by_project ON runs (project_name, seq);
CREATE INDEX runs_by_name ON runs (project_name, name);
