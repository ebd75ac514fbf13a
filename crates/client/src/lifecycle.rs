//! Acting on what failed: resubmitting a run, restoring a config version, archiving a config.

use crate::{Client, Idempotency, Result};
use polyphemus_model::{
    Config, ConfigArchive, ConfigId, ProjectName, ResubmitRequest, Run, RunId, VersionNumber,
};
use reqwest::Method;

impl Client {
    /// A new run of the run's config version with its params (not retried once sent).
    pub async fn resubmit_run(
        &self,
        project: &ProjectName,
        run_id: &RunId,
        body: &ResubmitRequest,
    ) -> Result<Run> {
        let url = self.url([
            "projects",
            project.as_str(),
            "runs",
            run_id.as_str(),
            "resubmit",
        ]);
        self.send(Method::POST, url, Some(body), Idempotency::NotIdempotent)
            .await
            .map(|(_, run)| run)
    }

    /// Version N+1 with the config of `version` (not retried once sent: it makes a version).
    pub async fn restore_config_version(
        &self,
        project: &ProjectName,
        config_id: ConfigId,
        version: VersionNumber,
    ) -> Result<Config> {
        let (id, version) = (config_id.to_string(), version.to_string());
        let url = self.url([
            "projects",
            project.as_str(),
            "configs",
            &id,
            "versions",
            &version,
            "restore",
        ]);
        self.send(Method::POST, url, None::<&()>, Idempotency::NotIdempotent)
            .await
            .map(|(_, config)| config)
    }

    /// Archives (`true`) or unarchives a config; asking twice is harmless.
    pub async fn set_config_archived(
        &self,
        project: &ProjectName,
        config_id: ConfigId,
        archived: bool,
    ) -> Result<ConfigArchive> {
        let id = config_id.to_string();
        let action = if archived { "archive" } else { "unarchive" };
        let url = self.url(["projects", project.as_str(), "configs", &id, action]);
        self.send(Method::POST, url, None::<&()>, Idempotency::Idempotent)
            .await
            .map(|(_, archive)| archive)
    }
}
