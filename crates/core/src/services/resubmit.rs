//! Resubmitting a run: a new run of the same config version with the same run params (a
//! backfill's window stays the window), under the config's concurrency policy.

use super::launch::Launch;
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
        self.refuse_archived(access, config_id).await?;
        if !force {
            self.refuse_overlap(access, config_id).await?;
        }
        let record = self
            .version_record(
                access,
                ConfigVersion::new(config_id, original.version_number),
            )
            .await?;
        let workflow_yaml = self.launchable(&record)?.workflow_yaml.clone();
        let run = self
            .submit_launch(Launch {
                actor: access.actor(),
                project: access.project(),
                record: &record,
                workflow_yaml,
                extra_parameters: Vec::new(),
                params: original.params.as_object().cloned().unwrap_or_default(),
            })
            .await?;
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
