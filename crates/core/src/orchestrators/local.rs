//! The local orchestrator: runs workflows with the embedded engine as child processes of this
//! server. Steps reach the API at `server_url` with the run's task token, as pods would.

mod control;
mod options;
mod settings;

pub use settings::SandboxSettings;

use super::node_log::file_pieces;
use super::{LogPieces, NodeLog, Orchestrator, OrchestratorError, Retry, Submission, Submitted};
use futures::future::BoxFuture;
use options::RunSetup;
use polyphemus_engine::{read_tail, Engine, EngineOptions, RunHandle, SandboxSupport, Workflow};
use polyphemus_model::{RunId, StopMode};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Runs workflows on this machine; keeps a handle on each run it started.
pub struct LocalOrchestrator {
    options: EngineOptions,
    server_url: String,
    runs: Mutex<HashMap<String, Arc<RunHandle>>>,
    /// Where the embedded Python SDK was written, for `PYTHONPATH`.
    python_sdk: Option<PathBuf>,
    /// `--allow-unsandboxed-steps`: run arbitrary workflow documents without a sandbox.
    allow_unsandboxed: bool,
    /// Where `memoize` templates keep outputs, per project; none: files in the work dir.
    memo_caches: Option<super::memo_cache::MemoCaches>,
}

impl std::fmt::Debug for LocalOrchestrator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalOrchestrator")
            .field("work_dir", &self.options.work_dir)
            .field("server_url", &self.server_url)
            .finish_non_exhaustive()
    }
}

impl LocalOrchestrator {
    /// `work_dir` keeps each run's working directories, logs and final `status.json`.
    /// The embedded Python SDK is written once (`python_sdk::location`: `<work_dir>/.sdk/python`)
    /// and put first on every step's `PYTHONPATH`.
    pub fn new(work_dir: PathBuf, server_url: String) -> Self {
        let python_sdk = match super::python_sdk::install(&super::python_sdk::location(&work_dir)) {
            Ok(dir) => Some(dir),
            Err(error) => {
                tracing::warn!(%error, "cannot write the Python SDK: steps will not find it");
                None
            }
        };
        Self {
            options: EngineOptions {
                work_dir,
                // Steps run this very binary; its directory must stay reachable from a node's
                // private /tmp when it lives there (a checkout under /tmp).
                // The SDK too: under the work dir, which steps see only their part of.
                keep_visible: exe_reach().into_iter().chain(python_sdk.clone()).collect(),
                ..EngineOptions::default()
            },
            server_url,
            runs: Mutex::new(HashMap::new()),
            python_sdk,
            allow_unsandboxed: false,
            memo_caches: None,
        }
    }

    /// One line saying what sandbox steps get here, for `serve` to print.
    pub fn sandbox_summary(&self) -> String {
        let engine = Engine::new(self.options.clone());
        match engine.sandbox_support() {
            SandboxSupport::Root => format!(
                "steps are sandboxed: own PID and mount namespaces, read-only host, data dir hidden, \
                 running as user {}",
                engine.step_user().map(|u| u.name).unwrap_or_default()
            ),
            SandboxSupport::UserNamespace => "steps are sandboxed: own user, PID and mount \
                 namespaces, read-only host, data dir hidden (as this server's user, without \
                 capabilities)"
                .to_owned(),
            SandboxSupport::None => format!(
                "steps are NOT sandboxed (no root and no user namespaces, or \
                 POLYPHEMUS_ENGINE_ISOLATION=off): they run as this server's user and can read \
                 its files; submitting workflow documents is {}",
                if self.allow_unsandboxed {
                    "allowed (--allow-unsandboxed-steps)"
                } else {
                    "refused (allow it with --allow-unsandboxed-steps)"
                }
            ),
        }
    }

    /// Kills what a run launched before a restart left running; how many processes.
    fn kill_leftovers(&self, name: &str) -> usize {
        polyphemus_engine::kill_leftovers(&self.options.work_dir.join(name))
    }

    fn handle(&self, name: &str) -> Result<Arc<RunHandle>, OrchestratorError> {
        self.runs
            .lock()
            .ok()
            .and_then(|runs| runs.get(name).cloned())
            .ok_or_else(|| OrchestratorError::NotFound(name.to_owned()))
    }

    /// The final status a finished run left on disk, for runs started before a restart.
    fn stored_status(&self, name: &str) -> Result<Value, OrchestratorError> {
        let path = self.options.work_dir.join(name).join("status.json");
        let text = std::fs::read_to_string(&path)
            .map_err(|_| OrchestratorError::NotFound(name.to_owned()))?;
        serde_json::from_str(&text)
            .map_err(|e| OrchestratorError::Unavailable(format!("{}: {e}", path.display())))
    }

