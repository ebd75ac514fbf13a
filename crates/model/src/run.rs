//! Runs, their state and output, and the orchestrator's run metadata on the wire.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use utoipa::ToSchema;

use crate::{ConfigId, ProjectName, RunId, RunPhase, VersionNumber};

/// One execution of a config version, keyed by the orchestrator's uid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Run {
    pub run_id: RunId,
    pub name: String,
    pub project_name: ProjectName,
    pub config_id: ConfigId,
    pub version_number: VersionNumber,
    pub state: Value,
    /// What this run was launched with (a backfill's window: `start_time`, `end_time`,
    /// `backfill_id`); jobs see them laid over the config's runtime params.
    #[serde(default = "empty_object")]
    #[schema(value_type = Object)]
    pub params: Value,
    pub output: String,
    /// Whether output was dropped at the server's limit (the output then ends with a marker).
    #[serde(default)]
    pub output_truncated: bool,
    /// When the retention policy emptied the output (absent while it is kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_pruned_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn empty_object() -> Value {
    Value::Object(Map::new())
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRun {
    pub run_id: RunId,
    pub name: String,
    pub config_id: ConfigId,
    pub version_number: VersionNumber,
}

/// `state` keys replace the stored top-level keys atomically; `append_output` appends.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchRun {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub state: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub append_output: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
}

/// What the orchestrator reports about a run, in Argo's shape (snake_case or Argo's camelCase).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RunStatusReport {
    pub phase: RunPhase,
    #[serde(default, alias = "startedAt")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default, alias = "finishedAt")]
    pub finished_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub nodes: BTreeMap<String, NodeReport>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NodeReport {
    pub name: String,
    #[serde(default, alias = "displayName")]
    pub display_name: Option<String>,
    #[serde(rename = "type")]
    pub node_type: String,
    pub phase: RunPhase,
    #[serde(default, alias = "startedAt")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default, alias = "finishedAt")]
    pub finished_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub retries: Option<i32>,
    /// Ids (keys of `nodes`) of the nodes this one started, as Argo lists them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<String>,
}

/// Stored run metadata: the report plus fields derived from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RunMetadata {
    pub run_id: RunId,
    #[serde(flatten)]
    pub report: RunStatusReport,
    pub duration_s: Option<f64>,
    /// Retry attempts across all nodes.
    pub retries: i32,
    /// Names of the nodes that failed or errored.
    pub failed_nodes: Vec<String>,
    /// Why a failed run failed: its first failed step and that step's message
    /// (`discover: config: …`); the orchestrator's own headline stays in `message`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// Asks the server to read a run's workflow from its orchestrator and store what it reports.
/// The names, when given, must match the run (a guard against a hook called with wrong ids).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncRunRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}
