//! The run PATCH: state keys merged and output appended or replaced, atomically in SQL, within
//! the run's output limit. The common case is one statement whose WHERE checks the limit; only
//! an append that would cross it takes the row's lock, cuts the append to what fits and adds
//! the truncation marker.

use crate::events::now;
use crate::{on_writer, Backend, BeginWrite, Pools, RunChange, StateAnswer, Store, StoreError};
use chrono::{DateTime, Utc};
use polyphemus_model::{ConfigId, OutputLimit, ProjectName, RunChanged, RunId};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{PgConnection, SqliteConnection};

/// What the merge returns: the run without its output or state.
#[derive(sqlx::FromRow)]
struct ChangedRow {
    seq: i64,
    config_id: ConfigId,
    run_id: RunId,
    output_bytes: i64,
    output_truncated: bool,
    updated_at: DateTime<Utc>,
}

impl ChangedRow {
    fn into_changed(self, state: Value) -> RunChanged {
        RunChanged {
            run_id: self.run_id,
            state,
            output_bytes: u64::try_from(self.output_bytes).unwrap_or(0),
            output_truncated: self.output_truncated,
            updated_at: self.updated_at,
        }
    }
}

/// The SQL expression of a run's whole state, gathered from its key rows (one index range on
/// `run_state_keys_by_run`); `seq` is the SQL of the run's `seq`.
pub(crate) fn state_of_run(backend: Backend, seq: &str) -> String {
    match backend {
        Backend::Postgres => format!(
            "COALESCE((SELECT jsonb_object_agg(k.key, k.value) FROM run_state_keys k \
             WHERE k.run_seq = {seq}), '{{}}'::jsonb)"
        ),
        Backend::Sqlite => format!(
            "COALESCE((SELECT json_group_object(k.key, json(k.value)) FROM run_state_keys k \
             WHERE k.run_seq = {seq}), '{{}}')"
        ),
    }
}

/// One merge statement's output part: the text to append or replace with, the most bytes the
/// output may hold afterwards for the statement to apply, and the truncation flag to set.
struct OutputWrite<'a> {
    append: &'a str,
    replace: Option<&'a str>,
    max_bytes: i64,
    set_truncated: Option<bool>,
}

impl Store {
    /// Merges state keys (top-level keys replace), appends or replaces output, in SQL, keeping
    /// the output within `limit`. Keys must already be checked with
    /// `polyphemus_model::check_key`. A run that has ended is `RunEnded`: the check is part of
    /// the UPDATE, so no write lands after the final sync.
    pub async fn change_run(
        &self,
        project: &ProjectName,
        run_id: &RunId,
        change: &RunChange,
        limit: OutputLimit,
    ) -> Result<RunChanged, StoreError> {
        let append = change.append_output.as_deref().unwrap_or("");
        // A replacement is known whole here: it is cut before it reaches SQL.
        let replaced = change
            .replace_output
            .as_ref()
            .map(|text| limit.cap(format!("{text}{append}")));
        let write = OutputWrite {
            append: if replaced.is_some() { "" } else { append },
            replace: replaced.as_ref().map(|capped| capped.text.as_str()),
            // A replacement was cut above; only an append is checked against the room left.
            max_bytes: match replaced {
                Some(_) => i64::MAX,
                None => i64::try_from(limit.room()).unwrap_or(i64::MAX),
            },
            set_truncated: replaced.as_ref().map(|capped| capped.truncated),
        };
        let merged = match &self.pools {
            // One statement, atomic by itself: no transaction round trips on the hot path.
            Pools::Postgres(pool) => {
                let mut conn = pool.acquire().await?;
                conn.merge_run((project, run_id), &change.state, &write)
                    .await?
            }
            Pools::Sqlite { write: pool, .. } => {
                let mut tx = pool.begin_write().await?;
                let row = tx
                    .merge_run((project, run_id), &change.state, &write)
                    .await?;
                tx.commit().await?;
                row
            }
        };
        if let Some(row) = merged {
            return self.answer(row, change).await;
        }
        match self.why_unchanged(project, run_id).await {
            StoreError::NotFound if self.run_is_open(project, run_id).await? => {
                self.change_run_past_limit(project, run_id, &change.state, append, limit)
                    .await
            }
            error => Err(error),
        }
    }

    /// Whether the run exists and has not ended (its output then was what stopped the merge).
    async fn run_is_open(&self, project: &ProjectName, run_id: &RunId) -> Result<bool, StoreError> {
        let found: Option<(i64,)> = crate::on_reader!(self, pool => sqlx::query_as(
                "SELECT seq FROM runs WHERE run_id = $1 AND project_name = $2 AND final_phase IS NULL",
            )
            .bind(run_id)
            .bind(project)
            .fetch_optional(pool)
            .await)?;
        Ok(found.is_some())
    }

