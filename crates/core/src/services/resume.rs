//! Resuming a suspended run (`argo resume`): its workflow-level suspension and every suspend
//! node waiting end, and the run goes on. Who may stop a run may resume it; who asked goes to
//! the event log. A run with nothing suspended is a conflict.

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
        let mut event = NewEvent::new(
            access.project(),
            access.actor(),
            "run.resumed",
            json!({"workflow_name": run.name, "orchestrator": orchestrator.kind()}),
        );
        event.config_id = Some(run.config_id);
        event.version_number = Some(run.version_number);
        event.run_id = Some(run.run_id.clone());
        self.store.record_event(&event).await?;
        tracing::info!(%run_id, actor = %access.actor(), "run resumed on request");
        Ok(run)
    }
}
