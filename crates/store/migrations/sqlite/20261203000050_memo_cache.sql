-- The caches of `memoize` templates (Argo keeps them in ConfigMaps): one entry per project,
-- cache name and key with the outputs of the node that stored it and when (`maxAge` counts
-- from `created_at`); a save replaces the entry whole, a hit stamps `last_hit_at`.
CREATE TABLE memo_cache_entries (
    project_name  TEXT NOT NULL,
    cache_name    TEXT NOT NULL,
    cache_key     TEXT NOT NULL,
    node_id       TEXT NOT NULL,
    outputs       TEXT NOT NULL CHECK (json_valid(outputs)),
    created_at    TEXT NOT NULL,
    last_hit_at   TEXT,
    PRIMARY KEY (project_name, cache_name, cache_key)
) WITHOUT ROWID;
