//! Configs, their versions, secrets, runtime configs and workflow manifests on the wire.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use utoipa::ToSchema;

use crate::{
    ConcurrencyPolicy, ConfigId, CronExpr, ProjectName, SchedulePause, SecretName, VersionNumber,
    WorkflowType,
};

/// One version of a config. Secrets are always redacted to `***`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Config {
    /// Row id of this version.
    pub id: i64,
    /// Names the config across all its versions.
    pub config_id: ConfigId,
    pub version_number: VersionNumber,
    pub project_name: ProjectName,
    /// The manifest's name.
    pub workflow_type: WorkflowType,
    /// The user's label.
    pub workflow_name: String,
    pub config: Value,
    /// Secret names mapped to `***`.
    pub secrets: BTreeMap<SecretName, String>,
    pub comment: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The `digest` of the workflow package this version was last validated against (null
    /// for versions stored before packages had digests).
    #[serde(default)]
    pub package_digest: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateConfig {
    pub workflow_type: WorkflowType,
    /// Not blank (checked by core's config rules, which these limits mirror).
    #[schema(min_length = 1, max_length = 200)]
    pub workflow_name: String,
    pub config: Value,
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub comment: Option<String>,
}

/// A changed `config` inserts version N+1; otherwise the latest row changes in place.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 200)]
    pub workflow_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 2000)]
    pub comment: Option<String>,
    /// Optimistic concurrency: the latest version the caller edited; 409 when it is stale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_version: Option<VersionNumber>,
}

/// `{name: value | null}`: a value sets the secret, null removes it.
pub type SecretsPatch = BTreeMap<String, Option<String>>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ConfigVersionSummary {
    pub version_number: VersionNumber,
    pub id: i64,
    pub comment: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// The schedule and runtime params of a config (one per `config_id`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RuntimeConfig {
    pub config_id: ConfigId,
    pub run_interval_s: Option<i64>,
    pub cron: Option<CronExpr>,
    /// IANA time zone the cron expression is read in; UTC when absent.
    pub timezone: Option<String>,
    pub disabled: bool,
    pub config: Value,
    pub next_run_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    /// What a due time does while a run of the config is active (default `Forbid`).
    pub concurrency_policy: ConcurrencyPolicy,
    /// A due time missed by more than this many seconds is skipped, not run late.
    pub starting_deadline_s: Option<i64>,
    /// Consecutive failed runs that pause the schedule (0: never).
    pub pause_after_failures: i32,
    /// Set while the schedule is paused after failures (`runtime resume` clears it).
    pub paused: Option<SchedulePause>,
    /// A run still going after this many seconds is overdue (an alert, once).
    pub expected_duration_s: Option<i64>,
}

/// Absent fields keep their stored value; `null` clears `run_interval_s` or `cron`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutRuntimeConfig {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option"
    )]
    #[schema(value_type = Option<i64>)]
    pub run_interval_s: Option<Option<i64>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option"
    )]
    #[schema(value_type = Option<String>)]
    pub cron: Option<Option<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option"
    )]
    #[schema(value_type = Option<String>)]
    pub timezone: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency_policy: Option<ConcurrencyPolicy>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option"
    )]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 31_622_400)]
    pub starting_deadline_s: Option<Option<i64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 1000)]
    pub pause_after_failures: Option<i32>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option"
    )]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 31_622_400)]
    pub expected_duration_s: Option<Option<i64>>,
}

/// Tells an absent field (`None`) from an explicit `null` (`Some(None)`).
pub(crate) mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<T: Serialize, S: Serializer>(
        value: &Option<Option<T>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(inner) => inner.serialize(serializer),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(deserializer).map(Some)
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LaunchRequest {
    #[serde(default)]
    pub version_number: Option<VersionNumber>,
    /// Launch even while a run of the config is active (otherwise 409 naming it).
    #[serde(default)]
    pub force: bool,
}

/// A workflow type: a workflow package's manifest, as the server loaded it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WorkflowManifest {
    pub name: WorkflowType,
    pub description: String,
    pub config_schema: Value,
    pub runtime_params_schema: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_schema: Option<Value>,
    pub secrets: Vec<SecretSpec>,
    /// The package's Argo workflow file, relative to its directory.
    pub workflow_file: String,
    pub example_config: Value,
    /// `built-in`, or the directory the package was loaded from.
    pub source: String,
    /// `sha256:` of the package's files: changes whenever the manifest or workflow does.
    pub digest: String,
}

impl WorkflowManifest {
    pub fn secret_names(&self) -> impl Iterator<Item = &SecretName> {
        self.secrets.iter().map(|secret| &secret.name)
    }
}

/// An ETL job `run_job` can run, in any workflow: the config keys it reads (a JSON Schema
/// fragment whose `required` a package's config schema must provide) and the secrets it uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct JobSpec {
    pub name: String,
    pub description: String,
    pub config_schema: Value,
    pub secrets: Vec<SecretName>,
}

/// A secret a workflow type takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretSpec {
    pub name: SecretName,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Entered in a text area (keys, certificates) rather than a one-line field.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub multiline: bool,
}

/// A workflow document to run for a stored config version (`polyphemus submit`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitWorkflow {
    /// The Argo Workflow YAML.
    pub workflow_yaml: String,
    pub version_number: VersionNumber,
    /// Further `-p name=value` arguments; `config_id`, `version_number` and `project` are set
    /// by the server.
    #[serde(default)]
    pub parameters: std::collections::BTreeMap<String, String>,
}