    /// The node logs a finished run left on disk (`logs/<node id>.stdout.log`, `.stderr.log`).
    fn stored_logs(
        &self,
        name: &str,
        tail_bytes: u64,
    ) -> Result<BTreeMap<String, NodeLog>, OrchestratorError> {
        let status = self.stored_status(name)?;
        let logs_dir = self.options.work_dir.join(name).join("logs");
        let ids = status["status"]["nodes"]
            .as_object()
            .into_iter()
            .flat_map(|n| n.keys());
        Ok(ids
            .filter_map(|id| node_log(&logs_dir, id, tail_bytes).map(|log| (id.clone(), log)))
            .collect())
    }
}

impl Orchestrator for LocalOrchestrator {
    fn kind(&self) -> &'static str {
        "local"
    }

    fn refuses_workflow_documents(&self) -> Option<String> {
        let sandboxed = Engine::new(self.options.clone()).sandbox_support() != SandboxSupport::None;
        (!sandboxed && !self.allow_unsandboxed).then(|| {
            "this server cannot sandbox workflow steps (no root and no user namespaces, or \
             POLYPHEMUS_ENGINE_ISOLATION=off), so it runs only the built-in and packaged \
             workflows; start it with --allow-unsandboxed-steps to accept workflow documents"
                .to_owned()
        })
    }

    fn live_status_every(&self) -> Option<std::time::Duration> {
        // In memory: cheap to read often.
        Some(std::time::Duration::from_millis(500))
    }

    fn notifies_finish(&self) -> bool {
        true
    }

    fn launched(&self, name: &str) -> bool {
        // The engine makes `<work dir>/<name>/` at submit: a run registered by an external
        // tool (POST /runs) or launched by a server with another data dir has none here.
        !name.is_empty()
            && !name.contains('/')
            && name != ".."
            && self.options.work_dir.join(name).is_dir()
    }

    fn end_leftovers(&self, name: &str) -> usize {
        self.kill_leftovers(name)
    }

    fn namespace(&self) -> &str {
        &self.options.namespace
    }

    fn accepts_uid(&self) -> bool {
        true
    }

    fn resolves_project_templates(&self) -> bool {
        true
    }

    fn submit(
        &self,
        submission: Submission,
    ) -> BoxFuture<'_, Result<Submitted, OrchestratorError>> {
        Box::pin(async move {
            let workflow = Workflow::from_yaml(&submission.workflow_yaml)
                .map_err(|e| OrchestratorError::Invalid(e.to_string()))?;
            // Chosen here when the caller did not, so the steps can be told their run id.
            let uid = match submission
                .uid
                .as_ref()
                .map(|uid| uuid::Uuid::parse_str(uid.as_str()))
            {
                Some(Ok(uid)) => uid,
                Some(Err(_)) => {
                    return Err(OrchestratorError::Invalid("the uid is not a UUID".into()))
                }
                None => uuid::Uuid::new_v4(),
            };
            let (options, run) = self.run_options(RunSetup {
                labels: &submission.labels,
                parameters: &submission.parameters,
                task_token: submission.task_token.as_ref(),
                uid,
            });
            let namespace = options.namespace.clone();
            let library = submission.templates.library();
            let handle = Engine::new(options)
                .submit_with(workflow, submission.parameters, &library, run)
                .map_err(|e| OrchestratorError::Invalid(e.to_string()))?;
            let submitted = Submitted {
                name: handle.name().to_owned(),
                uid: RunId::parse(handle.uid())
                    .map_err(|error| OrchestratorError::Unavailable(error.to_string()))?,
                namespace,
            };
            if let Ok(mut runs) = self.runs.lock() {
                runs.insert(submitted.name.clone(), Arc::new(handle));
            }
            tracing::info!(workflow = %submitted.name, uid = %submitted.uid, "submitted to the local engine");
            Ok(submitted)
        })
    }

    fn workflow<'a>(
        &'a self,
        _namespace: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Value, OrchestratorError>> {
        Box::pin(async move {
            match self.handle(name) {
                Ok(handle) => serde_json::to_value(handle.status())
                    .map_err(|e| OrchestratorError::Unavailable(e.to_string())),
                Err(_) => self.stored_status(name),
            }
        })
    }

    fn wait_finished<'a>(
        &'a self,
        _namespace: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<(), OrchestratorError>> {
        Box::pin(async move {
            let handle = match self.handle(name) {
                Ok(handle) => handle,
                // Already finished and forgotten: its status.json is on disk.
                Err(error) => return self.stored_status(name).map(|_| ()).map_err(|_| error),
            };
            handle.wait().await;
            // A finished run's status and logs are on disk; holding them in memory for every
            // run a long-lived server ever ran would only grow.
            if let Ok(mut runs) = self.runs.lock() {
                runs.remove(name);
            }
            Ok(())
        })
    }

    fn logs<'a>(
        &'a self,
        _namespace: &'a str,
        name: &'a str,
        tail_bytes: u64,
    ) -> BoxFuture<'a, Result<BTreeMap<String, NodeLog>, OrchestratorError>> {
        Box::pin(async move {
            if let Ok(handle) = self.handle(name) {
                let logs_dir = handle.run_dir().join("logs");
                return Ok(handle
                    .status()
                    .status
                    .nodes
                    .keys()
                    .filter_map(|id| node_log(&logs_dir, id, tail_bytes).map(|l| (id.clone(), l)))
                    .collect());
            }
            self.stored_logs(name, tail_bytes)
        })
    }

    fn node_log_pieces<'a>(
        &'a self,
        workflow: &'a Value,
        node_id: &'a str,
    ) -> BoxFuture<'a, Result<LogPieces, OrchestratorError>> {
        Box::pin(async move {
            let name = workflow["metadata"]["name"].as_str().unwrap_or_default();
            if !self.launched(name) || node_id.contains('/') {
                return Err(OrchestratorError::NotFound(name.to_owned()));
            }
            let logs_dir = self.options.work_dir.join(name).join("logs");
            Ok(file_pieces(node_log_files(&logs_dir, node_id)))
        })
    }

    fn resume<'a>(
        &'a self,
        _namespace: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<(), OrchestratorError>> {
        Box::pin(self.resume_run(name))
    }

    fn delete<'a>(
        &'a self,
        _namespace: &'a str,
        name: &'a str,
        uid: &'a RunId,
    ) -> BoxFuture<'a, Result<(), OrchestratorError>> {
        Box::pin(self.delete_run(name, uid))
    }

    fn suspend<'a>(
        &'a self,
        _namespace: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<(), OrchestratorError>> {
        Box::pin(self.suspend_run(name))
    }

    fn retry<'a>(
        &'a self,
        _namespace: &'a str,
        retry: Retry,
    ) -> BoxFuture<'a, Result<(), OrchestratorError>> {
        Box::pin(async move { self.retry_run(retry) })
    }

    fn stop<'a>(
        &'a self,
        _namespace: &'a str,
        name: &'a str,
        mode: StopMode,
    ) -> BoxFuture<'a, Result<(), OrchestratorError>> {
        Box::pin(self.stop_run(name, mode))
    }
}

