//! Backfills of a config: start, list, show, stop, resume.

use crate::retry::Idempotency;
use crate::{Client, Result};
use polyphemus_model::{Backfill, BackfillId, ConfigId, ProjectName, StartBackfill};
use reqwest::Method;

impl Client {
    /// Starts a backfill of the config's latest version (editor).
    pub async fn start_backfill(
        &self,
        project: &ProjectName,
        config_id: ConfigId,
        body: &StartBackfill,
    ) -> Result<Backfill> {
        let id = config_id.to_string();
        let url = self.url(["projects", project.as_str(), "configs", &id, "backfills"]);
        self.send(Method::POST, url, Some(body), Idempotency::NotIdempotent)
            .await
            .map(|(_, backfill)| backfill)
    }

    /// The config's backfills, newest first.
    pub async fn list_backfills(
        &self,
        project: &ProjectName,
        config_id: ConfigId,
    ) -> Result<Vec<Backfill>> {
        let id = config_id.to_string();
        self.get(self.url(["projects", project.as_str(), "configs", &id, "backfills"]))
            .await
    }

    /// One backfill with its progress and the runs of each window.
    pub async fn get_backfill(&self, project: &ProjectName, id: BackfillId) -> Result<Backfill> {
        let id = id.to_string();
        self.get(self.url(["projects", project.as_str(), "backfills", &id]))
            .await
    }

    /// Stops a running backfill; its active run is left to finish.
    pub async fn stop_backfill(&self, project: &ProjectName, id: BackfillId) -> Result<Backfill> {
        self.backfill_action(project, id, "stop").await
    }

    /// Resumes a stopped or failed backfill from its first window not yet succeeded.
    pub async fn resume_backfill(&self, project: &ProjectName, id: BackfillId) -> Result<Backfill> {
        self.backfill_action(project, id, "resume").await
    }

    async fn backfill_action(
        &self,
        project: &ProjectName,
        id: BackfillId,
        action: &str,
    ) -> Result<Backfill> {
        let id = id.to_string();
        let url = self.url(["projects", project.as_str(), "backfills", &id, action]);
        self.send(Method::POST, url, None::<&()>, Idempotency::NotIdempotent)
            .await
            .map(|(_, backfill)| backfill)
    }
}
