-- Argo CronWorkflows of a project (the Argo Server API's cron-workflows): the document as
-- given, with the scheduler's bookkeeping in columns so a tick is claimed by one guarded
-- UPDATE. `last_tick_at` is the last schedule time handled (run or skipped), claimed with
-- `last_tick_at < tick`; `last_scheduled_at` the last one that created a workflow.
CREATE TABLE cron_workflows (
    id                 BIGSERIAL PRIMARY KEY,
    project_name       TEXT NOT NULL REFERENCES projects (name),
    name               TEXT NOT NULL,
    uid                TEXT NOT NULL,
    document           JSONB NOT NULL,
    resource_version   BIGINT NOT NULL DEFAULT 1,
    suspended          BOOLEAN NOT NULL DEFAULT FALSE,
    last_tick_at       TIMESTAMPTZ,
    last_scheduled_at  TIMESTAMPTZ,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    CONSTRAINT cron_workflows_name_key UNIQUE (project_name, name)
);

-- The workflows each CronWorkflow created; no foreign key to runs: retention may delete runs.
CREATE TABLE cron_workflow_runs (
    cron_workflow_id  BIGINT NOT NULL REFERENCES cron_workflows (id) ON DELETE CASCADE,
    run_id            TEXT NOT NULL,
    scheduled_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (cron_workflow_id, run_id)
);
