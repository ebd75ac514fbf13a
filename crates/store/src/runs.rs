//! Runs: idempotent registration, previous state, metadata (the state merge and output append
//! are in `run_merge.rs`).

use crate::events::{insert_event, now};
use crate::records::RunRow;
use crate::BeginWrite;
use crate::{
    on_reader, on_writer, Backend, NewEvent, NewRun, NewRunMetadata, RecordedMetadata,
    RegisterOutcome, RunMetadataRecord, RunRecord, RunScope, Store, StoreError,
};
use polyphemus_model::{CappedText, ConfigId, OutputLimit, ProjectName, RunId, RunPhase};
use serde_json::Value;
use sqlx::types::Json;

/// A run's columns, its state gathered from its key rows (`runs` must be named `runs`).
fn run_columns(backend: Backend) -> String {
    format!(
        "seq, run_id, name, project_name, config_id, version_number, {} AS state, \
         params, output, output_truncated, output_pruned_at, created_at, updated_at",
        crate::run_merge::state_of_run(backend, "runs.seq")
    )
}

impl Store {
    /// Registers a run; the same registration again is `AlreadyRegistered`, and a run id that
    /// belongs to another config (or version) is a conflict.
    pub async fn register_run(
        &self,
        new: &NewRun,
        mut event: NewEvent,
    ) -> Result<(RunRecord, RegisterOutcome), StoreError> {
        let at = now();
        let columns = run_columns(self.backend());
        let insert = format!(
            "INSERT INTO runs (run_id, name, project_name, config_id, version_number, created_at, updated_at, params) \
             VALUES ($1, $2, $3, $4, $5, $6, $6, $7) ON CONFLICT (run_id) DO NOTHING RETURNING {columns}"
        );
        let select = format!("SELECT {columns} FROM runs WHERE run_id = $1");
        let (row, outcome) = on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let inserted: Option<RunRow> = sqlx::query_as(&insert)
                .bind(&new.run_id)
                .bind(&new.name)
                .bind(&new.project_name)
                .bind(new.config_id)
                .bind(new.version_number)
                .bind(at)
                .bind(Json(&new.params))
                .fetch_optional(&mut *tx)
                .await?;
            let result = match inserted {
                Some(row) => {
                    event.config_id = Some(new.config_id);
                    event.version_number = Some(new.version_number);
                    event.run_id = Some(new.run_id.clone());
                    insert_event!(event, at).execute(&mut *tx).await?;
                    (row, RegisterOutcome::Created)
                }
                None => {
                    let row: RunRow = sqlx::query_as(&select)
                        .bind(&new.run_id)
                        .fetch_one(&mut *tx)
                        .await?;
                    let same = row.project_name == new.project_name
                        && row.config_id == new.config_id
                        && row.version_number == new.version_number;
                    if !same {
                        return Err(StoreError::Conflict(format!(
                            "run_id {} is already registered to another config version",
                            new.run_id
                        )));
                    }
                    (row, RegisterOutcome::AlreadyRegistered)
                }
            };
            tx.commit().await?;
            Ok::<_, StoreError>(result)
        })?;
        Ok((row.into(), outcome))
    }

    pub async fn get_run(
        &self,
        project: &ProjectName,
        run_id: &RunId,
    ) -> Result<RunRecord, StoreError> {
        let sql = format!(
            "SELECT {} FROM runs WHERE run_id = $1 AND project_name = $2",
            run_columns(self.backend())
        );
        let row: RunRow = on_reader!(self, pool =>
            sqlx::query_as(&sql).bind(run_id).bind(project).fetch_one(pool).await)?;
        Ok(row.into())
    }

    /// The config version and workflow type of a run of `project` (index lookups only).
    pub async fn run_scope(
        &self,
        project: &ProjectName,
        run_id: &RunId,
    ) -> Result<RunScope, StoreError> {
        let scope: RunScope = on_reader!(self, pool => sqlx::query_as(
            "SELECT r.config_id, r.version_number, h.workflow_type FROM runs r \
             JOIN config_heads h ON h.config_id = r.config_id \
             WHERE r.run_id = $1 AND r.project_name = $2",
        )
        .bind(run_id)
        .bind(project)
        .fetch_one(pool)
        .await)?;
        Ok(scope)
    }

    /// Runs of a config, newest first; `before` is a run `seq` from the previous page.
    pub async fn list_runs(
        &self,
        project: &ProjectName,
        config_id: ConfigId,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<RunRecord>, StoreError> {
        let sql = format!(
            "SELECT {} FROM runs WHERE config_id = $1 AND project_name = $2 AND seq < $3 \
             ORDER BY seq DESC LIMIT $4",
            run_columns(self.backend())
        );
        let rows: Vec<RunRow> = on_reader!(self, pool => sqlx::query_as(&sql)
            .bind(config_id)
            .bind(project)
            .bind(before.unwrap_or(i64::MAX))
            .bind(limit)
            .fetch_all(pool)
            .await)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Why a guarded write of a run changed nothing: the run does not exist, or it has ended.
    pub(crate) async fn why_unchanged(&self, project: &ProjectName, run_id: &RunId) -> StoreError {
        let found: Result<Option<(Option<RunPhase>,)>, sqlx::Error> = on_reader!(self, pool =>
            sqlx::query_as("SELECT final_phase FROM runs WHERE run_id = $1 AND project_name = $2")
                .bind(run_id)
                .bind(project)
                .fetch_optional(pool)
                .await);
        match found {
            Ok(Some((Some(phase),))) => StoreError::RunEnded(phase),
            Ok(_) => StoreError::NotFound,
            Err(error) => error.into(),
        }
    }

    /// For each key, the values held by earlier runs of the config (any version), newest first:
    /// at most `per_key` of them. Each key is one index range scan on `run_state_keys`.
    pub async fn previous_state(
        &self,
        config_id: ConfigId,
        keys: &[String],
        before_seq: Option<i64>,
        per_key: i64,
    ) -> Result<Vec<(String, Vec<Value>)>, StoreError> {
        let sql = "SELECT k.value FROM run_state_keys k \
             WHERE k.config_id = $1 AND k.key = $2 AND k.run_seq < $3 \
             ORDER BY k.run_seq DESC LIMIT $4";
        let before = before_seq.unwrap_or(i64::MAX);
        let mut found = Vec::with_capacity(keys.len());
        on_reader!(self, pool => {
            let mut conn = pool.acquire().await?;
            for key in keys {
                let values: Vec<(Json<Value>,)> = sqlx::query_as(sql)
                    .bind(config_id)
                    .bind(key)
                    .bind(before)
                    .bind(per_key)
                    .fetch_all(&mut *conn)
                    .await?;
                found.push((key.clone(), values.into_iter().map(|(value,)| value.0).collect()));
            }
            Ok::<_, StoreError>(())
        })?;
        Ok(found)
    }

    /// Stores (or replaces) the orchestrator's report of a run. With a final phase and the
    /// steps' `logs` (the orchestrator's sync), the run's output becomes what its jobs appended
    /// followed by the logs, within `limit`: the one write of output a run that ended still
    /// takes, and a later final sync replaces only the logs. In one transaction: a final phase
    /// marks the run ended (state and output writes are then refused) and revokes the task
    /// tokens minted for it. Once ended, only another final report replaces the metadata
    /// (`RunEnded` otherwise).
    pub async fn put_run_metadata(
        &self,
        project: &ProjectName,
        run_id: &RunId,
        metadata: &NewRunMetadata,
        logs: Option<(&str, OutputLimit)>,
    ) -> Result<RecordedMetadata, StoreError> {
        let at = now();
        let final_phase = metadata.phase.is_final().then_some(metadata.phase);
        // The stored output is read only when this write replaces it (a final status with logs).
        let lock_run = format!(
            "SELECT final_phase, CASE WHEN $3 THEN output END, api_output_bytes FROM runs \
             WHERE run_id = $1 AND project_name = $2{}",
            match self.backend() {
                Backend::Postgres => " FOR UPDATE",
                Backend::Sqlite => "",
            }
        );
        // An async block, so that leaving it early does not leave the function.
        let recorded = on_writer!(self, pool => async {
            let mut tx = pool.begin_write().await?;
            // Taking the run's row first also orders this write after (or before) any state
            // merge of the same run on PostgreSQL, and tells whether this write ends the run.
            let logs = logs.filter(|_| final_phase.is_some());
            let before: Option<(Option<RunPhase>, Option<String>, Option<i64>)> =
                sqlx::query_as(&lock_run)
                    .bind(run_id)
                    .bind(project)
                    .bind(logs.is_some())
                    .fetch_optional(&mut *tx)
                    .await?;
            let ended_now = final_phase.is_some()
                && before.as_ref().is_some_and(|(phase, _, _)| phase.is_none());
            let output = match (logs, before) {
                (Some((logs, limit)), Some((_, Some(stored), appended))) => {
                    Some(ended_output((stored, appended), logs, limit))
                }
                _ => None,
            };
            let ended: Option<(i64,)> = sqlx::query_as(
                "UPDATE runs SET final_phase = $3, output = COALESCE($4, output), \
                 output_truncated = COALESCE($6, output_truncated), \
                 api_output_bytes = COALESCE($7, api_output_bytes), \
                 updated_at = CASE WHEN $4 IS NULL THEN updated_at ELSE $5 END \
                 WHERE run_id = $1 AND project_name = $2 AND (final_phase IS NULL OR $3 IS NOT NULL) \
                 RETURNING seq",
            )
            .bind(run_id)
            .bind(project)
            .bind(final_phase)
            .bind(output.as_ref().map(|(capped, _)| capped.text.as_str()))
            .bind(at)
            .bind(output.as_ref().map(|(capped, _)| capped.truncated))
            .bind(output.as_ref().map(|(_, appended)| *appended))
            .fetch_optional(&mut *tx)
            .await?;
            // Unchanged: the transaction is dropped (rolled back) before asking why.
            let Some((seq,)) = ended else {
                return Ok(None);
            };
            let record: RunMetadataRecord = sqlx::query_as(
                "INSERT INTO run_metadata (run_seq, run_id, config_id, version_number, phase, started_at, \
                 finished_at, message, nodes, duration_s, retries, failed_nodes, updated_at) \
                 SELECT seq, run_id, config_id, version_number, $2, $3, $4, $5, $6, $7, $8, $9, $10 \
                 FROM runs WHERE seq = $1 \
                 ON CONFLICT (run_seq) DO UPDATE SET phase = excluded.phase, \
                 started_at = excluded.started_at, finished_at = excluded.finished_at, \
                 message = excluded.message, nodes = excluded.nodes, duration_s = excluded.duration_s, \
                 retries = excluded.retries, failed_nodes = excluded.failed_nodes, \
                 updated_at = excluded.updated_at \
                 RETURNING run_id, phase, started_at, finished_at, message, nodes, duration_s, retries, \
                 failed_nodes, updated_at",
            )
            .bind(seq)
            .bind(metadata.phase)
            .bind(metadata.started_at)
            .bind(metadata.finished_at)
            .bind(&metadata.message)
            .bind(Json(&metadata.nodes))
            .bind(metadata.duration_s)
            .bind(metadata.retries)
            .bind(Json(&metadata.failed_nodes))
            .bind(at)
            .fetch_one(&mut *tx)
            .await?;
            let revoked_tokens: Vec<(String,)> = if final_phase.is_some() {
                sqlx::query_as(
                    "UPDATE tokens SET revoked_at = $2 WHERE run_id = $1 AND revoked_at IS NULL \
                     RETURNING id",
                )
                .bind(run_id)
                .bind(at)
                .fetch_all(&mut *tx)
                .await?
            } else {
                Vec::new()
            };
            tx.commit().await?;
            Ok::<_, StoreError>(Some(RecordedMetadata {
                record,
                revoked_tokens: revoked_tokens.into_iter().map(|(id,)| id).collect(),
                ended_now,
            }))
        }
        .await)?;
        match recorded {
            Some(recorded) => Ok(recorded),
            None => Err(self.why_unchanged(project, run_id).await),
        }
    }

    pub async fn get_run_metadata(
        &self,
        project: &ProjectName,
        run_id: &RunId,
    ) -> Result<RunMetadataRecord, StoreError> {
        let record: RunMetadataRecord = on_reader!(self, pool => sqlx::query_as(
            "SELECT m.run_id, m.phase, m.started_at, m.finished_at, m.message, m.nodes, m.duration_s, \
             m.retries, m.failed_nodes, m.updated_at FROM run_metadata m JOIN runs r ON r.seq = m.run_seq \
             WHERE m.run_id = $1 AND r.project_name = $2",
        )
        .bind(run_id)
        .bind(project)
        .fetch_one(pool)
        .await)?;
        Ok(record)
    }
}

/// The output a run ends with, and the length of what its jobs appended: the whole stored
/// output the first time, its first `api_output_bytes` at a later final sync.
fn ended_output(
    (stored, appended_bytes): (String, Option<i64>),
    logs: &str,
    limit: OutputLimit,
) -> (CappedText, i64) {
    let appended = match appended_bytes.and_then(|n| usize::try_from(n).ok()) {
        // A pruned output no longer holds the appended part: it stays empty.
        Some(bytes) => stored.get(..bytes).unwrap_or(""),
        None => stored.as_str(),
    };
    let length = i64::try_from(appended.len()).unwrap_or(i64::MAX);
    (limit.join_logs(appended, logs), length)
}
