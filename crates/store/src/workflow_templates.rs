//! A project's Argo WorkflowTemplates: one row per name with the document, its uid, creation
//! time and resource version. Each write is one statement in the transaction of its event: a
//! duplicate name is refused by the primary key, and an update names the version it replaces,
//! so of two updates from one version only the first wins.

use crate::events::{insert_event, now};
use crate::{on_reader, on_writer, BeginWrite, NewEvent, Store, StoreError};
use chrono::{DateTime, Utc};
use polyphemus_model::{ProjectName, WorkflowTemplateName};
use serde_json::Value;
use sqlx::types::Json;

const COLUMNS: &str = "name, uid, document, resource_version, created_at";

/// One stored WorkflowTemplate.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct WorkflowTemplateRecord {
    pub name: WorkflowTemplateName,
    pub uid: String,
    /// The document without the server's metadata (uid, resourceVersion, creationTimestamp).
    pub document: Json<Value>,
    /// 1 when created, one more on each update.
    pub resource_version: i64,
    pub created_at: DateTime<Utc>,
}

/// A template to store under `name`.
#[derive(Debug, Clone)]
pub struct NewWorkflowTemplate {
    pub name: WorkflowTemplateName,
    pub uid: String,
    pub document: Value,
}

impl Store {
    /// Stores a new template and records `event`; [`StoreError::Conflict`] when the project
    /// already has one of that name.
    pub async fn insert_workflow_template(
        &self,
        project: &ProjectName,
        template: &NewWorkflowTemplate,
        event: &NewEvent,
    ) -> Result<WorkflowTemplateRecord, StoreError> {
        let sql = format!(
            "INSERT INTO workflow_templates \
             (project_name, name, uid, document, resource_version, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 1, $5, $5) RETURNING {COLUMNS}"
        );
        let at = now();
        on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            // A template makes its project known, as a first config does.
            sqlx::query("INSERT INTO projects (name, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(project)
                .bind(at)
                .execute(&mut *tx)
                .await?;
            let record: WorkflowTemplateRecord = sqlx::query_as(&sql)
                .bind(project)
                .bind(&template.name)
                .bind(&template.uid)
                .bind(Json(&template.document))
                .bind(at)
                .fetch_one(&mut *tx)
                .await?;
            insert_event!(event, at).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(record)
        })
    }

    /// The project's template `name`, if there is one.
    pub async fn workflow_template(
        &self,
        project: &ProjectName,
        name: &WorkflowTemplateName,
    ) -> Result<Option<WorkflowTemplateRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM workflow_templates WHERE project_name = $1 AND name = $2"
        );
        Ok(on_reader!(self, pool => sqlx::query_as(&sql)
            .bind(project)
            .bind(name)
            .fetch_optional(pool)
            .await)?)
    }

    /// Every template of the project, by name.
    pub async fn list_workflow_templates(
        &self,
        project: &ProjectName,
    ) -> Result<Vec<WorkflowTemplateRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM workflow_templates WHERE project_name = $1");
        let mut records: Vec<WorkflowTemplateRecord> = on_reader!(self, pool => sqlx::query_as(&sql)
            .bind(project)
            .fetch_all(pool)
            .await)?;
        // Sorted here: PostgreSQL's collation may order '-' and '.' unlike SQLite's bytes.
        records.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(records)
    }

    /// Replaces the document of template `name` and records `event`. With `expected`, only
    /// while that is still its resource version: [`StoreError::Conflict`] once another update
    /// came first, [`StoreError::NotFound`] without the template.
    pub async fn update_workflow_template(
        &self,
        project: &ProjectName,
        name: &WorkflowTemplateName,
        document: &Value,
        expected: Option<i64>,
        event: &NewEvent,
    ) -> Result<WorkflowTemplateRecord, StoreError> {
        let sql = format!(
            "UPDATE workflow_templates \
             SET document = $3, resource_version = resource_version + 1, updated_at = $4 \
             WHERE project_name = $1 AND name = $2 AND ($5 IS NULL OR resource_version = $5) \
             RETURNING {COLUMNS}"
        );
        let at = now();
        on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let updated: Option<WorkflowTemplateRecord> = sqlx::query_as(&sql)
                .bind(project)
                .bind(name)
                .bind(Json(document))
                .bind(at)
                .bind(expected)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(record) = updated else {
                // Told apart in the same transaction: the row cannot change in between.
                let exists: Option<(i64,)> = sqlx::query_as(
                    "SELECT resource_version FROM workflow_templates \
                     WHERE project_name = $1 AND name = $2",
                )
                .bind(project)
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?;
                return Err(match exists {
                    Some(_) => StoreError::Conflict("resource_version".into()),
                    None => StoreError::NotFound,
                });
            };
            insert_event!(event, at).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(record)
        })
    }

    /// Deletes template `name` and records `event`; [`StoreError::NotFound`] without it.
    pub async fn delete_workflow_template(
        &self,
        project: &ProjectName,
        name: &WorkflowTemplateName,
        event: &NewEvent,
    ) -> Result<(), StoreError> {
        let at = now();
        on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let deleted: Option<(String,)> = sqlx::query_as(
                "DELETE FROM workflow_templates WHERE project_name = $1 AND name = $2 \
                 RETURNING uid",
            )
            .bind(project)
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?;
            if deleted.is_none() {
                return Err(StoreError::NotFound);
            }
            insert_event!(event, at).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        })
    }
}
