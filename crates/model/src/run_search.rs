//! Finding runs across a project: the list filter and the summary row it answers with.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{ConfigId, InvalidValue, RunId, RunPhase, VersionNumber, WorkflowType};

/// A uid prefix must be this long to name a run (shorter ones match too many).
pub const MIN_RUN_ID_PREFIX: usize = 8;

/// One run in a project's list: who it runs, and what the orchestrator last reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RunSummary {
    pub run_id: RunId,
    pub name: String,
    pub config_id: ConfigId,
    pub version_number: VersionNumber,
    pub workflow_type: WorkflowType,
    /// `Pending` until the orchestrator reports.
    pub phase: RunPhase,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub duration_s: Option<f64>,
    pub created_at: DateTime<Utc>,
}

/// Which runs of a project to list; every part is optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunFilter {
    pub phase: Option<RunPhase>,
    pub workflow_type: Option<WorkflowType>,
    pub config_id: Option<ConfigId>,
    /// Registered at or after.
    pub since: Option<DateTime<Utc>>,
    /// Registered before.
    pub until: Option<DateTime<Utc>>,
}

/// A phase a workflow can be in, any case (`failed` is `Failed`).
pub fn parse_workflow_phase(text: &str) -> Result<RunPhase, InvalidValue> {
    RunPhase::WORKFLOW_PHASES
        .into_iter()
        .find(|phase| phase.as_str().eq_ignore_ascii_case(text.trim()))
        .ok_or_else(|| {
            InvalidValue::new(
                "phase",
                "must be one of Pending, Running, Succeeded, Failed, Error",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_phases_parse_in_any_case() {
        assert_eq!(parse_workflow_phase("failed"), Ok(RunPhase::Failed));
        assert_eq!(parse_workflow_phase("Running"), Ok(RunPhase::Running));
        assert!(parse_workflow_phase("Skipped").is_err());
        assert!(parse_workflow_phase("done").is_err());
    }
}
