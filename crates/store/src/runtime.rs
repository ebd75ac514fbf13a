//! Runtime configs: one row per config id with schedule, disabled flag and runtime params.

use crate::events::{insert_event, now};
use crate::BeginWrite;
use crate::{on_reader, on_writer, NewEvent, RuntimeRecord, Store, StoreError};
use polyphemus_model::{ConfigId, ProjectName};
use sqlx::types::Json;

/// What a PUT writes.
const WRITTEN_COLUMNS: &str = "config_id, run_interval_s, cron, timezone, disabled, config, \
    next_run_at, updated_at, concurrency_policy, starting_deadline_s, pause_after_failures, \
    expected_duration_s";

/// What is read: the written columns and the pause the scheduler and run ends set.
pub(crate) const RUNTIME_COLUMNS: &str = "config_id, run_interval_s, cron, timezone, disabled, \
    config, next_run_at, updated_at, concurrency_policy, starting_deadline_s, \
    pause_after_failures, paused_at, paused_reason, paused_run_ids, expected_duration_s";

impl Store {
    /// The runtime config of a config of `project`; `None` when none was ever set.
    /// `NotFound` when the config itself does not exist in the project.
    pub async fn get_runtime(
        &self,
        project: &ProjectName,
        config_id: ConfigId,
    ) -> Result<Option<RuntimeRecord>, StoreError> {
        let sql = format!(
            "SELECT {RUNTIME_COLUMNS} FROM runtime_configs WHERE config_id = $1 \
             AND EXISTS (SELECT 1 FROM config_heads WHERE config_id = $1 AND project_name = $2)"
        );
        let record: Option<RuntimeRecord> = on_reader!(self, pool =>
            sqlx::query_as(&sql).bind(config_id).bind(project).fetch_optional(pool).await)?;
        if record.is_none() && !self.config_exists(project, config_id).await? {
            return Err(StoreError::NotFound);
        }
        Ok(record)
    }

    async fn config_exists(
        &self,
        project: &ProjectName,
        config_id: ConfigId,
    ) -> Result<bool, StoreError> {
        let found: Option<(i64,)> = on_reader!(self, pool => sqlx::query_as(
            "SELECT config_id FROM config_heads WHERE config_id = $1 AND project_name = $2",
        )
        .bind(config_id)
        .bind(project)
        .fetch_optional(pool)
        .await)?;
        Ok(found.is_some())
    }

    /// Replaces the runtime config with what `decide` makes of the current one, under the
    /// config head's lock so two concurrent updates cannot interleave.
    pub async fn update_runtime<F, E>(
        &self,
        project: &ProjectName,
        config_id: ConfigId,
        decide: F,
        mut event: NewEvent,
    ) -> Result<RuntimeRecord, E>
    where
        F: FnOnce(Option<RuntimeRecord>) -> Result<RuntimeRecord, E>,
        E: From<StoreError>,
    {
        let at = now();
        // The scheduler's claim locks this row; reading it locked too keeps a PUT from writing
        // back a `next_run_at` the scheduler has just moved on (a second launch of one due time).
        let lock = match self.backend() {
            crate::Backend::Postgres => " FOR UPDATE",
            crate::Backend::Sqlite => "",
        };
        let select =
            format!("SELECT {RUNTIME_COLUMNS} FROM runtime_configs WHERE config_id = $1{lock}");
        let upsert = format!(
            "INSERT INTO runtime_configs ({WRITTEN_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (config_id) DO UPDATE SET run_interval_s = excluded.run_interval_s, \
             cron = excluded.cron, timezone = excluded.timezone, disabled = excluded.disabled, \
             config = excluded.config, next_run_at = excluded.next_run_at, \
             updated_at = excluded.updated_at, concurrency_policy = excluded.concurrency_policy, \
             starting_deadline_s = excluded.starting_deadline_s, \
             pause_after_failures = excluded.pause_after_failures, \
             expected_duration_s = excluded.expected_duration_s RETURNING {RUNTIME_COLUMNS}"
        );
        on_writer!(self, pool => {
            let mut tx = pool.begin_write().await.map_err(StoreError::from)?;
            sqlx::query_as::<_, (i32,)>(
                "UPDATE config_heads SET latest_version = latest_version \
                 WHERE config_id = $1 AND project_name = $2 RETURNING latest_version",
            )
            .bind(config_id)
            .bind(project)
            .fetch_one(&mut *tx)
            .await
            .map_err(StoreError::from)?;
            let current: Option<RuntimeRecord> = sqlx::query_as(&select)
                .bind(config_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(StoreError::from)?;
            let next = decide(current)?;
            let record: RuntimeRecord = sqlx::query_as(&upsert)
                .bind(config_id)
                .bind(next.run_interval_s)
                .bind(&next.cron)
                .bind(&next.timezone)
                .bind(next.disabled)
                .bind(Json(&next.config.0))
                .bind(next.next_run_at)
                .bind(at)
                .bind(next.concurrency_policy)
                .bind(next.starting_deadline_s)
                .bind(next.pause_after_failures)
                .bind(next.expected_duration_s)
                .fetch_one(&mut *tx)
                .await
                .map_err(StoreError::from)?;
            event.config_id = Some(config_id);
            insert_event!(event, at)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from)?;
            tx.commit().await.map_err(StoreError::from)?;
            Ok(record)
        })
    }
}
