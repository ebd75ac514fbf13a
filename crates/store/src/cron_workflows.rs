//! Argo CronWorkflows of a project (`cron_workflows`, `cron_workflow_runs`): the documents,
//! and the schedule bookkeeping. A tick is claimed by one guarded UPDATE, so two servers on
//! one database never both create a workflow for it.

use crate::events::now;
use crate::{on_reader, on_writer, BeginWrite, Store, StoreError};
use chrono::{DateTime, Utc};
use polyphemus_model::{ProjectName, RunId};
use serde_json::Value;
use sqlx::types::Json;

const COLUMNS: &str = "id, project_name, name, uid, document, resource_version, suspended, \
    last_tick_at, last_scheduled_at, created_at, updated_at";

/// A CronWorkflow as stored; `document` is the object as last created or updated.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CronWorkflowRecord {
    pub id: i64,
    pub project_name: ProjectName,
    pub name: String,
    pub uid: String,
    pub document: Json<Value>,
    pub resource_version: i64,
    pub suspended: bool,
    /// The last schedule time handled, whether it created a workflow or was skipped.
    pub last_tick_at: Option<DateTime<Utc>>,
    /// The last schedule time that created a workflow.
    pub last_scheduled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Store {
    /// Stores a new CronWorkflow (and its project); a taken name is
    /// `Conflict("cron_workflows_name_key")`.
    pub async fn insert_cron_workflow(
        &self,
        project: &ProjectName,
        name: &str,
        uid: &str,
        document: &Value,
        suspended: bool,
    ) -> Result<CronWorkflowRecord, StoreError> {
        let at = now();
        let sql = format!(
            "INSERT INTO cron_workflows (project_name, name, uid, document, suspended, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {COLUMNS}"
        );
        let inserted = on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query("INSERT INTO projects (name, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(project)
                .bind(at)
                .execute(&mut *tx)
                .await?;
            let record: CronWorkflowRecord = sqlx::query_as(&sql)
                .bind(project)
                .bind(name)
                .bind(uid)
                .bind(Json(document))
                .bind(suspended)
                .bind(at)
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(record)
        });
        inserted.map_err(|error| match StoreError::from(error) {
            StoreError::Conflict(_) => StoreError::Conflict("cron_workflows_name_key".into()),
            other => other,
        })
    }

    pub async fn cron_workflow(
        &self,
        project: &ProjectName,
        name: &str,
    ) -> Result<Option<CronWorkflowRecord>, StoreError> {
        let sql =
            format!("SELECT {COLUMNS} FROM cron_workflows WHERE project_name = $1 AND name = $2");
        Ok(on_reader!(self, pool => sqlx::query_as(&sql)
            .bind(project)
            .bind(name)
            .fetch_optional(pool)
            .await)?)
    }

    /// The project's CronWorkflows by name.
    pub async fn list_cron_workflows(
        &self,
        project: &ProjectName,
    ) -> Result<Vec<CronWorkflowRecord>, StoreError> {
        let sql =
            format!("SELECT {COLUMNS} FROM cron_workflows WHERE project_name = $1 ORDER BY name");
        Ok(on_reader!(self, pool => sqlx::query_as(&sql).bind(project).fetch_all(pool).await)?)
    }

    /// Replaces the document; with `expected_version`, only while the stored resourceVersion
    /// is still that one (`None` when it is not, or the CronWorkflow does not exist).
    pub async fn update_cron_workflow(
        &self,
        project: &ProjectName,
        name: &str,
        document: &Value,
        suspended: bool,
        expected_version: Option<i64>,
    ) -> Result<Option<CronWorkflowRecord>, StoreError> {
        let sql = format!(
            "UPDATE cron_workflows SET document = $3, suspended = $4, \
             resource_version = resource_version + 1, updated_at = $5 \
             WHERE project_name = $1 AND name = $2 AND ($6 IS NULL OR resource_version = $6) \
             RETURNING {COLUMNS}"
        );
        Ok(on_writer!(self, pool => sqlx::query_as(&sql)
            .bind(project)
            .bind(name)
            .bind(Json(document))
            .bind(suspended)
            .bind(now())
            .bind(expected_version)
            .fetch_optional(pool)
            .await)?)
    }

    /// Suspends or resumes scheduling (`None`: no such CronWorkflow).
    pub async fn set_cron_workflow_suspended(
        &self,
        project: &ProjectName,
        name: &str,
        suspended: bool,
    ) -> Result<Option<CronWorkflowRecord>, StoreError> {
        let sql = format!(
            "UPDATE cron_workflows SET suspended = $3, resource_version = resource_version + 1, \
             updated_at = $4 WHERE project_name = $1 AND name = $2 RETURNING {COLUMNS}"
        );
        Ok(on_writer!(self, pool => sqlx::query_as(&sql)
            .bind(project)
            .bind(name)
            .bind(suspended)
            .bind(now())
            .fetch_optional(pool)
            .await)?)
    }

    /// Deletes a CronWorkflow (its workflows stay as runs); whether there was one.
    pub async fn delete_cron_workflow(
        &self,
        project: &ProjectName,
        name: &str,
    ) -> Result<bool, StoreError> {
        let done = on_writer!(self, pool => sqlx::query(
                "DELETE FROM cron_workflows WHERE project_name = $1 AND name = $2",
            )
            .bind(project)
            .bind(name)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(done > 0)
    }

    /// Every CronWorkflow that is not suspended, in all projects: what the scheduler looks at.
    pub async fn schedulable_cron_workflows(&self) -> Result<Vec<CronWorkflowRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM cron_workflows WHERE NOT suspended ORDER BY id");
        Ok(on_reader!(self, pool => sqlx::query_as(&sql).fetch_all(pool).await)?)
    }

    /// Claims schedule time `tick` of a CronWorkflow: true for exactly one caller per tick,
    /// and never for a suspended one or a tick at or before the last one handled.
    pub async fn claim_cron_tick(&self, id: i64, tick: DateTime<Utc>) -> Result<bool, StoreError> {
        let done = on_writer!(self, pool => sqlx::query(
                "UPDATE cron_workflows SET last_tick_at = $2 WHERE id = $1 AND NOT suspended \
                 AND (last_tick_at IS NULL OR last_tick_at < $2)",
            )
            .bind(id)
            .bind(tick)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(done == 1)
    }

    /// Records the workflow a claimed tick created: `lastScheduledTime` and the link that
    /// makes it one of the CronWorkflow's workflows.
    pub async fn record_cron_run(
        &self,
        id: i64,
        tick: DateTime<Utc>,
        run_id: &RunId,
    ) -> Result<(), StoreError> {
        on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "UPDATE cron_workflows SET last_scheduled_at = $2, \
                 resource_version = resource_version + 1 WHERE id = $1",
            )
            .bind(id)
            .bind(tick)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO cron_workflow_runs (cron_workflow_id, run_id, scheduled_at) \
                 VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(id)
            .bind(run_id)
            .bind(tick)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok::<_, StoreError>(())
        })
    }

    /// The CronWorkflow's workflows that have not ended, oldest first: `(run_id, name)`.
    pub async fn active_cron_runs(&self, id: i64) -> Result<Vec<(RunId, String)>, StoreError> {
        Ok(on_reader!(self, pool => sqlx::query_as(
                "SELECT r.run_id, r.name FROM cron_workflow_runs l \
                 JOIN runs r ON r.run_id = l.run_id \
                 WHERE l.cron_workflow_id = $1 AND r.final_phase IS NULL ORDER BY r.seq",
            )
            .bind(id)
            .fetch_all(pool)
            .await)?)
    }
}
