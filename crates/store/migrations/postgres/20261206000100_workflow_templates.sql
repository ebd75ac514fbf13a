-- Argo WorkflowTemplates per project (the Argo Server API's WorkflowTemplateService): the
-- document as given less the server's own metadata, which these columns hold. A name is unique
-- in its project; resource_version grows by one on each update (Kubernetes' optimistic lock).
CREATE TABLE workflow_templates (
    project_name      TEXT NOT NULL,
    name              TEXT NOT NULL,
    uid               TEXT NOT NULL UNIQUE,
    document          JSONB NOT NULL,
    resource_version  BIGINT NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL,
    CONSTRAINT workflow_templates_name_key PRIMARY KEY (project_name, name)
);
