//! After a restart, no run stays `Running` forever: the local engine's runs died with the
//! server, so each unfinished run gets its final status from the engine's `status.json` when
//! it finished just before, and `Error` with a message otherwise. Argo's runs live on in the
//! cluster: they are re-read from Argo and watched again until they end. Only runs this
//! server's orchestrator launched are settled (a run an external tool registered through
//! `POST /runs` is that tool's to report), after killing what is left of their processes.

use super::sync::report_from_workflow;
use super::Services;
use crate::{Access, CoreError, Principal};
use chrono::Utc;
use polyphemus_model::{RunId, RunPhase, RunStatusReport};
use polyphemus_store::NewEvent;
use serde_json::json;

const GONE: &str = "the workflow is no longer in Argo (deleted or garbage-collected) and \
                    Polyphemus had not recorded its end";

const INTERRUPTED: &str = "interrupted: the Polyphemus server stopped while this run was in \
                           progress, and the local engine's processes stopped with it";

/// What recovery at start did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Unfinished runs of this server given their final status.
    pub settled: usize,
    /// Of those, the ones marked `Error` (they had not finished).
    pub interrupted: usize,
    /// Leftover step processes killed before settling.
    pub killed_processes: usize,
    /// Unfinished runs left alone: not launched by this server's orchestrator.
    pub not_ours: usize,
}

impl std::fmt::Display for Recovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "recovery: settled {} unfinished run(s) ({} interrupted, marked Error), killed {} \
             leftover process(es), left {} run(s) not launched by this server",
            self.settled, self.interrupted, self.killed_processes, self.not_ours
        )
    }
}

impl Services {
    /// Settles every unfinished run; returns how many were marked `Error`. Call it at start,
    /// before launching anything.
    pub async fn recover_interrupted_runs(&self) -> Result<usize, CoreError> {
        Ok(self.recover_runs().await?.interrupted)
    }

    /// [`Self::recover_interrupted_runs`], saying everything it did.
    pub async fn recover_runs(&self) -> Result<Recovery, CoreError> {
        let mut done = Recovery::default();
        let Some(orchestrator) = self.orchestrator.clone() else {
            return Ok(done);
        };
        if orchestrator.outlives_server() {
            tokio::spawn(self.clone().watch_surviving_runs());
            return Ok(done);
        }
        let system = Principal::system();
        for (project, run_id, name) in self.store.unfinished_runs().await? {
            if !orchestrator.launched(&name) {
                done.not_ours += 1;
                continue;
            }
            done.killed_processes += orchestrator.end_leftovers(&name);
            done.settled += 1;
            match self
                .settle_run(&*orchestrator, &system.access(&project), &run_id, &name)
                .await
            {
                Ok(true) => done.interrupted += 1,
                Ok(false) => {}
                // One run that cannot be settled must not keep the server from starting.
                Err(error) => {
                    tracing::error!(%run_id, %error, "could not settle an unfinished run")
                }
            }
        }
        Ok(done)
    }

    /// Re-reads each unfinished run from the orchestrator and records it when it ends, in the
    /// background (an Argo Server that is down must not hold up the server's start). A run
    /// whose workflow Argo no longer has (deleted, garbage-collected) is marked `Error`.
    async fn watch_surviving_runs(self) {
        let system = Principal::system();
        let Some(orchestrator) = self.orchestrator.clone() else {
            return;
        };
        let runs = match self.store.unfinished_runs().await {
            Ok(runs) => runs,
            Err(error) => {
                tracing::error!(%error, "listing unfinished runs to watch again");
                return;
            }
        };
        for (project, run_id, name) in runs {
            let access = system.access(&project);
            match self
                .sync_run_from_orchestrator(&access, &run_id, Some(&name), None)
                .await
            {
                Err(CoreError::NotFound(_)) => {
                    let mut report = self.interrupted_report(&access, &run_id).await;
                    report.message = Some(GONE.into());
                    if let Err(error) = self.put_run_metadata(&access, &run_id, report).await {
                        tracing::error!(%run_id, %error, "marking a vanished run Error");
                    }
                    tracing::warn!(%run_id, workflow = %name, "the workflow is gone from Argo");
                    continue;
                }
                Err(error) => {
                    tracing::warn!(%run_id, %error, "could not re-read an unfinished run")
                }
                Ok(_) => {}
            }
            tokio::spawn(self.clone().record_when_finished(
                project,
                run_id,
                name,
                orchestrator.namespace().to_owned(),
                None,
            ));
        }
    }

    /// Gives one unfinished run its final status; `true` when it had to be marked `Error`.
    async fn settle_run(
        &self,
        orchestrator: &dyn crate::orchestrators::Orchestrator,
        access: &Access,
        run_id: &RunId,
        name: &str,
    ) -> Result<bool, CoreError> {
        let finished = orchestrator
            .workflow(orchestrator.namespace(), name)
            .await
            .ok()
            .and_then(|workflow| report_from_workflow(&workflow).ok())
            .filter(|report| report.phase.is_final());
        let interrupted = finished.is_none();
        let report = match finished {
            Some(report) => report,
            None => self.interrupted_report(access, run_id).await,
        };
        let phase = report.phase;
        self.put_run_metadata(access, run_id, report).await?;
        let mut event = NewEvent::new(
            access.project(),
            "system",
            "run.recovered",
            json!({ "phase": phase, "workflow_name": name }),
        );
        event.run_id = Some(run_id.clone());
        self.store.record_event(&event).await?;
        tracing::warn!(%run_id, %phase, "settled a run left unfinished by a restart");
        Ok(interrupted)
    }

    /// `Error` now, keeping the nodes and start time already reported.
    async fn interrupted_report(&self, access: &Access, run_id: &RunId) -> RunStatusReport {
        let known = self.get_run_metadata(access, run_id).await.ok();
        let started_at = match &known {
            Some(metadata) => metadata.report.started_at,
            None => self
                .store
                .get_run(access.project(), run_id)
                .await
                .ok()
                .map(|record| record.run.created_at),
        };
        let now = Utc::now();
        let mut nodes = known
            .map(|metadata| metadata.report.nodes)
            .unwrap_or_default();
        for node in nodes.values_mut() {
            if !node.phase.is_final() {
                node.phase = RunPhase::Error;
                node.finished_at = Some(now);
                node.message = Some("interrupted by a server restart".into());
            }
        }
        RunStatusReport {
            phase: RunPhase::Error,
            started_at,
            finished_at: Some(now),
            message: Some(INTERRUPTED.into()),
            nodes,
        }
    }
}
