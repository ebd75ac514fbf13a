-- Polyphemus schema (SQLite). JSON is TEXT; timestamps are RFC 3339 TEXT written by the application.

CREATE TABLE projects (
    name        TEXT PRIMARY KEY,
    created_at  TEXT NOT NULL
);

CREATE TABLE config_heads (
    config_id       INTEGER PRIMARY KEY AUTOINCREMENT,
    project_name    TEXT NOT NULL REFERENCES projects (name),
    workflow_type   TEXT NOT NULL,
    latest_version  INTEGER NOT NULL,
    created_at      TEXT NOT NULL
);
CREATE INDEX config_heads_by_project ON config_heads (project_name, config_id);

CREATE TABLE configs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    config_id       INTEGER NOT NULL REFERENCES config_heads (config_id),
    version_number  INTEGER NOT NULL,
    project_name    TEXT NOT NULL,
    workflow_type   TEXT NOT NULL,
    workflow_name   TEXT NOT NULL,
    config          TEXT NOT NULL CHECK (json_valid(config)),
    secrets         TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(secrets)),
    comment         TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    CONSTRAINT configs_version_key UNIQUE (config_id, version_number)
);

CREATE TABLE runtime_configs (
    config_id       INTEGER PRIMARY KEY REFERENCES config_heads (config_id),
    run_interval_s  INTEGER,
    cron            TEXT,
    timezone        TEXT,
    disabled        BOOLEAN NOT NULL DEFAULT FALSE,
    config          TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(config)),
    next_run_at     TEXT,
    updated_at      TEXT NOT NULL
);
CREATE INDEX runtime_configs_due ON runtime_configs (next_run_at) WHERE NOT disabled;

CREATE TABLE runs (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id          TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    project_name    TEXT NOT NULL,
    config_id       INTEGER NOT NULL,
    version_number  INTEGER NOT NULL,
    state           TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(state)),
    output          TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    FOREIGN KEY (config_id, version_number) REFERENCES configs (config_id, version_number)
);
CREATE INDEX runs_by_config ON runs (config_id, seq);

CREATE TABLE run_state_keys (
    config_id   INTEGER NOT NULL,
    key         TEXT NOT NULL,
    run_seq     INTEGER NOT NULL REFERENCES runs (seq),
    PRIMARY KEY (config_id, key, run_seq)
) WITHOUT ROWID;

CREATE TABLE run_metadata (
    run_seq         INTEGER PRIMARY KEY REFERENCES runs (seq),
    run_id          TEXT NOT NULL UNIQUE,
    config_id       INTEGER NOT NULL,
    version_number  INTEGER NOT NULL,
    phase           TEXT NOT NULL,
    started_at      TEXT,
    finished_at     TEXT,
    message         TEXT,
    nodes           TEXT NOT NULL CHECK (json_valid(nodes)),
    duration_s      REAL,
    retries         INTEGER NOT NULL,
    failed_nodes    TEXT NOT NULL CHECK (json_valid(failed_nodes)),
    updated_at      TEXT NOT NULL,
    FOREIGN KEY (config_id, version_number) REFERENCES configs (config_id, version_number)
);
CREATE INDEX run_metadata_successes ON run_metadata (config_id, finished_at) WHERE phase = 'Succeeded';

CREATE TABLE logs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    at              TEXT NOT NULL,
    project_name    TEXT NOT NULL,
    actor           TEXT NOT NULL,
    action          TEXT NOT NULL,
    config_id       INTEGER,
    version_number  INTEGER,
    run_id          TEXT,
    detail          TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(detail))
);
CREATE INDEX logs_by_project ON logs (project_name, id);
CREATE INDEX logs_by_config ON logs (config_id, id);

CREATE TABLE tokens (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    scope       TEXT NOT NULL CHECK (json_valid(scope)),
    created_at  TEXT NOT NULL,
    expires_at  TEXT,
    revoked_at  TEXT
);
