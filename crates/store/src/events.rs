//! The event log (`logs`): who did what, written in the transaction of the change itself.

use crate::records::EventRow;
use crate::{on_reader, NewEvent, Store, StoreError};
use chrono::{DateTime, Utc};
use polyphemus_model::{ConfigId, Event, ProjectName};

pub(crate) const INSERT_EVENT: &str = "INSERT INTO logs \
    (at, project_name, actor, action, config_id, version_number, run_id, detail) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

/// Builds the insert of `$event` at `$at` for whichever backend executes it.
macro_rules! insert_event {
    ($event:expr, $at:expr) => {
        sqlx::query(crate::events::INSERT_EVENT)
            .bind($at)
            .bind(&$event.project_name)
            .bind(&$event.actor)
            .bind(&$event.action)
            .bind($event.config_id)
            .bind($event.version_number)
            .bind(&$event.run_id)
            .bind(sqlx::types::Json(&$event.detail))
    };
}
pub(crate) use insert_event;

impl Store {
    /// Records an event on its own (for actions that change nothing else in the store).
    pub async fn record_event(&self, event: &NewEvent) -> Result<(), StoreError> {
        let at = Utc::now();
        crate::on_writer!(self, pool => insert_event!(event, at).execute(pool).await.map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// Events of a project, newest first, optionally of one config; `before` is an event id.
    pub async fn list_events(
        &self,
        project: &ProjectName,
        config_id: Option<ConfigId>,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Event>, StoreError> {
        let rows: Vec<EventRow> = on_reader!(self, pool => sqlx::query_as(
            "SELECT id, at, actor, action, config_id, version_number, run_id, detail FROM logs \
             WHERE project_name = $1 AND ($2 IS NULL OR config_id = $2) AND id < $3 \
             ORDER BY id DESC LIMIT $4",
        )
        .bind(project)
        .bind(config_id)
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(pool)
        .await)?;
        Ok(rows.into_iter().map(event_from_row).collect())
    }
}

fn event_from_row(row: EventRow) -> Event {
    Event {
        id: row.id,
        at: row.at,
        actor: row.actor,
        action: row.action,
        config_id: row.config_id,
        version_number: row.version_number,
        run_id: row.run_id,
        detail: row.detail.0,
    }
}

/// The time every write of one call stamps on its rows.
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now()
}
