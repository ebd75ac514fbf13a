//! The run's side of the Polyphemus API, in memory, for testing jobs without a server.
#![allow(
    dead_code,
    reason = "shared by test binaries and the copy_bench example that each use part of it; `expect` would be unfulfilled in one that uses all"
)]

use async_trait::async_trait;
use polyphemus_jobs::{find_job, run_job, JobContext, JobError, JobOutcome, RunApi, RunTarget};
use polyphemus_model::{Config, ConfigId, LedgerEntries, LedgerName, VersionNumber};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

#[derive(Default)]
pub struct MemoryApi {
    pub config: Value,
    pub secrets: BTreeMap<String, String>,
    pub runtime: Value,
    pub state: Mutex<Map<String, Value>>,
    pub output: Mutex<String>,
    /// Earlier runs' states, newest first.
    pub history: Mutex<Vec<Map<String, Value>>>,
    /// The config's ledgers: name -> entries (a ledger present is open).
    pub ledgers: Mutex<BTreeMap<String, Map<String, Value>>>,
}

impl MemoryApi {
    /// Starts a new run: this run's state becomes the newest of the history.
    pub fn next_run(&self) {
        let finished = std::mem::take(&mut *self.state.lock().expect("lock"));
        self.history.lock().expect("lock").insert(0, finished);
        self.output.lock().expect("lock").clear();
    }

    pub fn state(&self) -> Map<String, Value> {
        self.state.lock().expect("lock").clone()
    }

    pub fn output(&self) -> String {
        self.output.lock().expect("lock").clone()
    }
}

#[async_trait]
impl RunApi for MemoryApi {
    async fn config_version(&self, target: &RunTarget) -> Result<Config, JobError> {
        Ok(Config {
            id: 1,
            config_id: target.config_id,
            version_number: target.version_number,
            project_name: target.project.clone(),
            workflow_type: "sftp-to-storage".parse().expect("workflow type"),
            workflow_name: "nightly".into(),
            config: self.config.clone(),
            secrets: BTreeMap::new(),
            comment: None,
            package_digest: None,
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
        })
    }
    async fn secrets(&self, _: &RunTarget) -> Result<BTreeMap<String, String>, JobError> {
        Ok(self.secrets.clone())
    }
    async fn run_state(&self, _: &RunTarget) -> Result<Map<String, Value>, JobError> {
        Ok(self.state())
    }
    async fn previous_state(
        &self,
        _: &RunTarget,
        keys: &[String],
    ) -> Result<Map<String, Value>, JobError> {
        let history = self.history.lock().expect("lock");
        Ok(keys
            .iter()
            .filter_map(|key| {
                let value = history.iter().find_map(|state| state.get(key))?;
                Some((key.clone(), value.clone()))
            })
            .collect())
    }
    async fn previous_values(
        &self,
        _: &RunTarget,
        key: &str,
        limit: u32,
    ) -> Result<Vec<Value>, JobError> {
        let history = self.history.lock().expect("lock");
        Ok(history
            .iter()
            .filter_map(|state| state.get(key).cloned())
            .take(limit as usize)
            .collect())
    }
    async fn runtime_params(&self, _: &RunTarget) -> Result<Value, JobError> {
        Ok(if self.runtime.is_null() {
            json!({})
        } else {
            self.runtime.clone()
        })
    }
    async fn update_state(&self, _: &RunTarget, state: Map<String, Value>) -> Result<(), JobError> {
        self.state.lock().expect("lock").extend(state);
        Ok(())
    }
    async fn append_output(&self, _: &RunTarget, text: &str) -> Result<(), JobError> {
        self.output.lock().expect("lock").push_str(text);
        Ok(())
    }
    async fn record_ledger(
        &self,
        _: &RunTarget,
        ledger: &LedgerName,
        entries: Map<String, Value>,
    ) -> Result<(), JobError> {
        let mut ledgers = self.ledgers.lock().expect("lock");
        ledgers
            .entry(ledger.to_string())
            .or_default()
            .extend(entries);
        Ok(())
    }
    async fn lookup_ledger(
        &self,
        _: &RunTarget,
        ledger: &LedgerName,
        names: Vec<String>,
    ) -> Result<LedgerEntries, JobError> {
        let ledgers = self.ledgers.lock().expect("lock");
        let held = ledgers.get(ledger.as_str());
        let entries = names
            .into_iter()
            .filter_map(|name| {
                let record = held?.get(&name)?.clone();
                Some((name, record))
            })
            .collect();
        Ok(LedgerEntries {
            ledger: ledger.clone(),
            open: held.is_some(),
            entries,
        })
    }
}

/// A job's context for run `run-1` of config 3 version 2 in project `labors`.
pub async fn context(api: Arc<MemoryApi>, job: &str) -> JobContext {
    context_with_cancel(api, job).await.0
}

/// The same, with the sender that stands for SIGTERM.
pub async fn context_with_cancel(
    api: Arc<MemoryApi>,
    job: &str,
) -> (JobContext, tokio::sync::watch::Sender<bool>) {
    let target = RunTarget {
        project: "labors".parse().expect("project name"),
        config_id: ConfigId::new(3),
        version_number: VersionNumber::new(2),
        run_id: "run-1".parse().expect("run id"),
    };
    let (cancel, cancelled) = tokio::sync::watch::channel(false);
    let context = JobContext::load(api, target, job, cancelled)
        .await
        .expect("context");
    (context, cancel)
}

/// Runs the job called `job` for this API's run.
pub async fn run(api: &Arc<MemoryApi>, job: &str) -> JobOutcome {
    let mut context = context(Arc::clone(api), job).await;
    let job = find_job(job).expect("registered");
    run_job(job.as_ref(), &mut context).await
}

/// An API whose run holds `files` as sftp_discover records them, with `config` and `secrets`.
pub fn api_with_files(config: Value, secrets: &[(&str, &str)], files: Value) -> Arc<MemoryApi> {
    let mut state = Map::new();
    state.insert("files".into(), files);
    Arc::new(MemoryApi {
        config,
        secrets: secrets
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect(),
        state: Mutex::new(state),
        ..MemoryApi::default()
    })
}

/// The keys of the object `state[key]` (files, copied, deposited …).
pub fn keys(state: &Map<String, Value>, key: &str) -> Vec<String> {
    state[key]
        .as_object()
        .map(|map| map.keys().cloned().collect())
        .unwrap_or_default()
}

pub fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
