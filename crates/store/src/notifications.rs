//! Notification channels: one row per channel of a project, its settings sealed by the caller.

use crate::events::{insert_event, now};
use crate::BeginWrite;
use crate::{on_reader, on_writer, NewEvent, Store, StoreError};
use chrono::{DateTime, Utc};
use polyphemus_model::{AlertEvent, ConfigId, ProjectName, RunId, RunPhase};
use sqlx::types::Json;

/// A channel as stored; `sealed_settings` is only opened to deliver.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChannelRecord {
    pub id: i64,
    pub project_name: ProjectName,
    pub name: String,
    pub kind: String,
    pub events: Json<Vec<AlertEvent>>,
    pub sealed_settings: String,
    pub target: String,
    pub created_at: DateTime<Utc>,
}

/// A channel to store.
#[derive(Debug, Clone)]
pub struct NewChannelRecord {
    pub name: String,
    pub kind: String,
    pub events: Vec<AlertEvent>,
    pub sealed_settings: String,
    pub target: String,
}

const COLUMNS: &str = "id, project_name, name, kind, events, sealed_settings, target, created_at";

impl Store {
    /// Stores a channel and its event; a second channel of the same name is `Conflict`.
    pub async fn create_channel(
        &self,
        project: &ProjectName,
        channel: &NewChannelRecord,
        mut event: NewEvent,
    ) -> Result<ChannelRecord, StoreError> {
        let at = now();
        let insert = format!(
            "INSERT INTO notification_channels (project_name, name, kind, events, sealed_settings, \
             target, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}"
        );
        on_writer!(self, pool => async {
            let mut tx = pool.begin_write().await?;
            let record: ChannelRecord = sqlx::query_as(&insert)
                .bind(project)
                .bind(&channel.name)
                .bind(&channel.kind)
                .bind(Json(&channel.events))
                .bind(&channel.sealed_settings)
                .bind(&channel.target)
                .bind(at)
                .fetch_one(&mut *tx)
                .await?;
            event.detail["channel_id"] = record.id.into();
            insert_event!(event, at).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(record)
        }.await)
    }

    /// The project's channels, oldest first.
    pub async fn list_channels(
        &self,
        project: &ProjectName,
    ) -> Result<Vec<ChannelRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM notification_channels WHERE project_name = $1 ORDER BY id"
        );
        Ok(on_reader!(self, pool =>
            sqlx::query_as(&sql).bind(project).fetch_all(pool).await)?)
    }

    /// One channel of the project, if it has one of that id.
    pub async fn get_channel(
        &self,
        project: &ProjectName,
        id: i64,
    ) -> Result<Option<ChannelRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM notification_channels WHERE project_name = $1 AND id = $2"
        );
        Ok(on_reader!(self, pool =>
            sqlx::query_as(&sql).bind(project).bind(id).fetch_optional(pool).await)?)
    }

    /// Deletes a channel of the project and records it; `NotFound` when there is none.
    pub async fn delete_channel(
        &self,
        project: &ProjectName,
        id: i64,
        event: NewEvent,
    ) -> Result<(), StoreError> {
        let at = now();
        on_writer!(self, pool => async {
            let mut tx = pool.begin_write().await?;
            let deleted = sqlx::query(
                "DELETE FROM notification_channels WHERE id = $1 AND project_name = $2",
            )
            .bind(id)
            .bind(project)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if deleted == 0 {
                return Err(StoreError::NotFound);
            }
            insert_event!(event, at).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        }.await)
    }

    /// The config of run `run_id` and the final phase of the config's run that ended before
    /// it, if any: whether a success follows failures.
    pub async fn previous_final_phase(
        &self,
        run_id: &RunId,
    ) -> Result<Option<(ConfigId, Option<RunPhase>)>, StoreError> {
        let found: Option<(ConfigId, Option<RunPhase>)> = on_reader!(self, pool => sqlx::query_as(
                "SELECT r.config_id, (SELECT p.final_phase FROM runs p WHERE p.config_id = r.config_id \
                   AND p.seq < r.seq AND p.final_phase IS NOT NULL ORDER BY p.seq DESC LIMIT 1) \
                 FROM runs r WHERE r.run_id = $1",
            )
            .bind(run_id)
            .fetch_optional(pool)
            .await)?;
        Ok(found)
    }
}
