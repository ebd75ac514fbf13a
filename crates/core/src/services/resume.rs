//! Suspending a running run (`argo suspend`: no new step starts) and resuming a suspended one
//! (`argo resume`: its workflow-level suspension and every suspend node waiting end, and the
//! run goes on). Who may stop a run may suspend and resume it; who asked goes to the event
//! log. Suspending an ended run, or resuming one with nothing suspended, is a conflict.

use super::Services;
use crate::orchestrators::Asked;
use crate::{Access, CoreError};
use polyphemus_model::{Role, Run, RunId};
use polyphemus_store::NewEvent;
use serde_json::json;

impl Services {
    /// Asks the orchestrator to resume the run's workflow.
    pub async fn resume_run(&self, access: &Access, run_id: &RunId) -> Result<Run, CoreError> {
        let run = self.find_run(access, run_id, Role::Viewer).await?.run;
        let run_id = &run.run_id;
        access.require(Role::Editor)?;
        let orchestrator = self.require_orchestrator()?;
        if let Some(phase) = self.run_phase(access, run_id).await? {
            if phase.is_final() {
                return Err(CoreError::Conflict(format!(
                    "run {run_id} has already ended ({phase}): it is not suspended"
                )));
            }
        }
        orchestrator
            .resume(orchestrator.namespace(), &run.name)
            .await
            .map_err(|error| error.into_core(orchestrator.kind(), Asked::Resume { run_id }))?;
        let event = NewEvent::new(
            access.project(),
            access.actor(),
            "run.resumed",
            json!({"workflow_name": run.name, "orchestrator": orchestrator.kind()}),
        );
        self.record_run_event(&run, event).await?;
        tracing::info!(%run_id, actor = %access.actor(), "run resumed on request");
        Ok(run)
    }

    /// Asks the orchestrator to suspend the run's workflow: what runs goes on, nothing new
    /// starts until a resume.
    pub async fn suspend_run(&self, access: &Access, run_id: &RunId) -> Result<Run, CoreError> {
        let run = self.find_run(access, run_id, Role::Viewer).await?.run;
        let run_id = &run.run_id;
        access.require(Role::Editor)?;
        let orchestrator = self.require_orchestrator()?;
        if let Some(phase) = self.run_phase(access, run_id).await? {
            if phase.is_final() {
                return Err(CoreError::Conflict(format!(
                    "run {run_id} has already ended ({phase}): it cannot be suspended"
                )));
            }
        }
        orchestrator
            .suspend(orchestrator.namespace(), &run.name)
            .await
            .map_err(|error| error.into_core(orchestrator.kind(), Asked::Suspend { run_id }))?;
        let event = NewEvent::new(
            access.project(),
            access.actor(),
            "run.suspended",
            json!({"workflow_name": run.name, "orchestrator": orchestrator.kind()}),
        );
        self.record_run_event(&run, event).await?;
        tracing::info!(%run_id, actor = %access.actor(), "run suspended on request");
        Ok(run)
    }

    /// Whether the run waits for a resume now, as its orchestrator sees it: a workflow
    /// suspended while it runs (`argo suspend`) or a suspend step waiting. False for an ended
    /// run, or when the orchestrator cannot tell (the page then offers no Resume).
    pub async fn run_waits_for_resume(&self, access: &Access, run: &Run) -> bool {
        if access.require(Role::Viewer).is_err() {
            return false;
        }
        let Ok(orchestrator) = self.require_orchestrator() else {
            return false;
        };
        match orchestrator
            .workflow(orchestrator.namespace(), &run.name)
            .await
        {
            Ok(workflow) => {
                let ended = workflow["status"]["phase"]
                    .as_str()
                    .and_then(|phase| polyphemus_model::RunPhase::parse(phase).ok())
                    .is_some_and(polyphemus_model::RunPhase::is_final);
                !ended && crate::orchestrators::workflow_is_suspended(&workflow)
            }
            Err(_) => false,
        }
    }

    /// Records `event` as one about `run`.
    async fn record_run_event(&self, run: &Run, mut event: NewEvent) -> Result<(), CoreError> {
        event.config_id = Some(run.config_id);
        event.version_number = Some(run.version_number);
        event.run_id = Some(run.run_id.clone());
        self.store.record_event(&event).await?;
        Ok(())
    }
}
