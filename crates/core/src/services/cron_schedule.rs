//! The CronWorkflow scheduler: each look finds, per CronWorkflow that is not suspended, the
//! latest schedule time not past its starting deadline, claims it in SQL (one server wins a
//! tick) and creates its Workflow as an ad-hoc run, as `POST /workflows` does.

use super::cron_workflow_doc::{workflow_of, CronSettings};
use super::Services;
use crate::auth::ALL_PROJECTS;
use crate::{Access, CoreError, Principal};
use chrono::{DateTime, Utc};
use polyphemus_model::{ConcurrencyPolicy, Role, RunId, StopMode};
use polyphemus_store::{CronWorkflowRecord, NewEvent};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

/// How long `Replace` waits for the workflows it terminated to be recorded as ended.
const REPLACE_WAIT: Duration = Duration::from_secs(30);

impl Services {
    /// Creates the Workflow of every CronWorkflow tick due at `now` (the clock is a parameter,
    /// so tests choose it); returns how many were created. A tick missed by more than the
    /// starting deadline is skipped, so a server that was down never catches up in a burst.
    pub async fn run_due_cron_workflows(&self, now: DateTime<Utc>) -> Result<usize, CoreError> {
        let mut created = 0;
        for record in self.store.schedulable_cron_workflows().await? {
            let settings = match CronSettings::parse(&record.document.0) {
                Ok(settings) => settings,
                Err(error) => {
                    tracing::warn!(cron_workflow = %record.name, %error, "unreadable schedule");
                    continue;
                }
            };
            let after = record.last_tick_at.unwrap_or(record.created_at);
            let Some(tick) = settings.due_tick(after, now) else {
                continue;
            };
            if !self.store.claim_cron_tick(record.id, tick).await? {
                continue;
            }
            match self.run_cron_tick(&record, &settings, tick).await {
                Ok(true) => created += 1,
                Ok(false) => {}
                Err(error) => {
                    tracing::warn!(cron_workflow = %record.name, %error, "scheduled workflow failed");
                    let detail = json!({"cron_workflow": record.name, "scheduled_time": tick,
                                        "error": error.to_string()});
                    self.cron_event(&record, "cron_workflow.failed", detail)
                        .await;
                }
            }
        }
        Ok(created)
    }

    /// Does one claimed tick under the concurrency policy; whether a workflow was created.
    async fn run_cron_tick(
        &self,
        record: &CronWorkflowRecord,
        settings: &CronSettings,
        tick: DateTime<Utc>,
    ) -> Result<bool, CoreError> {
        let access = cron_principal(&record.name).access(&record.project_name);
        let active = self.store.active_cron_runs(record.id).await?;
        if !active.is_empty() {
            match settings.concurrency {
                ConcurrencyPolicy::Allow => {}
                ConcurrencyPolicy::Forbid => {
                    let names: Vec<&str> = active.iter().map(|(_, name)| name.as_str()).collect();
                    let detail = json!({"cron_workflow": record.name, "scheduled_time": tick,
                                        "reason": "concurrencyPolicy Forbid", "active": names});
                    self.cron_event(record, "cron_workflow.skipped", detail)
                        .await;
                    return Ok(false);
                }
                ConcurrencyPolicy::Replace => {
                    self.replace_cron_runs(&access, record, &active).await
                }
            }
        }
        let workflow = workflow_of(&record.name, &record.document.0, tick);
        let created = self.create_argo_workflow(&access, workflow, false).await?;
        let run_id = RunId::parse(created["metadata"]["uid"].as_str().unwrap_or_default())?;
        self.store.record_cron_run(record.id, tick, &run_id).await?;
        tracing::info!(cron_workflow = %record.name, %run_id, %tick, "scheduled workflow created");
        Ok(true)
    }

    /// `Replace`: terminates the running workflows and waits (a while) for their ends.
    async fn replace_cron_runs(
        &self,
        access: &Access,
        record: &CronWorkflowRecord,
        active: &[(RunId, String)],
    ) {
        for (run_id, name) in active {
            tracing::info!(cron_workflow = %record.name, %name, "replacing a running workflow");
            if let Err(error) = self.stop_run(access, run_id, StopMode::Terminate).await {
                tracing::warn!(%run_id, %error, "could not stop the workflow it replaces");
            }
        }
        let deadline = tokio::time::Instant::now() + REPLACE_WAIT;
        while tokio::time::Instant::now() < deadline {
            match self.store.active_cron_runs(record.id).await {
                Ok(still) if !still.is_empty() => {
                    tokio::time::sleep(Duration::from_millis(200)).await
                }
                _ => return,
            }
        }
        tracing::warn!(cron_workflow = %record.name, "replaced workflows have not ended; starting anyway");
    }

    async fn cron_event(
        &self,
        record: &CronWorkflowRecord,
        action: &str,
        detail: serde_json::Value,
    ) {
        let actor = cron_principal(&record.name).actor();
        let event = NewEvent::new(&record.project_name, &actor, action, detail);
        if let Err(error) = self.store.record_event(&event).await {
            tracing::warn!(%error, "recording a cron workflow event");
        }
    }
}

/// Who a CronWorkflow's workflows are created by: the event log names the CronWorkflow.
fn cron_principal(name: &str) -> Principal {
    Principal::User {
        token_id: String::new(),
        name: format!("cron-workflow:{name}"),
        roles: BTreeMap::from([(ALL_PROJECTS.to_owned(), Role::Admin)]),
    }
}

/// Runs [`Services::run_due_cron_workflows`] every `every` until `shutdown` resolves.
pub async fn run_cron_workflows(
    services: Services,
    every: Duration,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            _ = interval.tick() => {
                if let Err(error) = services.run_due_cron_workflows(Utc::now()).await {
                    tracing::warn!(%error, "cron workflow look failed");
                }
            }
        }
    }
}
