//! Backfills (`backfills`, `backfill_runs`): who asked for which windows, where they stand, and
//! every run launched per window. Each change is one guarded statement (with its event), so
//! two schedulers never launch one window twice and a stop never races a settle.

use crate::events::{insert_event, now};
use crate::{on_reader, on_writer, BeginWrite, NewEvent, Store, StoreError};
use chrono::{DateTime, Utc};
use polyphemus_model::{BackfillId, BackfillState, ConfigId, ProjectName, RunId, RunPhase};
use serde_json::json;

const BACKFILL_COLUMNS: &str = "id, project_name, config_id, from_time, to_time, every_s, \
    windows, next_window, state, current_run_id, reason, created_by, created_at, updated_at";

/// A backfill as stored; `next_window` is the first window not yet succeeded.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct BackfillRecord {
    pub id: BackfillId,
    pub project_name: ProjectName,
    pub config_id: ConfigId,
    pub from_time: DateTime<Utc>,
    pub to_time: DateTime<Utc>,
    pub every_s: i64,
    pub windows: i64,
    pub next_window: i64,
    pub state: BackfillState,
    pub current_run_id: Option<RunId>,
    pub reason: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A backfill to insert (running, at window 0).
#[derive(Debug, Clone)]
pub struct NewBackfill {
    pub project_name: ProjectName,
    pub config_id: ConfigId,
    pub from_time: DateTime<Utc>,
    pub to_time: DateTime<Utc>,
    pub every_s: i64,
    pub windows: i64,
    pub created_by: String,
}

/// A backfill the scheduler has work for: its current run's end to settle, or a window to
/// launch. `current_phase` is the current run's final phase (`None` while it runs);
/// `current_run_gone` when retention deleted it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BackfillToAdvance {
    #[sqlx(flatten)]
    pub backfill: BackfillRecord,
    pub current_phase: Option<RunPhase>,
    pub current_run_gone: bool,
}

/// `Conflict` text of the index that allows one running backfill per config.
pub const ONE_RUNNING: &str = "backfills_one_running";

