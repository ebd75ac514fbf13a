//! Ending a run early: `stop` (Argo's stop: running steps are ended and exit handlers still
//! run) or `terminate` (everything ends at once, exit handlers included). Who asked goes to
//! the event log; the final phase reaches the run's metadata when the orchestrator reports it.

use super::Services;
use crate::orchestrators::OrchestratorError;
use crate::{CoreError, Principal};
use polyphemus_model::{ProjectName, Role, Run};
use polyphemus_store::NewEvent;
use serde_json::json;

const FINAL_PHASES: [&str; 3] = ["Succeeded", "Failed", "Error"];

impl Services {
    /// Asks the orchestrator to stop (`terminate == false`) or terminate the run's workflow.
    pub async fn stop_run(
        &self,
        principal: &Principal,
        project: &ProjectName,
        run_id: &str,
        terminate: bool,
    ) -> Result<Run, CoreError> {
        let record = self
            .visible_run(principal, project, run_id, Role::Viewer)
            .await?;
        principal.require(project, Role::Editor)?;
        let run = record.run;
        let orchestrator = self.orchestrator.as_ref().ok_or_else(|| {
            CoreError::Unavailable("this server has no orchestrator configured".into())
        })?;
        if let Ok(metadata) = self.get_run_metadata(principal, project, run_id).await {
            if FINAL_PHASES.contains(&metadata.report.phase.as_str()) {
                return Err(CoreError::Conflict(format!(
                    "run {run_id} has already ended ({})",
                    metadata.report.phase
                )));
            }
        }
        let (action, done) = if terminate {
            ("terminate", "terminated")
        } else {
            ("stop", "stopped")
        };
        orchestrator
            .stop(orchestrator.namespace(), &run.name, terminate)
            .await
            .map_err(|error| match error {
                OrchestratorError::NotFound(_) => CoreError::NotFound(format!(
                    "workflow {} of run {run_id} in the {} orchestrator",
                    run.name,
                    orchestrator.kind()
                )),
                // Argo refuses to stop a workflow that has already completed.
                OrchestratorError::Invalid(why) => {
                    CoreError::Conflict(format!("run {run_id} cannot be {done}: {why}"))
                }
                OrchestratorError::Unavailable(why) => CoreError::Unavailable(why),
            })?;
        let mut event = NewEvent::new(
            project.as_str(),
            &principal.actor(),
            if terminate {
                "run.terminated"
            } else {
                "run.stopped"
            },
            json!({"workflow_name": run.name, "orchestrator": orchestrator.kind()}),
        );
        event.config_id = Some(run.config_id);
        event.version_number = Some(run.version_number);
        event.run_id = Some(run.run_id.clone());
        self.store.record_event(&event).await?;
        tracing::info!(%run_id, actor = %principal.actor(), action, "run ended on request");
        Ok(run)
    }
}
