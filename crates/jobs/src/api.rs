//! What a job may ask of Polyphemus, behind a trait so jobs can be unit tested; the typed HTTP
//! client implements it with the run's task token.

use crate::JobError;
use async_trait::async_trait;
use polyphemus_client::{Client, PreviousStateQuery};
use polyphemus_model::{
    Config, ConfigId, LedgerEntries, LedgerName, LookupLedger, PatchRun, ProjectName, RecordLedger,
    RunId, VersionNumber,
};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The run a job works for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunTarget {
    pub project: ProjectName,
    pub config_id: ConfigId,
    pub version_number: VersionNumber,
    pub run_id: RunId,
}

#[async_trait]
pub trait RunApi: Send + Sync {
    async fn config_version(&self, target: &RunTarget) -> Result<Config, JobError>;
    async fn secrets(&self, target: &RunTarget) -> Result<BTreeMap<String, String>, JobError>;
    /// The state this run holds so far (what earlier steps of the run wrote).
    async fn run_state(&self, target: &RunTarget) -> Result<Map<String, Value>, JobError>;
    async fn previous_state(
        &self,
        target: &RunTarget,
        keys: &[String],
    ) -> Result<Map<String, Value>, JobError>;
    /// Every value of `key` among earlier runs of this config, newest first (at most `limit`).
    async fn previous_values(
        &self,
        target: &RunTarget,
        key: &str,
        limit: u32,
    ) -> Result<Vec<Value>, JobError>;
    /// The config's runtime params (`{}` when none are set) with this run's params laid over
    /// them (a backfill's window: the run's keys win).
    async fn runtime_params(&self, target: &RunTarget) -> Result<Value, JobError>;
    async fn update_state(
        &self,
        target: &RunTarget,
        state: Map<String, Value>,
    ) -> Result<(), JobError>;
    async fn append_output(&self, target: &RunTarget, text: &str) -> Result<(), JobError>;
    /// Records entries (at most 5,000) in a ledger of this run's config.
    async fn record_ledger(
        &self,
        target: &RunTarget,
        ledger: &LedgerName,
        entries: Map<String, Value>,
    ) -> Result<(), JobError>;
    /// The records a ledger of this run's config holds for `names` (at most 5,000).
    async fn lookup_ledger(
        &self,
        target: &RunTarget,
        ledger: &LedgerName,
        names: Vec<String>,
    ) -> Result<LedgerEntries, JobError>;
}

/// A client error, permanent or transient by its status (see [`JobError::from`]).
fn api(error: polyphemus_client::Error) -> JobError {
    JobError::from(error)
}

#[async_trait]
impl RunApi for Client {
    async fn config_version(&self, target: &RunTarget) -> Result<Config, JobError> {
        self.get_config_version(&target.project, target.config_id, target.version_number)
            .await
            .map_err(api)
    }

    async fn secrets(&self, target: &RunTarget) -> Result<BTreeMap<String, String>, JobError> {
        self.get_task_secrets(&target.project, target.config_id, target.version_number)
            .await
            .map_err(api)
    }

    async fn run_state(&self, target: &RunTarget) -> Result<Map<String, Value>, JobError> {
        let run = self
            .get_run(&target.project, &target.run_id)
            .await
            .map_err(api)?;
        Ok(run.state.as_object().cloned().unwrap_or_default())
    }

    async fn previous_state(
        &self,
        target: &RunTarget,
        keys: &[String],
    ) -> Result<Map<String, Value>, JobError> {
        let query = PreviousStateQuery {
            keys: keys.to_vec(),
            collect: false,
            before_run_id: Some(target.run_id.clone()),
            limit: None,
        };
        self.get_previous_state(&target.project, target.config_id, &query)
            .await
            .map_err(api)
    }

    async fn previous_values(
        &self,
        target: &RunTarget,
        key: &str,
        limit: u32,
    ) -> Result<Vec<Value>, JobError> {
        let query = PreviousStateQuery {
            keys: vec![key.to_owned()],
            collect: true,
            before_run_id: Some(target.run_id.clone()),
            limit: Some(i64::from(limit)),
        };
        let mut found = self
            .get_previous_state(&target.project, target.config_id, &query)
            .await
            .map_err(api)?;
        Ok(match found.remove(key) {
            Some(Value::Array(values)) => values,
            _ => Vec::new(),
        })
    }

    async fn runtime_params(&self, target: &RunTarget) -> Result<Value, JobError> {
        let config = self
            .get_runtime(&target.project, target.config_id)
            .await
            .map(|runtime| runtime.config)
            .map_err(api)?;
        let run = self
            .get_run(&target.project, &target.run_id)
            .await
            .map_err(api)?;
        Ok(overlay(config, run.params))
    }

    async fn update_state(
        &self,
        target: &RunTarget,
        state: Map<String, Value>,
    ) -> Result<(), JobError> {
        let patch = PatchRun {
            state: Some(state),
            ..PatchRun::default()
        };
        self.merge_run(&target.project, &target.run_id, &patch)
            .await
            .map(|_| ())
            .map_err(api)
    }

    async fn append_output(&self, target: &RunTarget, text: &str) -> Result<(), JobError> {
        let patch = PatchRun {
            append_output: Some(text.to_owned()),
            ..PatchRun::default()
        };
        self.merge_run(&target.project, &target.run_id, &patch)
            .await
            .map(|_| ())
            .map_err(api)
    }

    async fn record_ledger(
        &self,
        target: &RunTarget,
        ledger: &LedgerName,
        entries: Map<String, Value>,
    ) -> Result<(), JobError> {
        let body = RecordLedger { entries };
        Client::record_ledger(self, &target.project, &target.run_id, ledger, &body)
            .await
            .map(|_| ())
            .map_err(api)
    }

    async fn lookup_ledger(
        &self,
        target: &RunTarget,
        ledger: &LedgerName,
        names: Vec<String>,
    ) -> Result<LedgerEntries, JobError> {
        let body = LookupLedger { names };
        Client::lookup_ledger(self, &target.project, target.config_id, ledger, &body)
            .await
            .map_err(api)
    }
}

/// `run` params laid over the config's runtime params: each top-level key of `run` wins.
pub fn overlay(config: Value, run: Value) -> Value {
    let mut merged = match config {
        Value::Object(config) => config,
        _ => Map::new(),
    };
    if let Value::Object(run) = run {
        merged.extend(run);
    }
    Value::Object(merged)
}

#[cfg(test)]
mod overlay_tests {
    use super::overlay;
    use serde_json::json;

    #[test]
    fn the_runs_params_win_over_the_configs() {
        let merged = overlay(
            json!({"max_files": 10, "start_time": "old"}),
            json!({"start_time": "2026-11-01T00:00:00Z", "backfill_id": 1}),
        );
        assert_eq!(
            merged,
            json!({"max_files": 10, "start_time": "2026-11-01T00:00:00Z", "backfill_id": 1})
        );
        assert_eq!(overlay(json!(null), json!({})), json!({}));
    }
}
