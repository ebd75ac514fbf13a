//! A run's status while it goes: the orchestrator's Argo-shaped status is written as run
//! metadata each time it changes, at most every [`LIVE_STATUS_EVERY`], until the run ends.
//! Only orchestrators whose status is cheap to read ([`Orchestrator::reports_live_status`]).

use super::sync::report_from_workflow;
use super::Services;
use crate::orchestrators::Orchestrator;
use crate::{CoreError, Principal};
use polyphemus_model::{ProjectName, RunId, RunStatusReport};
use std::time::Duration;

/// How often a running run's status is read; a write happens only when it changed.
pub(crate) const LIVE_STATUS_EVERY: Duration = Duration::from_millis(500);

impl Services {
    /// Writes the run's status whenever it changed until `finished` resolves. Final phases are
    /// left to the final sync: it records the output with them and ends the run (revoking the
    /// task token an exit handler still needs).
    pub(crate) async fn watch_live_status<F: std::future::Future>(
        &self,
        orchestrator: &dyn Orchestrator,
        project: &ProjectName,
        run: (&RunId, &str, &str),
        finished: F,
    ) -> F::Output {
        let mut finished = std::pin::pin!(finished);
        if !orchestrator.reports_live_status() {
            return finished.await;
        }
        let mut last: Option<RunStatusReport> = None;
        let mut ticks = tokio::time::interval(LIVE_STATUS_EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                output = &mut finished => return output,
                _ = ticks.tick() => {
                    match self.write_live_status(orchestrator, project, run, last.as_ref()).await {
                        Ok(Some(written)) => last = Some(written),
                        Ok(None) => {}
                        // A status that cannot be read now may be read at the next tick.
                        Err(error) => tracing::debug!(run_id = %run.0, %error, "live status"),
                    }
                }
            }
        }
    }

    /// One look at the run: the report written, when it differed from `last` and is not final.
    async fn write_live_status(
        &self,
        orchestrator: &dyn Orchestrator,
        project: &ProjectName,
        (run_id, name, namespace): (&RunId, &str, &str),
        last: Option<&RunStatusReport>,
    ) -> Result<Option<RunStatusReport>, CoreError> {
        let workflow = orchestrator
            .workflow(namespace, name)
            .await
            .map_err(|e| e.into_core(orchestrator.kind(), crate::orchestrators::Asked::Read))?;
        let report = report_from_workflow(&workflow)?;
        if report.phase.is_final() || last == Some(&report) {
            return Ok(None);
        }
        let system = Principal::system().access(project);
        // The store refuses a running status once the run has a final phase (in its UPDATE).
        self.store_run_metadata(&system, run_id, &report, None)
            .await?;
        Ok(Some(report))
    }
}
