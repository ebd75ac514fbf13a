//! The context a job's pre, process and post share: the run's config and secrets, state,
//! a logger whose lines reach the run's output, and cancellation.

use crate::{JobError, RunApi, RunTarget};
use polyphemus_model::LedgerName;
use secrecy::SecretString;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::watch;

pub struct JobContext {
    api: Arc<dyn RunApi>,
    pub target: RunTarget,
    /// The job's name, prefixed to its log lines.
    pub job: String,
    /// The config version's values (validated by the manifest's schema).
    pub config: Value,
    secrets: BTreeMap<String, SecretString>,
    cancelled: watch::Receiver<bool>,
    /// Scratch space shared by pre, process and post.
    pub values: Map<String, Value>,
    /// Values the workflow passed (`run_job … --arg name=value`).
    pub args: BTreeMap<String, String>,
}

impl std::fmt::Debug for JobContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobContext")
            .field("target", &self.target)
            .field("job", &self.job)
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl JobContext {
    /// Loads the config version and its secrets through `api`.
    pub async fn load(
        api: Arc<dyn RunApi>,
        target: RunTarget,
        job: &str,
        cancelled: watch::Receiver<bool>,
    ) -> Result<Self, JobError> {
        let config = api.config_version(&target).await?;
        let secrets = api
            .secrets(&target)
            .await?
            .into_iter()
            .map(|(name, value)| (name, SecretString::from(value)))
            .collect();
        Ok(Self {
            api,
            target,
            job: job.to_owned(),
            config: config.config,
            secrets,
            cancelled,
            values: Map::new(),
            args: BTreeMap::new(),
        })
    }

    /// A string value of the config, if set and not empty.
    pub fn config_str(&self, key: &str) -> Option<&str> {
        self.config[key].as_str().filter(|s| !s.is_empty())
    }

    pub fn secret(&self, name: &str) -> Option<&SecretString> {
        self.secrets.get(name)
    }

    pub async fn run_state(&self) -> Result<Map<String, Value>, JobError> {
        self.api.run_state(&self.target).await
    }

    /// The latest value of each key among earlier runs of this config.
    pub async fn previous_state(&self, keys: &[&str]) -> Result<Map<String, Value>, JobError> {
        let keys: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
        self.api.previous_state(&self.target, &keys).await
    }

    /// Every value `key` had in earlier runs of this config, newest first (at most `limit`).
    pub async fn previous_values(&self, key: &str, limit: u32) -> Result<Vec<Value>, JobError> {
        self.api.previous_values(&self.target, key, limit).await
    }

    /// The config's runtime params (`{}` when none) with the run's own params (a backfill's
    /// window) laid over them.
    pub async fn runtime_params(&self) -> Result<Value, JobError> {
        self.api.runtime_params(&self.target).await
    }

    /// Records delivered entries in a ledger of this run's config, a batch per request; with no
    /// entries it opens the ledger (the job ran, and lookups count it).
    pub async fn record_ledger(
        &self,
        ledger: &str,
        entries: Map<String, Value>,
    ) -> Result<(), JobError> {
        let ledger = ledger_name(ledger)?;
        if entries.is_empty() {
            return self.api.record_ledger(&self.target, &ledger, entries).await;
        }
        let mut batch = Map::new();
        for (name, record) in entries {
            batch.insert(name, record);
            if batch.len() == LEDGER_BATCH {
                let full = std::mem::take(&mut batch);
                self.api.record_ledger(&self.target, &ledger, full).await?;
            }
        }
        if !batch.is_empty() {
            self.api.record_ledger(&self.target, &ledger, batch).await?;
        }
        Ok(())
    }

    /// Whether a ledger of this run's config is open, and the records it holds for `names`
    /// (asked a batch at a time: the cost follows the names, not the config's history).
    pub async fn lookup_ledger(
        &self,
        ledger: &str,
        names: &[String],
    ) -> Result<(bool, Map<String, Value>), JobError> {
        let ledger = ledger_name(ledger)?;
        let mut open = false;
        let mut found = Map::new();
        // No names still asks once: whether the ledger is open.
        let batches: Vec<&[String]> = if names.is_empty() {
            vec![&[]]
        } else {
            names.chunks(LEDGER_BATCH).collect()
        };
        for batch in batches {
            let answer = self
                .api
                .lookup_ledger(&self.target, &ledger, batch.to_vec())
                .await?;
            open |= answer.open;
            found.extend(answer.entries);
        }
        Ok((open, found))
    }

    /// Merges top-level keys into this run's state.
    pub async fn update_state(&self, state: Map<String, Value>) -> Result<(), JobError> {
        self.api.update_state(&self.target, state).await
    }

    /// A line in the run's output (and the step's log).
    pub async fn log(&self, line: &str) -> Result<(), JobError> {
        tracing::info!(job = %self.job, "{line}");
        eprintln!("[{}] {line}", self.job);
        self.api
            .append_output(&self.target, &format!("[{}] {line}\n", self.job))
            .await
    }

    pub fn is_cancelled(&self) -> bool {
        *self.cancelled.borrow()
    }

    /// A receiver that changes to `true` on SIGTERM, for `select!` in long work.
    pub fn cancellation(&self) -> watch::Receiver<bool> {
        self.cancelled.clone()
    }
}

/// Entries per ledger request: a batch of long paths with their records stays well under the
/// API's 1 MiB request limit.
const LEDGER_BATCH: usize = 1_000;

fn ledger_name(ledger: &str) -> Result<LedgerName, JobError> {
    LedgerName::parse(ledger).map_err(|error| JobError::Config(format!("ledger: {}", error.reason)))
}
