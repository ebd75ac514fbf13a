//! A schedule that keeps failing pauses itself; a success or a person resumes it.

use super::notifications::run_alert;
use super::runtime::to_wire;
use super::Services;
use crate::{Access, CoreError};
use polyphemus_model::{AlertEvent, ConfigId, ProjectName, Role, RunId, RunPhase, RuntimeConfig};
use polyphemus_store::{NewEvent, ScheduleChange, StoreError};
use serde_json::json;

impl Services {
    /// Clears the pause of a config's schedule (`polyphemus runtime resume`).
    pub async fn resume_schedule(
        &self,
        access: &Access,
        config_id: ConfigId,
    ) -> Result<RuntimeConfig, CoreError> {
        access.require(Role::Editor)?;
        let event = NewEvent::new(
            access.project(),
            access.actor(),
            "schedule.resumed",
            json!({"reason": format!("resumed by {}", access.actor())}),
        );
        let record = self
            .store
            .resume_schedule(access.project(), config_id, event)
            .await
            .map_err(|error| match error {
                StoreError::NotFound => CoreError::not_found(format!(
                    "runtime config of config {config_id} (it has no schedule)"
                )),
                other => other.into(),
            })?;
        Ok(to_wire(record))
    }

    /// After a run's end is recorded: pause its schedule after too many failures, resume it
    /// after a success. A failure here is logged: the run's end is already recorded.
    pub(crate) async fn settle_schedule(
        &self,
        project: &ProjectName,
        run_id: &RunId,
        phase: RunPhase,
    ) {
        match self.store.settle_schedule_after_run(run_id, phase).await {
            Ok(Some(ScheduleChange::Paused {
                project: _,
                config_id,
                pause,
            })) => {
                tracing::warn!(%project, %config_id, reason = %pause.reason, "schedule paused");
                let runs: Vec<&str> = pause.run_ids.iter().map(RunId::as_str).collect();
                let alert = run_alert(
                    project,
                    config_id,
                    run_id,
                    AlertEvent::SchedulePaused,
                    format!(
                        "The schedule of config {config_id} paused itself: {}",
                        pause.reason
                    ),
                    format!(
                        "Failed runs: {}. Resume it with `polyphemus runtime resume {config_id} \
                         --project {project}` or on its schedule page.",
                        runs.join(", ")
                    ),
                );
                self.alert(project, alert);
            }
            Ok(Some(ScheduleChange::Resumed { project, config_id })) => {
                tracing::info!(%project, %config_id, %run_id, "schedule resumed by a successful run")
            }
            Ok(None) => {}
            Err(error) => {
                tracing::error!(%run_id, %error, "could not settle the schedule after a run")
            }
        }
    }
}
