//! What the store takes and gives: rows of the tables in plain Rust types.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use std::collections::BTreeMap;

pub use polyphemus_model::{ChangeOutcome, RegisterOutcome};
use polyphemus_model::{
    ConcurrencyPolicy, Config, ConfigId, ConfigVersion, CronExpr, ProjectName, RunId, RunPhase,
    SchedulePause, SecretName, VersionNumber, WorkflowType, DEFAULT_PAUSE_AFTER_FAILURES, REDACTED,
};

/// One version of a config as stored: secret values are sealed (encrypted) strings.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ConfigRecord {
    pub id: i64,
    pub config_id: ConfigId,
    pub version_number: VersionNumber,
    pub project_name: ProjectName,
    pub workflow_type: WorkflowType,
    pub workflow_name: String,
    #[sqlx(json)]
    pub config: Value,
    #[sqlx(rename = "secrets", json)]
    pub sealed_secrets: BTreeMap<SecretName, String>,
    pub comment: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The digest of the workflow package this version was last validated against.
    pub package_digest: Option<String>,
}

impl ConfigRecord {
    pub fn version(&self) -> ConfigVersion {
        ConfigVersion::new(self.config_id, self.version_number)
    }
}

/// Where the store meets the wire: sealed secret values never leave, only their names as `***`.
impl From<ConfigRecord> for Config {
    fn from(record: ConfigRecord) -> Self {
        Config {
            id: record.id,
            config_id: record.config_id,
            version_number: record.version_number,
            project_name: record.project_name,
            workflow_type: record.workflow_type,
            workflow_name: record.workflow_name,
            config: record.config,
            secrets: record
                .sealed_secrets
                .into_keys()
                .map(|name| (name, REDACTED.to_owned()))
                .collect(),
            comment: record.comment,
            created_at: record.created_at,
            updated_at: record.updated_at,
            package_digest: record.package_digest,
        }
    }
}

/// Version 1 of a new config.
#[derive(Debug, Clone)]
pub struct NewConfig {
    pub project_name: ProjectName,
    pub workflow_type: WorkflowType,
    pub workflow_name: String,
    pub config: Value,
    pub sealed_secrets: BTreeMap<SecretName, String>,
    pub comment: Option<String>,
    /// The digest of the package the config was validated against.
    pub package_digest: String,
}

/// A change to a config: a `config` that differs from the latest inserts version N+1.
#[derive(Debug, Clone, Default)]
pub struct ConfigChange {
    pub config: Option<Value>,
    pub workflow_name: Option<String>,
    pub comment: Option<String>,
    pub expected_version: Option<VersionNumber>,
    /// Set when `config` was validated against this package: recorded on the version written.
    pub package_digest: Option<String>,
}

/// An event-log entry to write in the same transaction as the change it describes.
/// The store fills in `config_id`, `version_number` and `run_id` where the change decides them.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub project_name: ProjectName,
    pub actor: String,
    pub action: String,
    pub config_id: Option<ConfigId>,
    pub version_number: Option<VersionNumber>,
    pub run_id: Option<RunId>,
    pub detail: Value,
}

