//! A run's status while it goes: the orchestrator's Argo-shaped status is written as run
//! metadata each time it changes, read every [`Orchestrator::live_status_every`], until the
//! run ends. The local engine's is read twice a second; Argo's at its poll interval.

use super::sync::report_from_workflow;
use super::Services;
use crate::orchestrators::{Orchestrator, OrchestratorError};
use crate::Principal;
use polyphemus_model::{ProjectName, RunId, RunStatusReport};

/// What one look at a running workflow found.
enum Look {
    /// Still going; the report written, when it differed from the last.
    Going(Option<RunStatusReport>),
    /// The orchestrator says it ended.
    Ended,
}

impl Services {
    /// Resolves when the run has ended, writing its status whenever it changed until then.
    /// Final phases are left to the final sync: it records the output with them and ends the
    /// run (revoking the task token an exit handler still needs).
    pub(crate) async fn watch_until_finished(
        &self,
        orchestrator: &dyn Orchestrator,
        project: &ProjectName,
        run: (&RunId, &str, &str),
    ) -> Result<(), OrchestratorError> {
        let (_, name, namespace) = run;
        let Some(every) = orchestrator.live_status_every() else {
            return orchestrator.wait_finished(namespace, name).await;
        };
        // A polling orchestrator's end is seen by the look below; asking it as well would
        // double its requests.
        let notified = orchestrator.notifies_finish();
        let finished = async {
            if notified {
                orchestrator.wait_finished(namespace, name).await
            } else {
                std::future::pending().await
            }
        };
        let mut finished = std::pin::pin!(finished);
        let mut last: Option<RunStatusReport> = None;
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                output = &mut finished => return output,
                _ = ticks.tick() => {
                    match self.look_at_run(orchestrator, project, run, last.as_ref()).await {
                        Ok(Look::Going(Some(written))) => last = Some(written),
                        Ok(Look::Going(None)) => {}
                        // A notifying orchestrator's end comes with its logs complete.
                        Ok(Look::Ended) if !notified => return Ok(()),
                        Ok(Look::Ended) => {}
                        Err(OrchestratorError::NotFound(name)) if !notified => {
                            return Err(OrchestratorError::NotFound(name))
                        }
                        // The run goes on in the cluster through an outage: look again.
                        Err(error) if !notified => {
                            tracing::warn!(workflow = %name, %error, "cannot see a workflow");
                        }
                        // Read again at the next tick.
                        Err(error) => tracing::debug!(run_id = %run.0, %error, "live status"),
                    }
                }
            }
        }
    }

    /// One look at the run.
    async fn look_at_run(
        &self,
        orchestrator: &dyn Orchestrator,
        project: &ProjectName,
        (run_id, name, namespace): (&RunId, &str, &str),
        last: Option<&RunStatusReport>,
    ) -> Result<Look, OrchestratorError> {
        let workflow = orchestrator.workflow(namespace, name).await?;
        let report = match report_from_workflow(&workflow) {
            Ok(report) => report,
            Err(error) => return Err(OrchestratorError::Unavailable(error.to_string())),
        };
        if report.phase.is_final() {
            return Ok(Look::Ended);
        }
        if last == Some(&report) {
            return Ok(Look::Going(None));
        }
        let system = Principal::system().access(project);
        // The store refuses a running status once the run has a final phase (in its UPDATE).
        match self
            .store_run_metadata(&system, run_id, &report, None)
            .await
        {
            Ok(_) => Ok(Look::Going(Some(report))),
            Err(error) => {
                tracing::debug!(%run_id, %error, "recording a live status");
                Ok(Look::Going(None))
            }
        }
    }
}
