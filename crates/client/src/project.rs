//! Workflow manifests, the project status page and the event log.

use crate::retry::Idempotency;
use crate::set_query;
use crate::{Client, Result};
use polyphemus_model::{
    Channel, ChannelTest, ConfigId, Event, JobSpec, NewChannel, Page, PipelineStatus, ProjectName,
    WorkflowDetail, WorkflowManifest, WorkflowType, WorkflowsReloaded,
};

/// Filters and paging of `list_events` (newest first).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListEvents {
    /// Only events of this config.
    pub config_id: Option<ConfigId>,
    /// Page size, 1-500 (server default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl Client {
    /// Every workflow manifest.
    pub async fn list_workflows(&self) -> Result<Vec<WorkflowManifest>> {
        self.get(self.url(["workflows"])).await
    }

    /// The ETL jobs the server's `run_job` can run.
    pub async fn list_jobs(&self) -> Result<Vec<JobSpec>> {
        self.get(self.url(["jobs"])).await
    }

    /// One workflow manifest, with the configs its current schema refuses.
    pub async fn get_workflow(&self, name: &WorkflowType) -> Result<WorkflowDetail> {
        self.get(self.url(["workflows", name.as_str()])).await
    }

    /// Has the server re-read its workflow package directories (global admin).
    pub async fn reload_workflows(&self) -> Result<WorkflowsReloaded> {
        let url = self.url(["workflows", "reload"]);
        self.send(
            reqwest::Method::POST,
            url,
            None::<&()>,
            Idempotency::Idempotent,
        )
        .await
        .map(|(_, body)| body)
    }

    /// The project's notification channels (without their credentials).
    pub async fn list_channels(&self, project: &ProjectName) -> Result<Vec<Channel>> {
        self.get(self.url(["projects", project.as_str(), "notifications"]))
            .await
    }

    /// Adds a notification channel (project admin).
    pub async fn create_channel(
        &self,
        project: &ProjectName,
        body: &NewChannel,
    ) -> Result<Channel> {
        let url = self.url(["projects", project.as_str(), "notifications"]);
        self.send(
            reqwest::Method::POST,
            url,
            Some(body),
            Idempotency::NotIdempotent,
        )
        .await
        .map(|(_, channel)| channel)
    }

    /// Removes a notification channel (project admin).
    pub async fn delete_channel(&self, project: &ProjectName, id: i64) -> Result<()> {
        let id = id.to_string();
        let url = self.url(["projects", project.as_str(), "notifications", &id]);
        self.send(
            reqwest::Method::DELETE,
            url,
            None::<&()>,
            Idempotency::Idempotent,
        )
        .await
        .map(|(_, ())| ())
    }

    /// Sends a test alert through a channel now.
    pub async fn test_channel(&self, project: &ProjectName, id: i64) -> Result<ChannelTest> {
        let id = id.to_string();
        let url = self.url(["projects", project.as_str(), "notifications", &id, "test"]);
        self.send(
            reqwest::Method::POST,
            url,
            None::<&()>,
            Idempotency::NotIdempotent,
        )
        .await
        .map(|(_, test)| test)
    }

    /// Every config's pipeline state, last run, last success and next run.
    pub async fn get_project_status(&self, project: &ProjectName) -> Result<Vec<PipelineStatus>> {
        self.get(self.url(["projects", project.as_str(), "status"]))
            .await
    }

    /// The same, archived configs included (each with its `archived_at`).
    pub async fn get_project_status_with_archived(
        &self,
        project: &ProjectName,
    ) -> Result<Vec<PipelineStatus>> {
        let mut url = self.url(["projects", project.as_str(), "status"]);
        url.query_pairs_mut().append_pair("archived", "true");
        self.get(url).await
    }

    /// One page of the event log.
    pub async fn list_events(
        &self,
        project: &ProjectName,
        query: &ListEvents,
    ) -> Result<Page<Event>> {
        let mut url = self.url(["projects", project.as_str(), "events"]);
        set_query(
            &mut url,
            [
                ("config_id", query.config_id.map(|c| c.to_string())),
                ("limit", query.limit.map(|l| l.to_string())),
                ("cursor", query.cursor.clone()),
            ],
        );
        self.get(url).await
    }
}
