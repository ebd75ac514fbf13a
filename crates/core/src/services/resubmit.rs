//! Resubmitting a run: a new run of the same config version with the same run params (a
//! backfill's window stays the window), under the config's concurrency policy.

use super::Services;
use crate::{Access, CoreError};
use polyphemus_model::{ConfigVersion, Role, Run, RunId};
use polyphemus_store::NewEvent;
use serde_json::json;

impl Services {
    /// Submits the run's config version again with its params. 409 while the config is
    /// archived, or while one of its runs is active (naming it) unless `force` or its policy
    /// is `Allow`.
    pub async fn resubmit_run(
        &self,
        access: &Access,
        run_id: &RunId,
        force: bool,
    ) -> Result<Run, CoreError> {
        access.require(Role::Editor)?;
        let original = self.find_run(access, run_id, Role::Editor).await?.run;
        let config_id = original.config_id;
        let record = self
            .version_record(
                access,
                ConfigVersion::new(config_id, original.version_number),
            )
            .await?;
        let params = original.params.as_object().cloned().unwrap_or_default();
        let run = self.launch_record(access, &record, force, params).await?;
        let mut event = NewEvent::new(
            access.project(),
            access.actor(),
            "run.resubmitted",
            json!({"from_run_id": original.run_id}),
        );
        event.config_id = Some(config_id);
        event.version_number = Some(run.version_number);
        event.run_id = Some(run.run_id.clone());
        if let Err(error) = self.store.record_event(&event).await {
            tracing::warn!(%error, run_id = %run.run_id, "recording a resubmission");
        }
        Ok(run)
    }
}
