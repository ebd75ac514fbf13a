//! Backfills: editors start, stop and resume them, viewers read their progress; the scheduler
//! launches their windows (`backfill_driver.rs`).

use super::configs::unprocessable;
use super::Services;
use crate::error::OrNotFound;
use crate::{Access, CoreError};
use polyphemus_model::{
    parse_instant, Backfill, BackfillId, BackfillSpan, BackfillState, ConfigId, Every,
    InvalidValue, Role, RunId, StartBackfill, WindowRuns,
};
use polyphemus_store::{BackfillRecord, NewBackfill, NewEvent, StoreError, ONE_RUNNING};
use serde_json::json;

/// Backfills listed per config, newest first.
const LIST_LIMIT: i64 = 100;

impl Services {
    /// Starts a backfill of the config's latest version over `[from, to)`: 422 naming the
    /// field for a bad time, interval or span, 404 for an unknown config, 409 naming the
    /// config's running backfill.
    pub async fn start_backfill(
        &self,
        access: &Access,
        config_id: ConfigId,
        request: StartBackfill,
    ) -> Result<Backfill, CoreError> {
        access.require(Role::Editor)?;
        let span = parse_span(&request).map_err(invalid)?;
        self.latest_record(access, config_id).await?;
        let new = NewBackfill {
            project_name: access.project().clone(),
            config_id,
            from_time: span.from,
            to_time: span.to,
            every_s: span.every.seconds(),
            windows: span.windows(),
            created_by: access.actor().to_owned(),
        };
        let event = NewEvent::new(
            access.project(),
            access.actor(),
            "backfill.started",
            json!({"from": span.from, "to": span.to, "every": span.every.to_string(),
                   "windows": span.windows()}),
        );
        let record = match self.store.insert_backfill(&new, event).await {
            Err(StoreError::Conflict(what)) if what == ONE_RUNNING => {
                return Err(self.already_running(config_id).await)
            }
            other => other?,
        };
        tracing::info!(project = %access.project(), %config_id, backfill_id = %record.id,
            windows = record.windows, "backfill started");
        Ok(to_wire(record, Vec::new()))
    }

    /// The config's backfills, newest first.
    pub async fn list_backfills(
        &self,
        access: &Access,
        config_id: ConfigId,
    ) -> Result<Vec<Backfill>, CoreError> {
        access.require(Role::Viewer)?;
        self.latest_record(access, config_id).await?;
        let records = self
            .store
            .list_backfills(access.project(), config_id, LIST_LIMIT)
            .await?;
        Ok(records
            .into_iter()
            .map(|record| to_wire(record, Vec::new()))
            .collect())
    }

    /// One backfill with the runs of each window launched so far.
    pub async fn get_backfill(
        &self,
        access: &Access,
        id: BackfillId,
    ) -> Result<Backfill, CoreError> {
        access.require(Role::Viewer)?;
        let record = self.backfill_record(access, id).await?;
        let runs = self.store.backfill_runs(id).await?;
        Ok(to_wire(record, runs))
    }

    /// Stops a running backfill; a run of it still active is left to finish (its end is
    /// recorded, and `resume` continues after it).
    pub async fn stop_backfill(
        &self,
        access: &Access,
        id: BackfillId,
    ) -> Result<Backfill, CoreError> {
        access.require(Role::Editor)?;
        let event = self.backfill_event(access, id, "backfill.stopped");
        let record = self
            .store
            .change_backfill_state(
                access.project(),
                id,
                &[BackfillState::Running],
                BackfillState::Stopped,
                event,
            )
            .await
            .or_not_found(|| format!("backfill {id}"))?;
        self.get_backfill(access, record.id).await
    }

    /// Resumes a stopped or failed backfill from the first window not yet succeeded; 409 when
    /// another backfill of the config runs meanwhile.
    pub async fn resume_backfill(
        &self,
        access: &Access,
        id: BackfillId,
    ) -> Result<Backfill, CoreError> {
        access.require(Role::Editor)?;
        let event = self.backfill_event(access, id, "backfill.resumed");
        let from = [BackfillState::Stopped, BackfillState::Failed];
        let changed = self
            .store
            .change_backfill_state(access.project(), id, &from, BackfillState::Running, event)
            .await;
        let record = match changed {
            Err(StoreError::Conflict(what)) if what == ONE_RUNNING => {
                let record = self.backfill_record(access, id).await?;
                return Err(self.already_running(record.config_id).await);
            }
            other => other.or_not_found(|| format!("backfill {id}"))?,
        };
        self.get_backfill(access, record.id).await
    }

    async fn backfill_record(
        &self,
        access: &Access,
        id: BackfillId,
    ) -> Result<BackfillRecord, CoreError> {
        self.store
            .get_backfill(access.project(), id)
            .await
            .or_not_found(|| format!("backfill {id}"))
    }

    fn backfill_event(&self, access: &Access, id: BackfillId, action: &str) -> NewEvent {
        NewEvent::new(
            access.project(),
            access.actor(),
            action,
            json!({"backfill_id": id}),
        )
    }

    /// 409 naming the config's running backfill.
    async fn already_running(&self, config_id: ConfigId) -> CoreError {
        let running = match self.store.running_backfill(config_id).await {
            Ok(Some(id)) => format!("backfill {id}"),
            _ => "another backfill".to_owned(),
        };
        CoreError::Conflict(format!(
            "{running} of config {config_id} is running; stop it or wait for it to end"
        ))
    }
}

/// The span a request asks for, or the first field that is wrong.
fn parse_span(request: &StartBackfill) -> Result<BackfillSpan, InvalidValue> {
    let from = parse_instant("from", &request.from)?;
    let to = parse_instant("to", &request.to)?;
    let every = Every::parse("every", &request.every)?;
    BackfillSpan::new(from, to, every)
}

fn invalid(error: InvalidValue) -> CoreError {
    unprocessable(
        error.to_string(),
        &format!("/{}", error.field),
        error.reason,
    )
}

/// The span of a stored backfill.
pub(crate) fn span_of(record: &BackfillRecord) -> Option<BackfillSpan> {
    let every = Every::from_seconds(record.every_s)?;
    Some(BackfillSpan {
        from: record.from_time,
        to: record.to_time,
        every,
    })
}

/// A stored backfill and its launched runs on the wire.
fn to_wire(record: BackfillRecord, runs: Vec<(i64, RunId)>) -> Backfill {
    let span = span_of(&record);
    let window = |index| span.as_ref().and_then(|span| span.window(index));
    let mut window_runs: Vec<WindowRuns> = Vec::new();
    for (index, run_id) in runs {
        match window_runs.last_mut() {
            Some(last) if last.index == index => last.run_ids.push(run_id),
            _ => {
                if let Some(found) = window(index) {
                    window_runs.push(WindowRuns {
                        index,
                        window: found,
                        run_ids: vec![run_id],
                    });
                }
            }
        }
    }
    let current_window = match record.state {
        BackfillState::Done => None,
        _ => window(record.next_window),
    };
    Backfill {
        id: record.id,
        project_name: record.project_name,
        config_id: record.config_id,
        from: record.from_time,
        to: record.to_time,
        every: Every::from_seconds(record.every_s)
            .map(|every| every.to_string())
            .unwrap_or_default(),
        every_s: record.every_s,
        state: record.state,
        windows: record.windows,
        done_windows: record.next_window,
        current_window,
        current_run_id: record.current_run_id,
        reason: record.reason,
        created_by: record.created_by,
        created_at: record.created_at,
        updated_at: record.updated_at,
        window_runs,
    }
}
