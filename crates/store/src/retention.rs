//! Retention policies (`retention_policies`): one row per project that set one; no row keeps
//! everything. A change merges the given fields in one upsert, with its event.

use crate::events::{insert_event, now};
use crate::{on_reader, on_writer, BeginWrite, NewEvent, Store, StoreError};
use chrono::{DateTime, Utc};
use polyphemus_model::{HistoryLimit, ProjectName, RetentionDays, RetentionPolicy};

pub(crate) const POLICY_COLUMNS: &str = "project_name, keep_runs_days, keep_output_days, \
    successful_runs_history_limit, failed_runs_history_limit, updated_at";

/// A project's stored retention policy.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RetentionRecord {
    pub project_name: ProjectName,
    pub keep_runs_days: Option<RetentionDays>,
    pub keep_output_days: Option<RetentionDays>,
    pub successful_runs_history_limit: Option<HistoryLimit>,
    pub failed_runs_history_limit: Option<HistoryLimit>,
    pub updated_at: DateTime<Utc>,
}

impl From<RetentionRecord> for RetentionPolicy {
    fn from(record: RetentionRecord) -> Self {
        Self {
            project_name: record.project_name,
            keep_runs_days: record.keep_runs_days,
            keep_output_days: record.keep_output_days,
            successful_runs_history_limit: record.successful_runs_history_limit,
            failed_runs_history_limit: record.failed_runs_history_limit,
            updated_at: Some(record.updated_at),
        }
    }
}

/// The fields a change sets: `None` leaves a field as it is, `Some(None)` keeps forever.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionChange {
    pub keep_runs_days: Option<Option<RetentionDays>>,
    pub keep_output_days: Option<Option<RetentionDays>>,
    pub successful_runs_history_limit: Option<Option<HistoryLimit>>,
    pub failed_runs_history_limit: Option<Option<HistoryLimit>>,
}

impl Store {
    /// The project's policy; `None` when it never set one.
    pub async fn get_retention(
        &self,
        project: &ProjectName,
    ) -> Result<Option<RetentionRecord>, StoreError> {
        let sql =
            format!("SELECT {POLICY_COLUMNS} FROM retention_policies WHERE project_name = $1");
        let record: Option<RetentionRecord> = on_reader!(self, pool =>
            sqlx::query_as(&sql).bind(project).fetch_optional(pool).await)?;
        Ok(record)
    }

    /// Merges `change` into the project's policy (a field not given stays, one never set is
    /// null) in one upsert, with `event` (the new policy as its detail). An unknown project is
    /// `MissingReference`.
    pub async fn put_retention(
        &self,
        project: &ProjectName,
        change: &RetentionChange,
        mut event: NewEvent,
    ) -> Result<RetentionRecord, StoreError> {
        let at = now();
        let merge = |column: &str, given: usize| {
            format!(
                "{column} = CASE WHEN ${given} THEN excluded.{column} \
                 ELSE retention_policies.{column} END"
            )
        };
        let sql = format!(
            "INSERT INTO retention_policies ({POLICY_COLUMNS}) VALUES ($1, $3, $5, $7, $9, $10) \
             ON CONFLICT (project_name) DO UPDATE SET {}, {}, {}, {}, updated_at = excluded.updated_at \
             RETURNING {POLICY_COLUMNS}",
            merge("keep_runs_days", 2),
            merge("keep_output_days", 4),
            merge("successful_runs_history_limit", 6),
            merge("failed_runs_history_limit", 8),
        );
        let record: RetentionRecord = on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let record: RetentionRecord = sqlx::query_as(&sql)
                .bind(project)
                .bind(change.keep_runs_days.is_some())
                .bind(change.keep_runs_days.flatten())
                .bind(change.keep_output_days.is_some())
                .bind(change.keep_output_days.flatten())
                .bind(change.successful_runs_history_limit.is_some())
                .bind(change.successful_runs_history_limit.flatten())
                .bind(change.failed_runs_history_limit.is_some())
                .bind(change.failed_runs_history_limit.flatten())
                .bind(at)
                .fetch_one(&mut *tx)
                .await?;
            event.detail = serde_json::json!({
                "keep_runs_days": record.keep_runs_days,
                "keep_output_days": record.keep_output_days,
                "successful_runs_history_limit": record.successful_runs_history_limit,
                "failed_runs_history_limit": record.failed_runs_history_limit,
            });
            insert_event!(event, at).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(record)
        })?;
        Ok(record)
    }

    /// The projects whose policy prunes something, by name.
    pub async fn projects_with_retention(&self) -> Result<Vec<ProjectName>, StoreError> {
        let rows: Vec<(ProjectName,)> = on_reader!(self, pool => sqlx::query_as(
            "SELECT project_name FROM retention_policies \
             WHERE keep_runs_days IS NOT NULL OR keep_output_days IS NOT NULL \
               OR successful_runs_history_limit IS NOT NULL OR failed_runs_history_limit IS NOT NULL \
             ORDER BY project_name",
        )
        .fetch_all(pool)
        .await)?;
        Ok(rows.into_iter().map(|(name,)| name).collect())
    }
}
