//! Acting on a local run by its workflow name: resume, suspend, stop and delete, as the
//! orchestrator interface asks. A run this server no longer holds (it ended before a restart)
//! is answered from its `status.json`.

use super::LocalOrchestrator;
use crate::orchestrators::OrchestratorError;
use polyphemus_engine::EngineError;
use polyphemus_model::{RunId, StopMode};

impl LocalOrchestrator {
    pub(super) async fn resume_run(&self, name: &str) -> Result<(), OrchestratorError> {
        let handle = match self.handle(name) {
            Ok(handle) => handle,
            // Ended and forgotten: nothing of it waits any more.
            Err(error) => {
                return Err(match self.stored_status(name) {
                    Ok(_) => OrchestratorError::NotSuspended(name.to_owned()),
                    Err(_) => error,
                })
            }
        };
        match handle.resume() {
            Ok(nodes) => {
                tracing::info!(workflow = %name, nodes, "resumed a local run");
                Ok(())
            }
            Err(EngineError::NotSuspended) => Err(OrchestratorError::NotSuspended(name.to_owned())),
            // A supplied output without a default: the run cannot go on without one.
            Err(error) => Err(OrchestratorError::Invalid(error.to_string())),
        }
    }

    pub(super) async fn suspend_run(&self, name: &str) -> Result<(), OrchestratorError> {
        let handle = match self.handle(name) {
            Ok(handle) => handle,
            // Ended and forgotten: there is nothing left to hold.
            Err(error) => {
                return Err(match self.stored_status(name) {
                    Ok(_) => OrchestratorError::Invalid("it has ended".into()),
                    Err(_) => error,
                })
            }
        };
        handle
            .suspend()
            .map_err(|error| OrchestratorError::Invalid(error.to_string()))?;
        tracing::info!(workflow = %name, "suspended a local run");
        Ok(())
    }

    pub(super) async fn stop_run(
        &self,
        name: &str,
        mode: StopMode,
    ) -> Result<(), OrchestratorError> {
        let handle = match self.handle(name) {
            Ok(handle) => handle,
            // Stopping a run that already ended changes nothing.
            Err(error) => return self.stored_status(name).map(|_| ()).map_err(|_| error),
        };
        match mode {
            StopMode::Stop => handle.stop(),
            StopMode::Terminate => handle.terminate(),
        }
        Ok(())
    }

    /// Forgets an ended run and removes its run directory (the one whose `status.json` names
    /// `uid`); a running one is refused.
    pub(super) async fn delete_run(
        &self,
        name: &str,
        uid: &RunId,
    ) -> Result<(), OrchestratorError> {
        if self.handle(name).is_ok_and(|handle| !handle.is_finished()) {
            return Err(OrchestratorError::Invalid("it is still running".into()));
        }
        if let Ok(mut runs) = self.runs.lock() {
            runs.remove(name);
        }
        let dirs = crate::run_dirs::RunDirs::new(self.options.work_dir.clone());
        let Some(dir) = dirs.find(name, uid) else {
            return Ok(());
        };
        tokio::task::spawn_blocking(move || crate::run_dirs::remove(&dir))
            .await
            .map_err(|error| OrchestratorError::Unavailable(error.to_string()))?
            .map_err(|error| {
                OrchestratorError::Unavailable(format!("removing the run directory: {error}"))
            })?;
        tracing::info!(workflow = %name, "deleted a local run's directory");
        Ok(())
    }
}
