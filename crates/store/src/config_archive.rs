//! Archiving a config: a mark on its head row that hides it from the status list and keeps
//! the scheduler from claiming it; its versions and runs stay.

use crate::events::{insert_event, now};
use crate::BeginWrite;
use crate::{on_reader, on_writer, NewEvent, Store, StoreError};
use chrono::{DateTime, Utc};
use polyphemus_model::{ConfigId, ProjectName};

impl Store {
    /// Archives (`archived`) or unarchives a config and records `event`, in one statement
    /// and transaction. Returns when it was archived (`None` once unarchived); archiving an
    /// archived config keeps its first time.
    pub async fn set_config_archived(
        &self,
        project: &ProjectName,
        config_id: ConfigId,
        archived: bool,
        mut event: NewEvent,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let at = now();
        on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let (archived_at,): (Option<DateTime<Utc>>,) = sqlx::query_as(
                "UPDATE config_heads \
                 SET archived_at = CASE WHEN $3 THEN COALESCE(archived_at, $4) ELSE NULL END \
                 WHERE config_id = $1 AND project_name = $2 RETURNING archived_at",
            )
            .bind(config_id)
            .bind(project)
            .bind(archived)
            .bind(at)
            .fetch_one(&mut *tx)
            .await?;
            event.config_id = Some(config_id);
            insert_event!(event, at).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(archived_at)
        })
    }

    /// When the config was archived, `None` while it is not; `NotFound` without the config.
    pub async fn config_archived_at(
        &self,
        project: &ProjectName,
        config_id: ConfigId,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let (archived_at,): (Option<DateTime<Utc>>,) = on_reader!(self, pool => sqlx::query_as(
                "SELECT archived_at FROM config_heads WHERE config_id = $1 AND project_name = $2",
            )
            .bind(config_id)
            .bind(project)
            .fetch_one(pool)
            .await)?;
        Ok(archived_at)
    }
}
