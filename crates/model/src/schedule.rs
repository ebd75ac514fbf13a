//! How a schedule behaves when runs overlap or keep failing, as Argo's CronWorkflow names it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{InvalidValue, RunId};

/// What a due time does while a run of the config is still active.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub enum ConcurrencyPolicy {
    /// Skip the due time (recorded as `run.skipped`, naming the active run).
    #[default]
    Forbid,
    /// Launch anyway: runs may overlap.
    Allow,
    /// Stop the active run, then launch.
    Replace,
}

impl ConcurrencyPolicy {
    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        match text {
            "Forbid" => Ok(Self::Forbid),
            "Allow" => Ok(Self::Allow),
            "Replace" => Ok(Self::Replace),
            _ => Err(InvalidValue::new(
                "concurrency_policy",
                "must be one of Forbid, Allow, Replace",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Forbid => "Forbid",
            Self::Allow => "Allow",
            Self::Replace => "Replace",
        }
    }
}

impl std::str::FromStr for ConcurrencyPolicy {
    type Err = InvalidValue;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

crate::stored_as_text!(ConcurrencyPolicy);

/// Why a schedule stopped launching until someone resumes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SchedulePause {
    pub at: DateTime<Utc>,
    pub reason: String,
    /// The failed runs that paused it, newest first.
    pub run_ids: Vec<RunId>,
}

/// Consecutive failed runs after which a schedule pauses itself, unless set.
pub const DEFAULT_PAUSE_AFTER_FAILURES: i32 = 3;
