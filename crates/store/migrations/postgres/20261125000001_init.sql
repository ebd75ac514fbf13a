-- Polyphemus schema (PostgreSQL). Timestamps are written by the application.

CREATE TABLE projects (
    name        TEXT PRIMARY KEY,
    created_at  TIMESTAMPTZ NOT NULL
);

-- One row per config_id: allocates config ids and serialises version creation
-- (UPDATE ... latest_version + 1 takes the row lock).
CREATE TABLE config_heads (
    config_id       BIGSERIAL PRIMARY KEY,
    project_name    TEXT NOT NULL REFERENCES projects (name),
    workflow_type   TEXT NOT NULL,
    latest_version  INTEGER NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX config_heads_by_project ON config_heads (project_name, config_id);

CREATE TABLE configs (
    id              BIGSERIAL PRIMARY KEY,
    config_id       BIGINT NOT NULL REFERENCES config_heads (config_id),
    version_number  INTEGER NOT NULL,
    project_name    TEXT NOT NULL,
    workflow_type   TEXT NOT NULL,
    workflow_name   TEXT NOT NULL,
    config          JSONB NOT NULL,
    -- secret name -> base64(nonce || AES-256-GCM ciphertext)
    secrets         JSONB NOT NULL DEFAULT '{}',
    comment         TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    CONSTRAINT configs_version_key UNIQUE (config_id, version_number)
);

CREATE TABLE runtime_configs (
    config_id       BIGINT PRIMARY KEY REFERENCES config_heads (config_id),
    run_interval_s  BIGINT,
    cron            TEXT,
    timezone        TEXT,
    disabled        BOOLEAN NOT NULL DEFAULT FALSE,
    config          JSONB NOT NULL DEFAULT '{}',
    next_run_at     TIMESTAMPTZ,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX runtime_configs_due ON runtime_configs (next_run_at) WHERE NOT disabled;

CREATE TABLE runs (
    seq             BIGSERIAL PRIMARY KEY,
    run_id          TEXT NOT NULL CONSTRAINT runs_run_id_key UNIQUE,
    name            TEXT NOT NULL,
    project_name    TEXT NOT NULL,
    config_id       BIGINT NOT NULL,
    version_number  INTEGER NOT NULL,
    state           JSONB NOT NULL DEFAULT '{}',
    output          TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    FOREIGN KEY (config_id, version_number) REFERENCES configs (config_id, version_number)
);
CREATE INDEX runs_by_config ON runs (config_id, seq);

-- Which runs of a config hold which state key: previous_state reads one index entry per key.
CREATE TABLE run_state_keys (
    config_id   BIGINT NOT NULL,
    key         TEXT NOT NULL,
    run_seq     BIGINT NOT NULL REFERENCES runs (seq),
    PRIMARY KEY (config_id, key, run_seq)
);

CREATE TABLE run_metadata (
    run_seq         BIGINT PRIMARY KEY REFERENCES runs (seq),
    run_id          TEXT NOT NULL UNIQUE,
    config_id       BIGINT NOT NULL,
    version_number  INTEGER NOT NULL,
    phase           TEXT NOT NULL,
    started_at      TIMESTAMPTZ,
    finished_at     TIMESTAMPTZ,
    message         TEXT,
    nodes           JSONB NOT NULL,
    duration_s      DOUBLE PRECISION,
    retries         INTEGER NOT NULL,
    failed_nodes    JSONB NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    FOREIGN KEY (config_id, version_number) REFERENCES configs (config_id, version_number)
);
CREATE INDEX run_metadata_successes ON run_metadata (config_id, finished_at) WHERE phase = 'Succeeded';

CREATE TABLE logs (
    id              BIGSERIAL PRIMARY KEY,
    at              TIMESTAMPTZ NOT NULL,
    project_name    TEXT NOT NULL,
    actor           TEXT NOT NULL,
    action          TEXT NOT NULL,
    config_id       BIGINT,
    version_number  INTEGER,
    run_id          TEXT,
    detail          JSONB NOT NULL DEFAULT '{}'
);
CREATE INDEX logs_by_project ON logs (project_name, id);
CREATE INDEX logs_by_config ON logs (config_id, id);

CREATE TABLE tokens (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    scope       JSONB NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ,
    revoked_at  TIMESTAMPTZ
);
