//! Project status page rows and event log entries on the wire.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::{ConfigId, RunId, RunPhase, SchedulePause, VersionNumber, WorkflowType};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PipelineState {
    Pending,
    Running,
    Succeeded,
    Failed,
    Error,
    Disabled,
    /// The schedule paused itself after failed runs.
    Paused,
}

impl PipelineState {
    /// Derives a pipeline's state from its runtime flag and its last run's phase.
    /// A run with no metadata yet has been registered and is taken as running.
    pub fn derive(disabled: bool, paused: bool, last_run: Option<Option<RunPhase>>) -> Self {
        if disabled {
            return Self::Disabled;
        }
        if paused {
            return Self::Paused;
        }
        match last_run {
            None => Self::Pending,
            Some(None) => Self::Running,
            Some(Some(phase)) => match phase {
                RunPhase::Succeeded => Self::Succeeded,
                RunPhase::Failed => Self::Failed,
                RunPhase::Error => Self::Error,
                _ => Self::Running,
            },
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Error => "error",
            Self::Disabled => "disabled",
            Self::Paused => "paused",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LastRun {
    pub run_id: RunId,
    /// The orchestrator's phase; absent until run metadata is written.
    pub phase: Option<RunPhase>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PipelineStatus {
    pub config_id: ConfigId,
    pub version_number: VersionNumber,
    pub workflow_type: WorkflowType,
    pub workflow_name: String,
    pub pipeline_state: PipelineState,
    pub last_run: Option<LastRun>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub next_run_at: Option<DateTime<Utc>>,
    /// Set while the schedule is paused after failures.
    pub paused: Option<SchedulePause>,
    /// When the config was archived (only listed with `?archived=true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_at: Option<DateTime<Utc>>,
}

/// One entry of the event log: who did what. Never holds a secret value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Event {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub config_id: Option<ConfigId>,
    pub version_number: Option<VersionNumber>,
    pub run_id: Option<RunId>,
    pub detail: Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipeline_state_follows_last_run() {
        assert_eq!(
            PipelineState::derive(true, true, None),
            PipelineState::Disabled
        );
        assert_eq!(
            PipelineState::derive(false, false, None),
            PipelineState::Pending
        );
        assert_eq!(
            PipelineState::derive(false, true, Some(Some(RunPhase::Failed))),
            PipelineState::Paused
        );
        assert_eq!(
            PipelineState::derive(false, false, Some(None)),
            PipelineState::Running
        );
        assert_eq!(
            PipelineState::derive(false, false, Some(Some(RunPhase::Failed))),
            PipelineState::Failed
        );
        assert_eq!(
            PipelineState::derive(false, false, Some(Some(RunPhase::Running))),
            PipelineState::Running
        );
    }
}
