//! Where `serve` and `scheduler` find workflow packages beyond the built-in ones, and their
//! reload on SIGHUP.

use clap::Args;
use polyphemus_core::{Principal, Registry, Services};
use std::path::PathBuf;

#[derive(Debug, Clone, Default, Args)]
pub struct PackageArgs {
    /// A directory of workflow packages (each subdirectory holding a manifest.yaml); repeatable.
    /// A package named like a built-in one replaces it.
    #[arg(
        long = "workflows-dir",
        env = "POLYPHEMUS_WORKFLOWS_DIR",
        value_delimiter = ':'
    )]
    pub workflows_dirs: Vec<PathBuf>,
}

impl PackageArgs {
    /// The built-in packages and those of the directories; refused whole, naming every
    /// problem, if any package is invalid (the server never runs with half a registry).
    pub fn registry(&self) -> anyhow::Result<Registry> {
        let jobs = polyphemus_jobs::job_specs();
        let registry = Registry::load(&self.workflows_dirs, &jobs).map_err(|problems| {
            anyhow::anyhow!(
                "the workflow packages are not valid ({} problems):\n{problems}",
                problems.0.len()
            )
        })?;
        tracing::info!(workflow_types = ?registry.names(), "workflow packages loaded");
        Ok(registry)
    }
}

/// Re-reads the package directories on every SIGHUP, as `POST /workflows/reload` does; the
/// outcome (or why the loaded packages stay) goes to the log.
pub fn reload_on_hangup(services: Services) {
    #[cfg(unix)]
    tokio::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let mut hangups = match signal(SignalKind::hangup()) {
            Ok(hangups) => hangups,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGHUP; reload with POST /api/v1/workflows/reload");
                return;
            }
        };
        while hangups.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading the workflow packages");
            match services.reload_workflows(&Principal::system()).await {
                Ok(reloaded) => tracing::info!(?reloaded, "workflow packages reloaded on SIGHUP"),
                Err(error) => tracing::warn!(%error, "workflow packages not reloaded on SIGHUP"),
            }
        }
    });
    #[cfg(not(unix))]
    drop(services);
}
