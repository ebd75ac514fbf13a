//! What the scheduler's tick does for backfills: settle the end of each one's current run, then
//! launch its next window once the config has no active run. The window is claimed in SQL, so
//! schedulers sharing a database never launch one window twice.

use super::backfills::span_of;
use super::launch::Launch;
use super::Services;
use crate::{CoreError, Principal};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use polyphemus_model::{BackfillState, BackfillWindow, RunId, RunPhase};
use polyphemus_store::{BackfillRecord, BackfillToAdvance};
use serde_json::{json, Map, Value};

const ACTOR: &str = "scheduler";

/// A claim older than this is taken to belong to a scheduler that died mid-launch.
const STALE_CLAIM: Duration = Duration::minutes(10);

impl Services {
    /// Advances every running backfill once; how many window runs were launched.
    pub(crate) async fn advance_backfills(&self, now: DateTime<Utc>) -> usize {
        let pending = match self.store.backfills_to_advance().await {
            Ok(pending) => pending,
            Err(error) => {
                tracing::warn!(%error, "looking for backfills to advance");
                return 0;
            }
        };
        let mut launched = 0;
        for item in pending {
            let id = item.backfill.id;
            match self.advance_backfill(item, now).await {
                Ok(true) => launched += 1,
                Ok(false) => {}
                Err(error) => tracing::warn!(backfill_id = %id, %error, "advancing a backfill"),
            }
        }
        launched
    }

    /// Settles the current run's end if it has one, then launches the next window if it may.
    async fn advance_backfill(
        &self,
        item: BackfillToAdvance,
        now: DateTime<Utc>,
    ) -> Result<bool, CoreError> {
        let mut backfill = item.backfill;
        if let Some(run_id) = backfill.current_run_id.clone() {
            let ended = if item.current_run_gone {
                Some(format!(
                    "run {run_id} of {} is gone",
                    window_name(&backfill)
                ))
            } else {
                match item.current_phase {
                    None => return Ok(false),
                    Some(RunPhase::Succeeded) => None,
                    Some(phase) => Some(format!(
                        "run {run_id} of {} ended {phase}",
                        window_name(&backfill)
                    )),
                }
            };
            match self.settle_window(&backfill, &run_id, ended).await? {
                Some(settled) => backfill = settled,
                None => return Ok(false),
            }
        }
        if backfill.state != BackfillState::Running || backfill.next_window >= backfill.windows {
            return Ok(false);
        }
        self.launch_window(&backfill, now).await
    }

    /// Records the current run's end: success moves to the next window, `failure` (a reason)
    /// fails the backfill there. `None` when another scheduler settled it first.
    async fn settle_window(
        &self,
        backfill: &BackfillRecord,
        run_id: &RunId,
        failure: Option<String>,
    ) -> Result<Option<BackfillRecord>, CoreError> {
        let settled = match &failure {
            None => {
                self.store
                    .settle_backfill_success(backfill.id, run_id)
                    .await?
            }
            Some(reason) => {
                self.store
                    .settle_backfill_failure(backfill.id, run_id, reason)
                    .await?
            }
        };
        if let Some(record) = &settled {
            match record.state {
                BackfillState::Done => tracing::info!(backfill_id = %record.id, "backfill done"),
                BackfillState::Failed => {
                    tracing::warn!(backfill_id = %record.id, reason = ?failure, "backfill failed")
                }
                _ => {}
            }
        }
        Ok(settled)
    }

    /// Claims the backfill's next window and launches the config's latest version with the
    /// window in its params. Whether a run was launched.
    async fn launch_window(
        &self,
        backfill: &BackfillRecord,
        now: DateTime<Utc>,
    ) -> Result<bool, CoreError> {
        let index = backfill.next_window;
        let Some(window) = span_of(backfill).and_then(|span| span.window(index)) else {
            return Ok(false);
        };
        let claimed = self
            .store
            .claim_backfill_window(backfill.id, index, now, now - STALE_CLAIM)
            .await?;
        if !claimed {
            return Ok(false);
        }
        match self.submit_window(backfill, window).await {
            Ok(run_id) => {
                self.store
                    .record_backfill_launch(backfill.id, index, &run_id)
                    .await?;
                tracing::info!(backfill_id = %backfill.id, %run_id, window = index + 1,
                    windows = backfill.windows, "backfill window launched");
                Ok(true)
            }
            Err(error) => {
                let reason = format!("launching {} failed: {error}", window_name(backfill));
                self.store
                    .fail_backfill_launch(backfill.id, &reason)
                    .await?;
                tracing::warn!(backfill_id = %backfill.id, %error, "backfill launch failed");
                Ok(false)
            }
        }
    }

    async fn submit_window(
        &self,
        backfill: &BackfillRecord,
        window: BackfillWindow,
    ) -> Result<RunId, CoreError> {
        let access = Principal::system().access(&backfill.project_name);
        // An archived config is not launched: its backfill fails saying so.
        self.refuse_archived(&access, backfill.config_id).await?;
        let record = self.latest_record(&access, backfill.config_id).await?;
        let workflow_yaml = self.launchable(&record)?.workflow_yaml.clone();
        let run = self
            .submit_launch(Launch {
                actor: ACTOR,
                project: &backfill.project_name,
                record: &record,
                workflow_yaml,
                extra_parameters: Vec::new(),
                params: window_params(backfill, window),
            })
            .await?;
        Ok(run.run_id)
    }
}

/// The run params of a window: `start_time`, `end_time` (RFC 3339) and `backfill_id`.
fn window_params(backfill: &BackfillRecord, window: BackfillWindow) -> Map<String, Value> {
    let text = |at: DateTime<Utc>| at.to_rfc3339_opts(SecondsFormat::Secs, true);
    let params = json!({
        "start_time": text(window.start_time),
        "end_time": text(window.end_time),
        "backfill_id": backfill.id,
    });
    match params {
        Value::Object(params) => params,
        _ => Map::new(),
    }
}

/// "window 3/5" of the backfill's current window.
fn window_name(backfill: &BackfillRecord) -> String {
    format!("window {}/{}", backfill.next_window + 1, backfill.windows)
}
