//! Configs, their versions and secrets; runtime configs and launching a run.

use crate::set_query;
use crate::{Client, Idempotency, Result};
use polyphemus_model::{
    ChangeOutcome, Config, ConfigId, ConfigVersionSummary, CreateConfig, LaunchRequest, Page,
    PatchConfig, ProjectName, PutRuntimeConfig, Run, RuntimeConfig, SecretsPatch, SubmitWorkflow,
    VersionNumber, WorkflowType,
};
use reqwest::{Method, StatusCode};
use std::collections::BTreeMap;

/// Filters and paging of `list_configs`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListConfigs {
    /// Only configs of this manifest.
    pub workflow_type: Option<WorkflowType>,
    /// Page size, 1-500 (server default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl Client {
    /// Creates version 1 of a new config (not retried once sent: it is not idempotent).
    pub async fn create_config(
        &self,
        project: &ProjectName,
        body: &CreateConfig,
    ) -> Result<Config> {
        let url = self.url(["projects", project.as_str(), "configs"]);
        self.send(Method::POST, url, Some(body), Idempotency::NotIdempotent)
            .await
            .map(|(_, config)| config)
    }

    /// One page of the latest version of each config.
    pub async fn list_configs(
        &self,
        project: &ProjectName,
        query: &ListConfigs,
    ) -> Result<Page<Config>> {
        let mut url = self.url(["projects", project.as_str(), "configs"]);
        set_query(
            &mut url,
            [
                (
                    "workflow_type",
                    query.workflow_type.as_ref().map(WorkflowType::to_string),
                ),
                ("limit", query.limit.map(|l| l.to_string())),
                ("cursor", query.cursor.clone()),
            ],
        );
        self.get(url).await
    }

    /// Every config, following the cursor through all pages.
    pub async fn list_all_configs(
        &self,
        project: &ProjectName,
        workflow_type: Option<&WorkflowType>,
    ) -> Result<Vec<Config>> {
        let mut query = ListConfigs {
            workflow_type: workflow_type.cloned(),
            limit: Some(500),
            cursor: None,
        };
        let mut items = Vec::new();
        loop {
            let page = self.list_configs(project, &query).await?;
            items.extend(page.items);
            match page.next_cursor {
                Some(cursor) => query.cursor = Some(cursor),
                None => return Ok(items),
            }
        }
    }

    /// The latest version of a config.
    pub async fn get_config(&self, project: &ProjectName, config_id: ConfigId) -> Result<Config> {
        let id = config_id.to_string();
        self.get(self.url(["projects", project.as_str(), "configs", &id]))
            .await
    }

    /// Every version of a config, oldest first.
    pub async fn list_config_versions(
        &self,
        project: &ProjectName,
        config_id: ConfigId,
    ) -> Result<Vec<ConfigVersionSummary>> {
        let id = config_id.to_string();
        self.get(self.url(["projects", project.as_str(), "configs", &id, "versions"]))
            .await
    }

    /// One version of a config.
    pub async fn get_config_version(
        &self,
        project: &ProjectName,
        config_id: ConfigId,
        version_number: VersionNumber,
    ) -> Result<Config> {
        let (id, version) = (config_id.to_string(), version_number.to_string());
        self.get(self.url([
            "projects",
            project.as_str(),
            "configs",
            &id,
            "versions",
            &version,
        ]))
        .await
    }

    /// Changes a config: a new `config` inserts version N+1, otherwise the latest row changes
    /// in place. Not retried once sent.
    pub async fn patch_config(
        &self,
        project: &ProjectName,
        config_id: ConfigId,
        body: &PatchConfig,
    ) -> Result<(Config, ChangeOutcome)> {
        let id = config_id.to_string();
        let url = self.url(["projects", project.as_str(), "configs", &id]);
        let (status, config) = self
            .send(Method::PATCH, url, Some(body), Idempotency::NotIdempotent)
            .await?;
        let change = if status == StatusCode::CREATED {
            ChangeOutcome::NewVersion
        } else {
            ChangeOutcome::UpdatedInPlace
        };
        Ok((config, change))
    }

    /// Sets (`Some`) or removes (`None`) secrets of the latest version; answers redacted.
    pub async fn put_config_secrets(
        &self,
        project: &ProjectName,
        config_id: ConfigId,
        secrets: &SecretsPatch,
    ) -> Result<Config> {
        let id = config_id.to_string();
        let url = self.url(["projects", project.as_str(), "configs", &id, "secrets"]);
        self.send(Method::PUT, url, Some(secrets), Idempotency::Idempotent)
            .await
            .map(|(_, config)| config)
    }

    /// Secrets of a config version in clear (only for that config's task token).
    pub async fn get_task_secrets(
        &self,
        project: &ProjectName,
        config_id: ConfigId,
        version_number: VersionNumber,
    ) -> Result<BTreeMap<String, String>> {
        let (id, version) = (config_id.to_string(), version_number.to_string());
        let segments = [
            "projects",
            project.as_str(),
            "configs",
            &id,
            "versions",
            &version,
            "secrets",
        ];
        self.get(self.url(segments)).await
    }

    /// The runtime config (schedule, disabled, runtime params) of a config.
    pub async fn get_runtime(
        &self,
        project: &ProjectName,
        config_id: ConfigId,
    ) -> Result<RuntimeConfig> {
        let id = config_id.to_string();
        self.get(self.url(["projects", project.as_str(), "configs", &id, "runtime"]))
            .await
    }

    /// Changes the given fields of the runtime config.
    pub async fn put_runtime(
        &self,
        project: &ProjectName,
        config_id: ConfigId,
        body: &PutRuntimeConfig,
    ) -> Result<RuntimeConfig> {
        let id = config_id.to_string();
        let url = self.url(["projects", project.as_str(), "configs", &id, "runtime"]);
        self.send(Method::PUT, url, Some(body), Idempotency::Idempotent)
            .await
            .map(|(_, runtime)| runtime)
    }

    /// Submits a run of the config (latest version unless given) to the orchestrator.
    /// Not retried once sent: each launch is a new run.
    /// Clears the pause of a schedule that paused itself after failed runs.
    pub async fn resume_schedule(
        &self,
        project: &ProjectName,
        config_id: ConfigId,
    ) -> Result<RuntimeConfig> {
        let id = config_id.to_string();
        let url = self.url([
            "projects",
            project.as_str(),
            "configs",
            &id,
            "runtime",
            "resume",
        ]);
        self.send(Method::POST, url, None::<&()>, Idempotency::Idempotent)
            .await
            .map(|(_, runtime)| runtime)
    }

    pub async fn launch_config(
        &self,
        project: &ProjectName,
        config_id: ConfigId,
        body: &LaunchRequest,
    ) -> Result<Run> {
        let id = config_id.to_string();
        let url = self.url(["projects", project.as_str(), "configs", &id, "launch"]);
        self.send(Method::POST, url, Some(body), Idempotency::NotIdempotent)
            .await
            .map(|(_, run)| run)
    }

    /// Runs an Argo workflow document for a config version (what `polyphemus submit` does).
    pub async fn submit_workflow(
        &self,
        project: &ProjectName,
        config_id: ConfigId,
        body: &SubmitWorkflow,
    ) -> Result<Run> {
        let id = config_id.to_string();
        let url = self.url(["projects", project.as_str(), "configs", &id, "submit"]);
        self.send(Method::POST, url, Some(body), Idempotency::NotIdempotent)
            .await
            .map(|(_, run)| run)
    }
}