impl Store {
    /// Inserts a running backfill with `event` (`backfill.started`); a running backfill of the
    /// config already is `Conflict(ONE_RUNNING)`.
    pub async fn insert_backfill(
        &self,
        new: &NewBackfill,
        mut event: NewEvent,
    ) -> Result<BackfillRecord, StoreError> {
        let at = now();
        let sql = format!(
            "INSERT INTO backfills (project_name, config_id, from_time, to_time, every_s, windows, \
             state, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'running', $7, $8, $8) RETURNING {BACKFILL_COLUMNS}"
        );
        on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let record: BackfillRecord = sqlx::query_as(&sql)
                .bind(&new.project_name)
                .bind(new.config_id)
                .bind(new.from_time)
                .bind(new.to_time)
                .bind(new.every_s)
                .bind(new.windows)
                .bind(&new.created_by)
                .bind(at)
                .fetch_one(&mut *tx)
                .await
                .map_err(|error| match StoreError::from(error) {
                    StoreError::Conflict(_) => StoreError::Conflict(ONE_RUNNING.into()),
                    other => other,
                })?;
            event.config_id = Some(new.config_id);
            event.detail["backfill_id"] = json!(record.id);
            insert_event!(event, at).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(record)
        })
    }

    pub async fn get_backfill(
        &self,
        project: &ProjectName,
        id: BackfillId,
    ) -> Result<BackfillRecord, StoreError> {
        let sql =
            format!("SELECT {BACKFILL_COLUMNS} FROM backfills WHERE id = $1 AND project_name = $2");
        Ok(on_reader!(self, pool =>
            sqlx::query_as(&sql).bind(id).bind(project).fetch_one(pool).await)?)
    }

    /// The config's backfills, newest first (at most `limit`).
    pub async fn list_backfills(
        &self,
        project: &ProjectName,
        config_id: ConfigId,
        limit: i64,
    ) -> Result<Vec<BackfillRecord>, StoreError> {
        let sql = format!(
            "SELECT {BACKFILL_COLUMNS} FROM backfills WHERE config_id = $1 AND project_name = $2 \
             ORDER BY id DESC LIMIT $3"
        );
        Ok(on_reader!(self, pool => sqlx::query_as(&sql)
            .bind(config_id)
            .bind(project)
            .bind(limit)
            .fetch_all(pool)
            .await)?)
    }

    /// The config's running backfill, if any.
    pub async fn running_backfill(
        &self,
        config_id: ConfigId,
    ) -> Result<Option<BackfillId>, StoreError> {
        let found: Option<(BackfillId,)> = on_reader!(self, pool => sqlx::query_as(
                "SELECT id FROM backfills WHERE config_id = $1 AND state = 'running'",
            )
            .bind(config_id)
            .fetch_optional(pool)
            .await)?;
        Ok(found.map(|(id,)| id))
    }

    /// Every run the backfill launched: `(window index, run_id)`, oldest first.
    pub async fn backfill_runs(&self, id: BackfillId) -> Result<Vec<(i64, RunId)>, StoreError> {
        Ok(on_reader!(self, pool => sqlx::query_as(
                "SELECT window_index, run_id FROM backfill_runs WHERE backfill_id = $1 \
                 ORDER BY window_index, created_at, run_id",
            )
            .bind(id)
            .fetch_all(pool)
            .await)?)
    }

    /// Moves the backfill from one of `from` to `to` (clearing its reason), with `event`.
    /// `NotFound` when it does not exist in `project`, `Conflict` naming its state when it is
    /// in none of `from`, `Conflict(ONE_RUNNING)` when resuming meets another running one.
    pub async fn change_backfill_state(
        &self,
        project: &ProjectName,
        id: BackfillId,
        from: &[BackfillState],
        to: BackfillState,
        mut event: NewEvent,
    ) -> Result<BackfillRecord, StoreError> {
        let at = now();
        let states: Vec<String> = from.iter().map(|s| format!("'{}'", s.as_str())).collect();
        let sql = format!(
            "UPDATE backfills SET state = $3, reason = NULL, updated_at = $4 \
             WHERE id = $1 AND project_name = $2 AND state IN ({}) RETURNING {BACKFILL_COLUMNS}",
            states.join(", ")
        );
        let changed: Option<BackfillRecord> = on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let changed: Option<BackfillRecord> = sqlx::query_as(&sql)
                .bind(id)
                .bind(project)
                .bind(to)
                .bind(at)
                .fetch_optional(&mut *tx)
                .await
                .map_err(|error| match StoreError::from(error) {
                    StoreError::Conflict(_) => StoreError::Conflict(ONE_RUNNING.into()),
                    other => other,
                })?;
            if let Some(record) = &changed {
                event.config_id = Some(record.config_id);
                insert_event!(event, at).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok::<_, StoreError>(changed)
        })?;
        match changed {
            Some(record) => Ok(record),
            None => {
                let record = self.get_backfill(project, id).await?;
                Err(StoreError::Conflict(format!(
                    "backfill {id} is {}",
                    record.state
                )))
            }
        }
    }

    /// Running backfills, and stopped ones whose run is still to settle.
    pub async fn backfills_to_advance(&self) -> Result<Vec<BackfillToAdvance>, StoreError> {
        let columns: Vec<String> = BACKFILL_COLUMNS
            .split(", ")
            .map(|column| format!("b.{column}"))
            .collect();
        let sql = format!(
            "SELECT {}, r.final_phase AS current_phase, \
             (b.current_run_id IS NOT NULL AND r.run_id IS NULL) AS current_run_gone \
             FROM backfills b LEFT JOIN runs r ON r.run_id = b.current_run_id \
             WHERE b.state = 'running' OR (b.state = 'stopped' AND b.current_run_id IS NOT NULL) \
             ORDER BY b.id",
            columns.join(", ")
        );
        Ok(on_reader!(self, pool => sqlx::query_as(&sql).fetch_all(pool).await)?)
    }

    /// Claims window `window` of a running backfill for launch, unless another scheduler did
    /// (a claim older than `stale_before` is taken over), it has a run, or the config has an
    /// active run or a scheduled launch in progress. Whether this caller won.
    pub async fn claim_backfill_window(
        &self,
        id: BackfillId,
        window: i64,
        at: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = on_writer!(self, pool => sqlx::query(
                "UPDATE backfills SET launch_claimed_at = $3 WHERE id = $1 AND state = 'running' \
                 AND next_window = $2 AND next_window < windows AND current_run_id IS NULL \
                 AND (launch_claimed_at IS NULL OR launch_claimed_at < $4) \
                 AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.config_id = backfills.config_id \
                                 AND r.final_phase IS NULL) \
                 AND NOT EXISTS (SELECT 1 FROM runtime_configs rc \
                                 WHERE rc.config_id = backfills.config_id \
                                 AND rc.launch_claimed_at IS NOT NULL)",
            )
            .bind(id)
            .bind(window)
            .bind(at)
            .bind(stale_before)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(done == 1)
    }

    /// Records the run launched for `window` and ends the claim.
    pub async fn record_backfill_launch(
        &self,
        id: BackfillId,
        window: i64,
        run_id: &RunId,
    ) -> Result<(), StoreError> {
        let at = now();
        on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "UPDATE backfills SET current_run_id = $2, launch_claimed_at = NULL, updated_at = $3 \
                 WHERE id = $1",
            )
            .bind(id)
            .bind(run_id)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO backfill_runs (backfill_id, window_index, run_id, created_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(id)
            .bind(window)
            .bind(run_id)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok::<_, StoreError>(())
        })
    }

    /// After a window's run succeeded: the next window is current, or the backfill is done
    /// (with `backfill.done`). Changes nothing unless `run_id` is still its current run.
    pub async fn settle_backfill_success(
        &self,
        id: BackfillId,
        run_id: &RunId,
    ) -> Result<Option<BackfillRecord>, StoreError> {
        let sql = format!(
            "UPDATE backfills SET next_window = next_window + 1, current_run_id = NULL, reason = $4, \
             state = CASE WHEN next_window + 1 >= windows THEN 'done' ELSE state END, \
             updated_at = $3 WHERE id = $1 AND current_run_id = $2 RETURNING {BACKFILL_COLUMNS}"
        );
        self.settle(&sql, id, Some(run_id), None, |record| {
            (record.state == BackfillState::Done).then_some("backfill.done")
        })
        .await
    }

    /// After a window's run failed (or vanished): a running backfill fails at that window
    /// (with `backfill.failed`), a stopped one stays stopped; either way `resume` retries it.
    pub async fn settle_backfill_failure(
        &self,
        id: BackfillId,
        run_id: &RunId,
        reason: &str,
    ) -> Result<Option<BackfillRecord>, StoreError> {
        let sql = format!(
            "UPDATE backfills SET current_run_id = NULL, reason = $4, \
             state = CASE WHEN state = 'running' THEN 'failed' ELSE state END, \
             updated_at = $3 WHERE id = $1 AND current_run_id = $2 RETURNING {BACKFILL_COLUMNS}"
        );
        self.settle(&sql, id, Some(run_id), Some(reason), |record| {
            (record.state == BackfillState::Failed).then_some("backfill.failed")
        })
        .await
    }

    /// A window's launch failed: the claim ends and a running backfill fails with `reason`.
    pub async fn fail_backfill_launch(
        &self,
        id: BackfillId,
        reason: &str,
    ) -> Result<Option<BackfillRecord>, StoreError> {
        let sql = format!(
            "UPDATE backfills SET launch_claimed_at = NULL, reason = $4, state = 'failed', \
             updated_at = $3 WHERE id = $1 AND state = 'running' AND current_run_id IS NULL \
             AND CAST($2 AS TEXT) IS NULL RETURNING {BACKFILL_COLUMNS}"
        );
        self.settle(&sql, id, None, Some(reason), |_| Some("backfill.failed"))
            .await
    }

    /// Runs one guarded settle statement (`$1` id, `$2` run, `$3` now, `$4` reason) and, when
    /// it changed the row and `action` names one, its event, in one transaction.
    async fn settle(
        &self,
        sql: &str,
        id: BackfillId,
        run_id: Option<&RunId>,
        reason: Option<&str>,
        action: impl Fn(&BackfillRecord) -> Option<&'static str>,
    ) -> Result<Option<BackfillRecord>, StoreError> {
        let at = now();
        on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let changed: Option<BackfillRecord> = sqlx::query_as(sql)
                .bind(id)
                .bind(run_id)
                .bind(at)
                .bind(reason)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(record) = &changed {
                if let Some(action) = action(record) {
                    let detail = json!({"backfill_id": id, "reason": reason, "next_window": record.next_window});
                    let mut event = NewEvent::new(&record.project_name, "scheduler", action, detail);
                    event.config_id = Some(record.config_id);
                    insert_event!(event, at).execute(&mut *tx).await?;
                }
            }
            tx.commit().await?;
            Ok::<_, StoreError>(changed)
        })
    }
}
