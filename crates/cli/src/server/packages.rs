//! Where `serve` and `scheduler` find workflow packages beyond the built-in ones.

use clap::Args;
use polyphemus_core::Registry;
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