/// What steps must reach of the running binary: its directory, or the binary alone when it
/// lies directly in `/tmp` (which each step sees replaced by its own).
fn exe_reach() -> Option<PathBuf> {
    let dir = exe_dir()?;
    if dir == Path::new("/tmp") {
        return std::env::current_exe().ok();
    }
    Some(dir)
}

/// The directory of the running `polyphemus` binary.
fn exe_dir() -> Option<PathBuf> {
    Some(std::env::current_exe().ok()?.parent()?.to_path_buf())
}

/// The end of node `id`'s log files under `logs_dir`, if it printed anything.
fn node_log(logs_dir: &Path, id: &str, tail_bytes: u64) -> Option<NodeLog> {
    let mut log = NodeLog::default();
    for path in node_log_files(logs_dir, id) {
        match read_tail(&path, tail_bytes) {
            Ok(Some((text, total))) => {
                log.text.push_str(&text);
                log.total_bytes += total;
            }
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(file = %path.display(), %error, "cannot read a node log");
            }
        }
    }
    (log.total_bytes > 0).then_some(log)
}

/// Node `id`'s log files under `logs_dir`: its interleaved `<id>.log`, or for a run of an
/// older engine its `<id>.stdout.log` then `<id>.stderr.log`.
fn node_log_files(logs_dir: &Path, id: &str) -> Vec<PathBuf> {
    let interleaved = logs_dir.join(format!("{id}.log"));
    if interleaved.exists() {
        return vec![interleaved];
    }
    ["stdout", "stderr"]
        .map(|stream| logs_dir.join(format!("{id}.{stream}.log")))
        .into()
}
