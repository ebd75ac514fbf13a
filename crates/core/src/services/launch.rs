//! Launching a run of a config version through the orchestrator.

use super::Services;
use crate::error::OrNotFound;
use crate::{CoreError, Principal};
use polyphemus_model::{ProjectName, Role, Run};

impl Services {
    /// Submits the config version (latest when not given) to the orchestrator.
    /// Until an orchestrator is wired into this server, answers 503 after checking access.
    pub async fn launch(
        &self,
        principal: &Principal,
        project: &ProjectName,
        config_id: i64,
        version_number: Option<i32>,
    ) -> Result<Run, CoreError> {
        principal.require(project, Role::Editor)?;
        match version_number {
            Some(version) => self
                .store
                .config_version(project.as_str(), config_id, version)
                .await
                .or_not_found(|| format!("config {config_id} version {version}"))?,
            None => self
                .store
                .latest_config(project.as_str(), config_id)
                .await
                .or_not_found(|| format!("config {config_id}"))?,
        };
        Err(CoreError::Unavailable(
            "this server has no orchestrator configured, so runs cannot be launched".to_owned(),
        ))
    }
}
