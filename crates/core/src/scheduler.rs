//! The scheduler: every tick it claims the runtime configs that are due and launches each once.
//! Several schedulers may share one PostgreSQL: the claim settles who launches what.

use crate::schedule::Schedule;
use crate::Principal;
use crate::{CoreError, Services};
use chrono::{DateTime, Utc};
use polyphemus_model::{RunId, StopMode};
use polyphemus_store::{Claimed, DueAction, DueRuntime, NewEvent};
use serde_json::json;
use std::time::Duration;

/// Configs claimed per tick; the rest wait for the next tick.
const BATCH: i64 = 100;
const ACTOR: &str = "scheduler";
/// How long `Replace` waits for the run it terminated to be recorded as ended.
const REPLACE_WAIT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct Scheduler {
    services: Services,
    tick: Duration,
}

impl Scheduler {
    pub fn new(services: Services, tick: Duration) -> Self {
        Self { services, tick }
    }

    /// Ticks until `shutdown` resolves.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut interval = tokio::time::interval(self.tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tracing::info!(tick_s = self.tick.as_secs_f64(), "scheduler started");
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                _ = interval.tick() => {
                    if let Err(error) = self.tick().await {
                        tracing::warn!(%error, "scheduler tick failed");
                    }
                }
            }
        }
        tracing::info!("scheduler stopped");
    }

    /// Claims what is due now and launches it; returns how many runs were launched.
    pub async fn tick(&self) -> Result<usize, CoreError> {
        self.tick_at(Utc::now()).await
    }

    /// Claims what is due at `now` and launches it (the clock is a parameter for tests),
    /// reports runs gone past their expected duration, and advances running backfills.
    pub async fn tick_at(&self, now: DateTime<Utc>) -> Result<usize, CoreError> {
        self.report_overdue(now).await;
        let mut launched = self.services.advance_backfills(now).await;
        loop {
            let due = self
                .services
                .store
                .claim_due_runtimes(now, BATCH, |runtime| next_due(runtime, now))
                .await?;
            if let Some(oldest) = due.iter().map(|d| d.runtime.next_run_at).min() {
                self.services
                    .record_scheduler_lag((now - oldest).num_milliseconds());
            }
            for claimed in &due {
                if self.act_on(claimed).await {
                    launched += 1;
                }
            }
            if i64::try_from(due.len()).unwrap_or(0) < BATCH {
                return Ok(launched);
            }
        }
    }

    /// Tells the channels of each run newly past its expected duration, once.
    async fn report_overdue(&self, now: DateTime<Utc>) {
        let overdue = match self.services.store.claim_overdue_runs(now).await {
            Ok(overdue) => overdue,
            Err(error) => {
                tracing::warn!(%error, "looking for overdue runs");
                return;
            }
        };
        for (project, config_id, run_id, seconds) in overdue {
            tracing::warn!(%project, %config_id, %run_id, seconds, "run overdue");
            self.services
                .alert_overdue(&project, config_id, &run_id, seconds);
        }
    }

    /// Does what the claim decided for one due time; whether a run was launched. A launch
    /// ends the claim's launch-in-progress mark however it went.
    async fn act_on(&self, claimed: &Claimed) -> bool {
        let runtime = &claimed.runtime;
        let launched = match &claimed.action {
            DueAction::Skip(reason) => {
                tracing::info!(config_id = %runtime.config_id, ?reason, "due time skipped");
                return false;
            }
            DueAction::Launch => self.launch(runtime).await,
            DueAction::Replace { run_id, name } => {
                self.replace(runtime, run_id, name).await;
                self.launch(runtime).await
            }
        };
        if let Err(error) = self
            .services
            .store
            .release_launch_claim(runtime.config_id)
            .await
        {
            tracing::warn!(config_id = %runtime.config_id, %error, "releasing a launch claim");
        }
        launched
    }

    /// `Replace`: terminates the active run and waits (a while) for its end to be recorded.
    async fn replace(&self, runtime: &DueRuntime, run_id: &RunId, name: &str) {
        let access = Principal::system().access(&runtime.project_name);
        tracing::info!(config_id = %runtime.config_id, %run_id, %name, "replacing the active run");
        if let Err(error) = self
            .services
            .stop_run(&access, run_id, StopMode::Terminate)
            .await
        {
            tracing::warn!(%run_id, %error, "could not stop the run it replaces");
        }
        let deadline = tokio::time::Instant::now() + REPLACE_WAIT;
        while tokio::time::Instant::now() < deadline {
            match self
                .services
                .store
                .active_run(&runtime.project_name, runtime.config_id)
                .await
            {
                Ok(Some((active, _))) if active == *run_id => {
                    tokio::time::sleep(Duration::from_millis(200)).await
                }
                _ => return,
            }
        }
        tracing::warn!(%run_id, "the replaced run has not ended yet; launching anyway");
    }

    /// Launches the latest version of a due config; a failure is logged and put in the event
    /// log, and the config waits for its next due time.
    async fn launch(&self, runtime: &DueRuntime) -> bool {
        let result = async {
            let project = &runtime.project_name;
            let record = self
                .services
                .store
                .config_version(project, runtime.config_id, runtime.latest_version)
                .await?;
            let yaml = self.services.launchable(&record)?.workflow_yaml.clone();
            self.services
                .submit_run(ACTOR, project, &record, yaml, Vec::new())
                .await
        }
        .await;
        match result {
            Ok(run) => {
                tracing::info!(config_id = %runtime.config_id, run_id = %run.run_id, "scheduled run launched");
                true
            }
            Err(error) => {
                tracing::warn!(config_id = %runtime.config_id, %error, "scheduled launch failed");
                let mut event = NewEvent::new(
                    &runtime.project_name,
                    ACTOR,
                    "run.launch_failed",
                    json!({
                        "due_at": runtime.next_run_at,
                        "error": error.to_string(),
                        "errors": error.field_errors(),
                    }),
                );
                event.config_id = Some(runtime.config_id);
                event.version_number = Some(runtime.latest_version);
                if let Err(error) = self.services.store.record_event(&event).await {
                    tracing::warn!(%error, "recording a failed launch");
                }
                false
            }
        }
    }
}

/// The next due time strictly after `now` (not after the missed one: catching up runs once).
fn next_due(runtime: &DueRuntime, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let schedule = match (runtime.run_interval_s, runtime.cron.as_ref()) {
        (Some(seconds), _) => Schedule::every_seconds(seconds),
        (None, Some(cron)) => Schedule::cron(cron, runtime.timezone.as_deref()),
        (None, None) => return None,
    };
    match schedule {
        Ok(schedule) => schedule.next_after(now),
        Err(error) => {
            tracing::warn!(config_id = %runtime.config_id, %error, "unreadable schedule; not rescheduled");
            None
        }
    }
}
