//! Whether a run waits for a resume, read from its Argo-shaped nodes: a `Suspend` node still
//! Running (Argo's `IsActiveSuspendNode`).

use crate::{NodeReport, RunPhase, RunStatusReport};

/// How a suspend node waiting for a resume is shown.
pub const WAITING_FOR_RESUME: &str = "suspended, waiting for resume";

impl NodeReport {
    /// A `suspend` step that waits for a resume (or for its duration to pass).
    pub fn waits_for_resume(&self) -> bool {
        self.node_type == "Suspend" && self.phase == RunPhase::Running
    }
}

impl RunStatusReport {
    /// Whether one of the run's suspend steps waits for a resume.
    pub fn is_suspended(&self) -> bool {
        !self.phase.is_final() && self.nodes.values().any(NodeReport::waits_for_resume)
    }
}
