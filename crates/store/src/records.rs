//! What the store takes and gives: rows of the tables in plain Rust types.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use std::collections::BTreeMap;

/// One version of a config as stored: secret values are sealed (encrypted) strings.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigRecord {
    pub id: i64,
    pub config_id: i64,
    pub version_number: i32,
    pub project_name: String,
    pub workflow_type: String,
    pub workflow_name: String,
    pub config: Value,
    pub sealed_secrets: BTreeMap<String, String>,
    pub comment: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct ConfigRow {
    pub id: i64,
    pub config_id: i64,
    pub version_number: i32,
    pub project_name: String,
    pub workflow_type: String,
    pub workflow_name: String,
    pub config: Json<Value>,
    pub secrets: Json<BTreeMap<String, String>>,
    pub comment: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<ConfigRow> for ConfigRecord {
    fn from(row: ConfigRow) -> Self {
        Self {
            id: row.id,
            config_id: row.config_id,
            version_number: row.version_number,
            project_name: row.project_name,
            workflow_type: row.workflow_type,
            workflow_name: row.workflow_name,
            config: row.config.0,
            sealed_secrets: row.secrets.0,
            comment: row.comment,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// Version 1 of a new config.
#[derive(Debug, Clone)]
pub struct NewConfig {
    pub project_name: String,
    pub workflow_type: String,
    pub workflow_name: String,
    pub config: Value,
    pub sealed_secrets: BTreeMap<String, String>,
    pub comment: Option<String>,
}

/// A change to a config: a `config` that differs from the latest inserts version N+1.
#[derive(Debug, Clone, Default)]
pub struct ConfigChange {
    pub config: Option<Value>,
    pub workflow_name: Option<String>,
    pub comment: Option<String>,
    pub expected_version: Option<i32>,
}

/// What [`crate::Store::change_config`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeOutcome {
    NewVersion,
    UpdatedInPlace,
}

/// An event-log entry to write in the same transaction as the change it describes.
/// The store fills in `config_id`, `version_number` and `run_id` where the change decides them.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub project_name: String,
    pub actor: String,
    pub action: String,
    pub config_id: Option<i64>,
    pub version_number: Option<i32>,
    pub run_id: Option<String>,
    pub detail: Value,
}

impl NewEvent {
    pub fn new(project_name: &str, actor: &str, action: &str, detail: Value) -> Self {
        Self {
            project_name: project_name.to_owned(),
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
    pub config_id: Option<i64>,
    pub version_number: Option<i32>,
    pub run_id: Option<String>,
    pub detail: Json<Value>,
}

/// The runtime config (schedule) of a config id, as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RuntimeRecord {
    pub config_id: i64,
    pub run_interval_s: Option<i64>,
    pub cron: Option<String>,
    pub timezone: Option<String>,
    pub disabled: bool,
    pub config: Json<Value>,
    pub next_run_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct RunRow {
    pub seq: i64,
    pub run_id: String,
    pub name: String,
    pub project_name: String,
    pub config_id: i64,
    pub version_number: i32,
    pub state: Json<Value>,
    pub output: String,
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
                output: row.output,
                created_at: row.created_at,
                updated_at: row.updated_at,
            },
        }
    }
}

/// A run to register.
#[derive(Debug, Clone)]
pub struct NewRun {
    pub run_id: String,
    pub name: String,
    pub project_name: String,
    pub config_id: i64,
    pub version_number: i32,
}

/// What a run PATCH changes; all parts are applied in one statement.
#[derive(Debug, Clone, Default)]
pub struct RunChange {
    pub state: serde_json::Map<String, Value>,
    pub append_output: Option<String>,
    pub replace_output: Option<String>,
}

/// Whether registering a run inserted it or found the same registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegisterOutcome {
    Created,
    AlreadyRegistered,
}

/// Run metadata to store, with its derived fields computed by the caller.
#[derive(Debug, Clone)]
pub struct NewRunMetadata {
    pub phase: String,
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
    pub run_id: String,
    pub phase: String,
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
    pub config_id: i64,
    pub version_number: i32,
    pub workflow_type: String,
    pub workflow_name: String,
    pub disabled: bool,
    pub next_run_at: Option<DateTime<Utc>>,
    pub last_run_id: Option<String>,
    pub last_phase: Option<String>,
    pub last_started_at: Option<DateTime<Utc>>,
    pub last_finished_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
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
}

/// What never changes about a registered run: which config version it instantiates.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RunScope {
    pub config_id: i64,
    pub version_number: i32,
    pub workflow_type: String,
}
