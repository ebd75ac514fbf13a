//! Runs: registration, state and output, previous state, run metadata.

use crate::set_query;
use crate::{Client, Idempotency, Result};
use polyphemus_model::{
    ConfigId, Page, PatchRun, ProjectName, RegisterRun, Run, RunChanged, RunId, RunMetadata,
    RunStatusReport, StopMode, SyncRunRequest,
};
use reqwest::{Method, StatusCode};
use serde_json::{Map, Value};

/// Paging of `list_config_runs` (newest first).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListRuns {
    /// Page size, 1-500 (server default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// What registering a run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunRegistration {
    /// A new run (201).
    Created,
    /// The same run was already registered (200).
    AlreadyRegistered,
}

/// Which earlier state `previous_state` reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PreviousStateQuery {
    /// State keys to read.
    pub keys: Vec<String>,
    /// Every value, newest first, instead of the latest.
    pub collect: bool,
    /// Only runs registered before this one.
    pub before_run_id: Option<RunId>,
    /// With `collect`, at most this many values per key.
    pub limit: Option<i64>,
}

impl Client {
    /// Registers a run; the same body again is answered 200, so it is retried like a PUT.
    pub async fn register_run(
        &self,
        project: &ProjectName,
        body: &RegisterRun,
    ) -> Result<(Run, RunRegistration)> {
        let url = self.url(["projects", project.as_str(), "runs"]);
        let (status, run) = self
            .send(Method::POST, url, Some(body), Idempotency::Idempotent)
            .await?;
        let registration = if status == StatusCode::CREATED {
            RunRegistration::Created
        } else {
            RunRegistration::AlreadyRegistered
        };
        Ok((run, registration))
    }

    /// A run with its state and output.
    pub async fn get_run(&self, project: &ProjectName, run_id: &RunId) -> Result<Run> {
        self.get(self.url(["projects", project.as_str(), "runs", run_id.as_str()]))
            .await
    }

    /// Merges state keys and appends or replaces output; answers with the merged state and the
    /// output's length. Not retried once sent (an append sent twice would be appended twice).
    pub async fn patch_run(
        &self,
        project: &ProjectName,
        run_id: &RunId,
        body: &PatchRun,
    ) -> Result<RunChanged> {
        let url = self.url(["projects", project.as_str(), "runs", run_id.as_str()]);
        self.send(Method::PATCH, url, Some(body), Idempotency::NotIdempotent)
            .await
            .map(|(_, run)| run)
    }

    /// [`Client::patch_run`] with `Prefer: return=minimal`: the answer's `state` holds only the
    /// keys merged, so a merge costs the same however much state the run already holds.
    pub async fn merge_run(
        &self,
        project: &ProjectName,
        run_id: &RunId,
        body: &PatchRun,
    ) -> Result<RunChanged> {
        let url = self.url(["projects", project.as_str(), "runs", run_id.as_str()]);
        let prefer = [("prefer", "return=minimal")];
        self.send_with(
            Method::PATCH,
            url,
            Some(body),
            Idempotency::NotIdempotent,
            &prefer,
        )
        .await
        .map(|(_, run)| run)
    }

    /// One page of the runs of a config, newest first.
    pub async fn list_config_runs(
        &self,
        project: &ProjectName,
        config_id: ConfigId,
        query: &ListRuns,
    ) -> Result<Page<Run>> {
        let id = config_id.to_string();
        let mut url = self.url(["projects", project.as_str(), "configs", &id, "runs"]);
        set_query(
            &mut url,
            [
                ("limit", query.limit.map(|l| l.to_string())),
                ("cursor", query.cursor.clone()),
            ],
        );
        self.get(url).await
    }

