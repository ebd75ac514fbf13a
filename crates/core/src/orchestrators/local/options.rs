//! What a local run starts with: the engine's options and the per-run ones (the API's URL,
//! the run's task token and ids, `PATH` and `PYTHONPATH`, its memoize cache and objects),
//! for a submission and for a retry alike; and the retry itself.

use super::LocalOrchestrator;
use crate::orchestrators::{OrchestratorError, Retry};
use polyphemus_engine::{
    Engine, EngineOptions, K8sObjects, RetryRequest, SubmitOptions, WorkflowObject,
};
use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeMap;
use std::sync::Arc;

/// What a run is started with, besides its workflow.
pub(super) struct RunSetup<'a> {
    pub labels: &'a BTreeMap<String, String>,
    pub parameters: &'a [(String, String)],
    pub task_token: Option<&'a SecretString>,
    pub uid: uuid::Uuid,
}

impl LocalOrchestrator {
    /// The engine's options and the run's own for a run set up as `run`.
    pub(super) fn run_options(&self, run: RunSetup<'_>) -> (EngineOptions, SubmitOptions) {
        let mut options = self.options.clone();
        options
            .env
            .push(("POLYPHEMUS_URL".into(), self.server_url.clone()));
        if let Some(token) = run.task_token {
            options
                .env
                .push(("POLYPHEMUS_TOKEN".into(), token.expose_secret().to_owned()));
        }
        if let Some(path) = Self::step_path() {
            options.env.push(("PATH".into(), path));
        }
        if let Some(path) = self.python_path() {
            options.env.push(("PYTHONPATH".into(), path));
        }
        if let Some(cache) = self.memo_cache(run.labels) {
            options.memo_cache = Some(cache);
        }
        let submit = SubmitOptions {
            uid: Some(run.uid),
            env: crate::orchestrators::run_env(run.labels, run.parameters, &run.uid.to_string()),
            objects: self.step_objects(run.task_token),
            scope: run.labels.get("polyphemus/project").cloned(),
            ..Default::default()
        };
        (options, submit)
    }

    /// Starts ended run `retry.name` again in place (`Engine::retry`), from its status.
    pub(super) fn retry_run(&self, retry: Retry) -> Result<(), OrchestratorError> {
        let mut runs = self
            .runs
            .lock()
            .map_err(|_| OrchestratorError::Unavailable("the run table is poisoned".into()))?;
        // Checked and replaced under one lock: two retries cannot both start it.
        let prior = match runs.get(&retry.name) {
            Some(handle) if !handle.is_finished() => {
                return Err(OrchestratorError::Invalid("it is still running".into()))
            }
            Some(handle) => handle.status(),
            None => {
                let stored = self.stored_status(&retry.name)?;
                serde_json::from_value::<WorkflowObject>(stored)
                    .map_err(|error| OrchestratorError::Unavailable(error.to_string()))?
            }
        };
        let uid = prior
            .metadata
            .uid
            .as_deref()
            .and_then(|uid| uuid::Uuid::parse_str(uid).ok())
            .ok_or_else(|| OrchestratorError::Unavailable("the run has no uid".into()))?;
        let (options, run) = self.run_options(RunSetup {
            labels: &retry.labels,
            parameters: &retry.submitted_parameters,
            task_token: retry.task_token.as_ref(),
            uid,
        });
        // Polyphemus's own arguments first, so that the caller's overrides win.
        let mut parameters = retry.submitted_parameters;
        parameters.extend(retry.parameters);
        let request = RetryRequest {
            restart_successful: retry.restart_successful,
            node_field_selector: retry.node_field_selector,
            parameters,
        };
        let handle = Engine::new(options)
            .retry(&prior, &request, &retry.templates.library(), run)
            .map_err(|error| OrchestratorError::Invalid(error.to_string()))?;
        runs.insert(retry.name.clone(), Arc::new(handle));
        tracing::info!(workflow = %retry.name, "retrying a local run");
        Ok(())
    }

    /// The memoize cache of a run with `labels`.
    fn memo_cache(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Option<Arc<dyn polyphemus_engine::MemoCache>> {
        let caches = self.memo_caches.as_ref()?;
        let project = labels.get("polyphemus/project")?;
        let project = polyphemus_model::ProjectName::parse(project).ok()?;
        Some(Arc::new(caches.of(project)))
    }

    /// `PYTHONPATH` of the steps: the SDK first, then what this server has.
    fn python_path(&self) -> Option<String> {
        let sdk = self.python_sdk.as_ref()?.display().to_string();
        Some(match std::env::var("PYTHONPATH") {
            Ok(path) if !path.is_empty() => format!("{sdk}:{path}"),
            _ => sdk,
        })
    }

    /// What Polyphemus's own workflows read by `configMapKeyRef`/`secretKeyRef`, as the
    /// cluster deployment defines them: the API's URL (ConfigMap `polyphemus-steps`, key `url`)
    /// and this run's task token (Secret `polyphemus-step-token`, key `token`).
    fn step_objects(&self, token: Option<&secrecy::SecretString>) -> K8sObjects {
        let mut objects = K8sObjects::new();
        objects.set_config_map_key("polyphemus-steps", "url", self.server_url.clone());
        if let Some(token) = token {
            objects.set_secret_key("polyphemus-step-token", "token", token.expose_secret());
        }
        objects
    }

    /// Steps run `polyphemus …`: the directory of this very binary goes first on their PATH.
    fn step_path() -> Option<String> {
        let exe_dir = super::exe_dir()?;
        let path = std::env::var("PATH").unwrap_or_default();
        Some(format!("{}:{path}", exe_dir.display()))
    }
}