    /// The merge of an append that would take the output past `limit`: under the row's lock,
    /// the part of `append` that fits goes in with the marker, or nothing once it is there.
    async fn change_run_past_limit(
        &self,
        project: &ProjectName,
        run_id: &RunId,
        state: &serde_json::Map<String, Value>,
        append: &str,
        limit: OutputLimit,
    ) -> Result<RunChanged, StoreError> {
        let (lock, length) = match &self.pools {
            Pools::Postgres(_) => (" FOR UPDATE", "octet_length(output)::bigint"),
            Pools::Sqlite { .. } => ("", "length(CAST(output AS BLOB))"),
        };
        let sql = format!(
            "SELECT {length}, output_truncated FROM runs \
             WHERE run_id = $1 AND project_name = $2 AND final_phase IS NULL{lock}"
        );
        let merged = on_writer!(self, pool => async {
            let mut tx = pool.begin_write().await?;
            let current: Option<(i64, bool)> = sqlx::query_as(&sql)
                .bind(run_id)
                .bind(project)
                .fetch_optional(&mut *tx)
                .await?;
            let Some((bytes, truncated)) = current else {
                return Ok(None);
            };
            let bytes = u64::try_from(bytes).unwrap_or(0);
            let piece = if truncated {
                String::new()
            } else if bytes + append.len() as u64 <= limit.room() {
                append.to_owned()
            } else {
                limit.cap_append(bytes, append)
            };
            let write = OutputWrite {
                set_truncated: Some(truncated || piece != append),
                append: &piece,
                replace: None,
                max_bytes: i64::MAX,
            };
            let row = tx.merge_run((project, run_id), state, &write).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(row)
        }.await)?;
        match merged {
            Some(row) => {
                self.answer(
                    row,
                    &RunChange {
                        state: state.clone(),
                        ..RunChange::default()
                    },
                )
                .await
            }
            None => Err(self.why_unchanged(project, run_id).await),
        }
    }

    /// What a merge answers: the run's whole state (read after the merge, so it holds at least
    /// this merge's keys) or, when asked, only the keys merged, which costs nothing more.
    async fn answer(&self, row: ChangedRow, change: &RunChange) -> Result<RunChanged, StoreError> {
        let state = match change.answer {
            StateAnswer::MergedKeys => Value::Object(change.state.clone()),
            StateAnswer::WholeState => self.run_state(row.seq).await?,
        };
        Ok(row.into_changed(state))
    }

    /// A run's whole state, by its `seq`.
    async fn run_state(&self, seq: i64) -> Result<Value, StoreError> {
        let sql = format!("SELECT {}", state_of_run(self.backend(), "$1"));
        let (state,): (Json<Value>,) = on_writer!(self, pool =>
            sqlx::query_as(&sql).bind(seq).fetch_one(pool).await)?;
        Ok(state.0)
    }
}

/// The merge statement on either store, within the caller's transaction.
trait Merge {
    async fn merge_run(
        &mut self,
        run: (&ProjectName, &RunId),
        state: &serde_json::Map<String, Value>,
        write: &OutputWrite<'_>,
    ) -> Result<Option<ChangedRow>, StoreError>;
}

impl Merge for PgConnection {
    async fn merge_run(
        &mut self,
        (project, run_id): (&ProjectName, &RunId),
        state: &serde_json::Map<String, Value>,
        write: &OutputWrite<'_>,
    ) -> Result<Option<ChangedRow>, StoreError> {
        Ok(sqlx::query_as(MERGE_RUN_POSTGRES)
            .bind(Json(state))
            .bind(write.append)
            .bind(write.replace)
            .bind(now())
            .bind(run_id)
            .bind(project)
            .bind(write.max_bytes)
            .bind(write.set_truncated)
            .fetch_optional(self)
            .await?)
    }
}

impl Merge for SqliteConnection {
    async fn merge_run(
        &mut self,
        (project, run_id): (&ProjectName, &RunId),
        state: &serde_json::Map<String, Value>,
        write: &OutputWrite<'_>,
    ) -> Result<Option<ChangedRow>, StoreError> {
        let row: Option<ChangedRow> = sqlx::query_as(
            "UPDATE runs SET output = CASE WHEN $1 = '' AND $2 IS NULL THEN output \
               ELSE COALESCE($2, output) || $1 END, \
             output_truncated = COALESCE($7, output_truncated), updated_at = $3 \
             WHERE run_id = $4 AND project_name = $5 AND final_phase IS NULL \
               AND length(CAST(COALESCE($2, output) AS BLOB)) + length(CAST($1 AS BLOB)) <= $6 \
             RETURNING seq, config_id, run_id, length(CAST(output AS BLOB)) AS output_bytes, \
               output_truncated, updated_at",
        )
        .bind(write.append)
        .bind(write.replace)
        .bind(now())
        .bind(run_id)
        .bind(project)
        .bind(write.max_bytes)
        .bind(write.set_truncated)
        .fetch_optional(&mut *self)
        .await?;
        if let (Some(row), false) = (&row, state.is_empty()) {
            sqlx::query(
                "INSERT INTO run_state_keys (config_id, key, run_seq, value) \
                 SELECT $1, key, $2, $3 -> fullkey FROM json_each($3) WHERE true \
                 ON CONFLICT (config_id, key, run_seq) DO UPDATE SET value = excluded.value",
            )
            .bind(row.config_id)
            .bind(row.seq)
            .bind(Json(state))
            .execute(self)
            .await?;
        }
        Ok(row)
    }
}

/// The run-merge statement for PostgreSQL: one statement updates the run's output and upserts
/// one row per merged state key, so it writes only what it merges (an output left as it is
/// keeps its stored value, not a copy).
const MERGE_RUN_POSTGRES: &str = "WITH updated AS ( \
       UPDATE runs SET output = CASE WHEN $2 = '' AND $3::text IS NULL THEN output \
           ELSE COALESCE($3, output) || $2 END, \
         output_truncated = COALESCE($8, output_truncated), updated_at = $4 \
       WHERE run_id = $5 AND project_name = $6 AND final_phase IS NULL \
         AND octet_length(COALESCE($3, output)) + octet_length($2) <= $7 \
       RETURNING seq, config_id, run_id, octet_length(output)::bigint AS output_bytes, \
         output_truncated, updated_at \
     ), stored AS ( \
       INSERT INTO run_state_keys (config_id, key, run_seq, value) \
       SELECT u.config_id, k.key, u.seq, k.value FROM updated u, jsonb_each($1) AS k \
       ON CONFLICT (config_id, key, run_seq) DO UPDATE SET value = EXCLUDED.value \
     ) SELECT * FROM updated";