    /// The latest value of each key among earlier runs of the config (every value, newest
    /// first, with `collect`).
    pub async fn get_previous_state(
        &self,
        project: &ProjectName,
        config_id: ConfigId,
        query: &PreviousStateQuery,
    ) -> Result<Map<String, Value>> {
        let id = config_id.to_string();
        let mut url = self.url([
            "projects",
            project.as_str(),
            "configs",
            &id,
            "previous_state",
        ]);
        {
            let mut pairs = url.query_pairs_mut();
            pairs.append_pair("keys", &query.keys.join(","));
            pairs.append_pair("collect", if query.collect { "true" } else { "false" });
            if let Some(run_id) = &query.before_run_id {
                pairs.append_pair("before_run_id", run_id.as_str());
            }
            if let Some(limit) = query.limit {
                pairs.append_pair("limit", &limit.to_string());
            }
        }
        self.get(url).await
    }

    /// Stores the orchestrator's status of a run.
    pub async fn put_run_metadata(
        &self,
        project: &ProjectName,
        run_id: &RunId,
        report: &RunStatusReport,
    ) -> Result<RunMetadata> {
        let url = self.url([
            "projects",
            project.as_str(),
            "runs",
            run_id.as_str(),
            "metadata",
        ]);
        self.send(Method::PUT, url, Some(report), Idempotency::Idempotent)
            .await
            .map(|(_, metadata)| metadata)
    }

    /// Has the server read the run's workflow status and logs from its orchestrator and store
    /// them as run metadata and output (what `polyphemus write_run_metadata` does).
    pub async fn sync_run(
        &self,
        project: &ProjectName,
        run_id: &RunId,
        request: &SyncRunRequest,
    ) -> Result<RunMetadata> {
        let url = self.url([
            "projects",
            project.as_str(),
            "runs",
            run_id.as_str(),
            "sync",
        ]);
        self.send(Method::POST, url, Some(request), Idempotency::Idempotent)
            .await
            .map(|(_, metadata)| metadata)
    }

    /// The stored run metadata (404 until the orchestrator has reported).
    pub async fn get_run_metadata(
        &self,
        project: &ProjectName,
        run_id: &RunId,
    ) -> Result<RunMetadata> {
        self.get(self.url([
            "projects",
            project.as_str(),
            "runs",
            run_id.as_str(),
            "metadata",
        ]))
        .await
    }

    /// Stops a run (exit handlers still run) or terminates it (it ends at once). Asking
    /// twice is harmless, so it is retried like a PUT.
    pub async fn stop_run(
        &self,
        project: &ProjectName,
        run_id: &RunId,
        mode: StopMode,
    ) -> Result<Run> {
        let url = self.url([
            "projects",
            project.as_str(),
            "runs",
            run_id.as_str(),
            mode.verb(),
        ]);
        self.send(Method::POST, url, None::<&()>, Idempotency::Idempotent)
            .await
            .map(|(_, run)| run)
    }

    /// `POST /projects/{project}/runs/{run_id}/suspend` (`argo suspend`): a 409 when the run
    /// has ended. Suspending twice changes nothing, so it is retried like a PUT.
    pub async fn suspend_run(&self, project: &ProjectName, run_id: &RunId) -> Result<Run> {
        let url = self.url([
            "projects",
            project.as_str(),
            "runs",
            run_id.as_str(),
            "suspend",
        ]);
        self.send(Method::POST, url, None::<&()>, Idempotency::Idempotent)
            .await
            .map(|(_, run)| run)
    }

    /// `POST /projects/{project}/runs/{run_id}/resume` (`argo resume`): a 409 when nothing of
    /// the run is suspended. Resuming twice changes nothing, so it is retried like a PUT.
    pub async fn resume_run(&self, project: &ProjectName, run_id: &RunId) -> Result<Run> {
        let url = self.url([
            "projects",
            project.as_str(),
            "runs",
            run_id.as_str(),
            "resume",
        ]);
        self.send(Method::POST, url, None::<&()>, Idempotency::Idempotent)
            .await
            .map(|(_, run)| run)
    }
}
