//! The phases a run and its nodes go through, as Argo names them, and how a run is ended early.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use utoipa::ToSchema;

use crate::InvalidValue;

/// A workflow's or a node's phase. Workflows take the first five; nodes may also be
/// `Skipped` (a `when` that did not hold) or `Omitted` (a `depends` that did not hold).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
pub enum RunPhase {
    Pending,
    Running,
    Succeeded,
    Failed,
    Error,
    Skipped,
    Omitted,
}

impl RunPhase {
    /// The phases a workflow (a run) can report.
    pub const WORKFLOW_PHASES: [RunPhase; 5] = [
        RunPhase::Pending,
        RunPhase::Running,
        RunPhase::Succeeded,
        RunPhase::Failed,
        RunPhase::Error,
    ];

    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        Ok(match text {
            "Pending" => Self::Pending,
            "Running" => Self::Running,
            "Succeeded" => Self::Succeeded,
            "Failed" => Self::Failed,
            "Error" => Self::Error,
            "Skipped" => Self::Skipped,
            "Omitted" => Self::Omitted,
            _ => {
                return Err(InvalidValue::new(
                    "phase",
                    "must be one of Pending, Running, Succeeded, Failed, Error, Skipped, Omitted",
                ))
            }
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Running => "Running",
            Self::Succeeded => "Succeeded",
            Self::Failed => "Failed",
            Self::Error => "Error",
            Self::Skipped => "Skipped",
            Self::Omitted => "Omitted",
        }
    }

    /// Nothing more will happen: the run or node has ended one way or another.
    pub fn is_final(self) -> bool {
        !matches!(self, Self::Pending | Self::Running)
    }

    /// Ended badly: the phases that make a run fail and name a node in `failed_nodes`.
    pub fn is_failure(self) -> bool {
        matches!(self, Self::Failed | Self::Error)
    }

    pub fn is_workflow_phase(self) -> bool {
        Self::WORKFLOW_PHASES.contains(&self)
    }
}

impl FromStr for RunPhase {
    type Err = InvalidValue;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl fmt::Display for RunPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a run is ended early, as Argo offers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StopMode {
    /// `argo stop`: running steps end, exit handlers still run.
    Stop,
    /// `argo terminate`: everything ends at once, exit handlers included.
    Terminate,
}

impl StopMode {
    /// The verb, as in the route and the event (`stop`, `terminate`).
    pub fn verb(self) -> &'static str {
        match self {
            Self::Stop => "stop",
            Self::Terminate => "terminate",
        }
    }

    /// The past participle (`stopped`, `terminated`).
    pub fn done(self) -> &'static str {
        match self {
            Self::Stop => "stopped",
            Self::Terminate => "terminated",
        }
    }
}

crate::stored_as_text!(RunPhase);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_read_as_argo_names_them() {
        for phase in RunPhase::WORKFLOW_PHASES {
            assert_eq!(RunPhase::parse(phase.as_str()), Ok(phase));
        }
        assert!(RunPhase::parse("Exploded").is_err());
        assert!(RunPhase::Failed.is_final() && !RunPhase::Running.is_final());
        assert!(!RunPhase::Omitted.is_workflow_phase());
        let json = serde_json::to_string(&RunPhase::Succeeded).expect("json");
        assert_eq!(json, "\"Succeeded\"");
    }
}