impl NewEvent {
    pub fn new(project_name: &ProjectName, actor: &str, action: &str, detail: Value) -> Self {
        Self {
            project_name: project_name.clone(),
            actor: actor.to_owned(),
            action: action.to_owned(),
            config_id: None,
            version_number: None,
            run_id: None,
            detail,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct EventRow {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub config_id: Option<ConfigId>,
    pub version_number: Option<VersionNumber>,
    pub run_id: Option<RunId>,
    pub detail: Json<Value>,
}

/// The runtime config (schedule) of a config id, as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RuntimeRecord {
    pub config_id: ConfigId,
    pub run_interval_s: Option<i64>,
    pub cron: Option<CronExpr>,
    pub timezone: Option<String>,
    pub disabled: bool,
    pub config: Json<Value>,
    pub next_run_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub concurrency_policy: ConcurrencyPolicy,
    pub starting_deadline_s: Option<i64>,
    pub pause_after_failures: i32,
    pub paused_at: Option<DateTime<Utc>>,
    pub paused_reason: Option<String>,
    pub paused_run_ids: Option<Json<Vec<RunId>>>,
    pub expected_duration_s: Option<i64>,
}

impl RuntimeRecord {
    /// The runtime config of a config that never had one: no schedule, the default policies.
    pub fn unset(config_id: ConfigId, at: DateTime<Utc>) -> Self {
        Self {
            config_id,
            run_interval_s: None,
            cron: None,
            timezone: None,
            disabled: false,
            config: Json(Value::Object(serde_json::Map::new())),
            next_run_at: None,
            updated_at: at,
            concurrency_policy: ConcurrencyPolicy::default(),
            starting_deadline_s: None,
            pause_after_failures: DEFAULT_PAUSE_AFTER_FAILURES,
            paused_at: None,
            paused_reason: None,
            paused_run_ids: None,
            expected_duration_s: None,
        }
    }

    /// Why the schedule is paused, when it is.
    pub fn pause(&self) -> Option<SchedulePause> {
        pause_of(self.paused_at, &self.paused_reason, &self.paused_run_ids)
    }
}

/// The pause stored in a runtime config's `paused_*` columns.
fn pause_of(
    at: Option<DateTime<Utc>>,
    reason: &Option<String>,
    run_ids: &Option<Json<Vec<RunId>>>,
) -> Option<SchedulePause> {
    Some(SchedulePause {
        at: at?,
        reason: reason.clone().unwrap_or_default(),
        run_ids: run_ids
            .as_ref()
            .map(|ids| ids.0.clone())
            .unwrap_or_default(),
    })
}

#[derive(sqlx::FromRow)]
pub(crate) struct RunRow {
    pub seq: i64,
    pub run_id: RunId,
    pub name: String,
    pub project_name: ProjectName,
    pub config_id: ConfigId,
    pub version_number: VersionNumber,
    pub state: Json<Value>,
    pub params: Json<Value>,
    pub output: String,
    pub output_truncated: bool,
    pub output_pruned_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A run as stored; `seq` orders runs by registration.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    pub seq: i64,
    pub run: polyphemus_model::Run,
}

impl From<RunRow> for RunRecord {
    fn from(row: RunRow) -> Self {
        Self {
            seq: row.seq,
            run: polyphemus_model::Run {
                run_id: row.run_id,
                name: row.name,
                project_name: row.project_name,
                config_id: row.config_id,
                version_number: row.version_number,
                state: row.state.0,
                params: row.params.0,
                output: row.output,
                output_truncated: row.output_truncated,
                output_pruned_at: row.output_pruned_at,
                created_at: row.created_at,
                updated_at: row.updated_at,
            },
        }
    }
}

/// A run to register.
#[derive(Debug, Clone)]
pub struct NewRun {
    pub run_id: RunId,
    pub name: String,
    pub project_name: ProjectName,
    pub config_id: ConfigId,
    pub version_number: VersionNumber,
    /// What the run is launched with (`{}` for most runs).
    pub params: serde_json::Map<String, Value>,
}

/// What a run PATCH changes; all parts are applied in one statement.
#[derive(Debug, Clone, Default)]
pub struct RunChange {
    pub state: serde_json::Map<String, Value>,
    pub append_output: Option<String>,
    pub replace_output: Option<String>,
    /// What the merge answers with in `RunChanged::state`.
    pub answer: StateAnswer,
}

/// The state a merge answers with: the run's whole state (the default; reading it costs as
/// much as the state is large) or only the keys merged (a write that stays as cheap however
/// much state the run holds).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StateAnswer {
    #[default]
    WholeState,
    MergedKeys,
}

/// Stored run metadata, and the task tokens its final phase revoked (in the same transaction).
#[derive(Debug, Clone)]
pub struct RecordedMetadata {
    pub record: RunMetadataRecord,
    /// Ids of the run's task tokens this write revoked; empty unless the phase is final.
    pub revoked_tokens: Vec<String>,
    /// Whether this write recorded the run's end (a later final report replaces metadata
    /// without ending it again).
    pub ended_now: bool,
}

/// Run metadata to store, with its derived fields computed by the caller.
#[derive(Debug, Clone)]
pub struct NewRunMetadata {
    pub phase: RunPhase,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub message: Option<String>,
    pub nodes: Value,
    pub duration_s: Option<f64>,
    pub retries: i32,
    pub failed_nodes: Vec<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RunMetadataRecord {
    pub run_id: RunId,
    pub phase: RunPhase,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub message: Option<String>,
    pub nodes: Json<Value>,
    pub duration_s: Option<f64>,
    pub retries: i32,
    pub failed_nodes: Json<Vec<String>>,
    pub updated_at: DateTime<Utc>,
}

/// One row of the project status page.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StatusRecord {
    pub config_id: ConfigId,
    pub version_number: VersionNumber,
    pub workflow_type: WorkflowType,
    pub workflow_name: String,
    pub disabled: bool,
    pub next_run_at: Option<DateTime<Utc>>,
    pub last_run_id: Option<RunId>,
    pub last_phase: Option<RunPhase>,
    pub last_started_at: Option<DateTime<Utc>>,
    pub last_finished_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub paused_at: Option<DateTime<Utc>>,
    pub paused_reason: Option<String>,
    pub paused_run_ids: Option<Json<Vec<RunId>>>,
    pub archived_at: Option<DateTime<Utc>>,
}

impl StatusRecord {
    /// Why the config's schedule is paused, when it is.
    pub fn pause(&self) -> Option<SchedulePause> {
        pause_of(self.paused_at, &self.paused_reason, &self.paused_run_ids)
    }
}

/// An issued token; the signed token itself is never stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenRecord {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub scope: Json<Value>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// The run a task token was minted for; it ends with that run.
    pub run_id: Option<RunId>,
}

/// A token to record when it is issued.
#[derive(Debug, Clone)]
pub struct NewToken<'a> {
    pub id: &'a str,
    pub name: &'a str,
    /// `user` or `task`.
    pub kind: &'a str,
    pub scope: &'a Value,
    pub expires_at: DateTime<Utc>,
    /// Set for a task token minted for one run: it is revoked when the run's end is recorded.
    pub run_id: Option<&'a RunId>,
}

/// What never changes about a registered run: which config version it instantiates.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RunScope {
    pub config_id: ConfigId,
    pub version_number: VersionNumber,
    pub workflow_type: WorkflowType,
}
