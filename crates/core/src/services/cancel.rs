//! Ending a run early: `stop` (Argo's stop: running steps are ended and exit handlers still
//! run) or `terminate` (everything ends at once, exit handlers included). Who asked goes to
//! the event log; the final phase reaches the run's metadata when the orchestrator reports it.

use super::Services;
use crate::orchestrators::Asked;
use crate::{Access, CoreError};
use polyphemus_model::{Role, Run, RunId, StopMode};
use polyphemus_store::NewEvent;
use serde_json::json;

impl Services {
    /// Asks the orchestrator to end the run's workflow the way `mode` says.
    pub async fn stop_run(
        &self,
        access: &Access,
        run_id: &RunId,
        mode: StopMode,
    ) -> Result<Run, CoreError> {
        let run = self.find_run(access, run_id, Role::Viewer).await?.run;
        let run_id = &run.run_id;
        access.require(Role::Editor)?;
        let orchestrator = self.require_orchestrator()?;
        if let Some(phase) = self.run_phase(access, run_id).await? {
            if phase.is_final() {
                return Err(CoreError::Conflict(format!(
                    "run {run_id} has already ended ({phase})"
                )));
            }
        }
        orchestrator
            .stop(orchestrator.namespace(), &run.name, mode)
            .await
            .map_err(|error| error.into_core(orchestrator.kind(), Asked::End { run_id, mode }))?;
        let mut event = NewEvent::new(
            access.project(),
            access.actor(),
            &format!("run.{}", mode.done()),
            json!({"workflow_name": run.name, "orchestrator": orchestrator.kind()}),
        );
        event.config_id = Some(run.config_id);
        event.version_number = Some(run.version_number);
        event.run_id = Some(run.run_id.clone());
        self.store.record_event(&event).await?;
        tracing::info!(%run_id, actor = %access.actor(), action = mode.verb(), "run ended on request");
        Ok(run)
    }
}
