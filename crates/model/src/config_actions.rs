//! Acting on what failed: resubmitting a run, restoring a config version, archiving a config.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ConfigId;

/// `POST …/runs/{run}/resubmit`: a new run of the same config version and run params.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResubmitRequest {
    /// Resubmit even while a run of the config is active (otherwise 409 naming it).
    #[serde(default)]
    pub force: bool,
}

/// Whether a config is archived: hidden from the status list, off the schedule, not launched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ConfigArchive {
    pub config_id: ConfigId,
    pub archived: bool,
    /// When it was archived; absent while it is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_at: Option<DateTime<Utc>>,
}

/// The comment of a version made by restoring version `k`.
pub fn restored_comment(version: crate::VersionNumber) -> String {
    format!("restored from version {version}")
}
