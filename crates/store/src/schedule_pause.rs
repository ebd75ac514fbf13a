//! A schedule pauses itself after `pause_after_failures` failed runs in a row and resumes on a
//! success or when someone resumes it. Each change is decided under the runtime row's lock and
//! recorded as an event in the same transaction.

use crate::events::{insert_event, now};
use crate::runtime::RUNTIME_COLUMNS;
use crate::BeginWrite;
use crate::{on_writer, Backend, NewEvent, RuntimeRecord, Store, StoreError};
use chrono::{DateTime, Utc};
use polyphemus_model::{ConfigId, ProjectName, RunId, RunPhase, SchedulePause};
use serde_json::json;
use sqlx::types::Json;

/// What a run's end did to its config's schedule.
#[derive(Debug, Clone, PartialEq)]
pub enum ScheduleChange {
    Paused {
        project: ProjectName,
        config_id: ConfigId,
        pause: SchedulePause,
    },
    Resumed {
        project: ProjectName,
        config_id: ConfigId,
    },
}

impl Store {
    /// After run `run_id` ended in `phase`: a success resumes a paused schedule; a failure that
    /// makes `pause_after_failures` failed runs in a row pauses it. Runs of a config without a
    /// runtime config change nothing.
    pub async fn settle_schedule_after_run(
        &self,
        run_id: &RunId,
        phase: RunPhase,
    ) -> Result<Option<ScheduleChange>, StoreError> {
        let lock = match self.backend() {
            Backend::Postgres => " FOR UPDATE OF rc",
            Backend::Sqlite => "",
        };
        let select = format!(
            "SELECT r.config_id, r.project_name, rc.pause_after_failures, rc.paused_at \
             FROM runs r JOIN runtime_configs rc ON rc.config_id = r.config_id \
             WHERE r.run_id = $1{lock}"
        );
        let at = now();
        on_writer!(self, pool => async {
            let mut tx = pool.begin_write().await?;
            let found: Option<(ConfigId, ProjectName, i32, Option<DateTime<Utc>>)> =
                sqlx::query_as(&select).bind(run_id).fetch_optional(&mut *tx).await?;
            let Some((config_id, project, pause_after, paused_at)) = found else {
                return Ok(None);
            };
            let change = if phase == RunPhase::Succeeded && paused_at.is_some() {
                let reason = format!("run {run_id} succeeded");
                sqlx::query(
                    "UPDATE runtime_configs SET paused_at = NULL, paused_reason = NULL, \
                     paused_run_ids = NULL, updated_at = $2 WHERE config_id = $1",
                )
                .bind(config_id)
                .bind(at)
                .execute(&mut *tx)
                .await?;
                let event = pause_event(&project, config_id, "schedule.resumed", json!({"reason": reason}));
                insert_event!(event, at).execute(&mut *tx).await?;
                Some(ScheduleChange::Resumed { project, config_id })
            } else if matches!(phase, RunPhase::Failed | RunPhase::Error)
                && paused_at.is_none()
                && pause_after > 0
            {
                let recent: Vec<(RunId, RunPhase)> = sqlx::query_as(
                    "SELECT run_id, final_phase FROM runs WHERE config_id = $1 \
                     AND final_phase IS NOT NULL ORDER BY seq DESC LIMIT $2",
                )
                .bind(config_id)
                .bind(i64::from(pause_after))
                .fetch_all(&mut *tx)
                .await?;
                let all_failed = recent.len() == usize::try_from(pause_after).unwrap_or(0)
                    && recent.iter().all(|(_, phase)| *phase != RunPhase::Succeeded);
                if all_failed {
                    let pause = SchedulePause {
                        at,
                        reason: format!("{pause_after} failed runs in a row"),
                        run_ids: recent.into_iter().map(|(run_id, _)| run_id).collect(),
                    };
                    sqlx::query(
                        "UPDATE runtime_configs SET paused_at = $2, paused_reason = $3, \
                         paused_run_ids = $4, updated_at = $2 WHERE config_id = $1",
                    )
                    .bind(config_id)
                    .bind(at)
                    .bind(&pause.reason)
                    .bind(Json(&pause.run_ids))
                    .execute(&mut *tx)
                    .await?;
                    let event = pause_event(&project, config_id, "schedule.paused",
                        json!({"reason": pause.reason, "run_ids": pause.run_ids}));
                    insert_event!(event, at).execute(&mut *tx).await?;
                    Some(ScheduleChange::Paused { project, config_id, pause })
                } else {
                    None
                }
            } else {
                None
            };
            tx.commit().await?;
            Ok::<_, StoreError>(change)
        }.await)
    }

    /// Clears a pause (`runtime resume`); the schedule launches again from its next due time.
    /// `NotFound` when the config has no runtime config in `project`.
    pub async fn resume_schedule(
        &self,
        project: &ProjectName,
        config_id: ConfigId,
        mut event: NewEvent,
    ) -> Result<RuntimeRecord, StoreError> {
        let at = now();
        let update = format!(
            "UPDATE runtime_configs SET paused_at = NULL, paused_reason = NULL, \
             paused_run_ids = NULL, updated_at = $2 WHERE config_id = $1 \
             AND EXISTS (SELECT 1 FROM config_heads WHERE config_id = $1 AND project_name = $3) \
             RETURNING {RUNTIME_COLUMNS}"
        );
        on_writer!(self, pool => async {
            let mut tx = pool.begin_write().await?;
            let record: Option<RuntimeRecord> = sqlx::query_as(&update)
                .bind(config_id)
                .bind(at)
                .bind(project)
                .fetch_optional(&mut *tx)
                .await?;
            let record = record.ok_or(StoreError::NotFound)?;
            event.config_id = Some(config_id);
            insert_event!(event, at).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(record)
        }.await)
    }
}

fn pause_event(
    project: &ProjectName,
    config_id: ConfigId,
    action: &str,
    detail: serde_json::Value,
) -> NewEvent {
    let mut event = NewEvent::new(project, "scheduler", action, detail);
    event.config_id = Some(config_id);
    event
}
