//! `polyphemus prune` (once, against the store and data dir) and serve's `--prune-interval-s`
//! (the same in the background): runs, outputs and local run directories go as the projects'
//! retention policies say.

use crate::client_commands::output::{emit, hint, new_table, print_json, print_table};
use crate::settings::GlobalArgs;
use clap::Args;
use comfy_table::Cell;
use polyphemus_core::retention::Pruner;
use polyphemus_core::run_dirs::RunDirs;
use polyphemus_model::PruneReport;

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Say what would go and how much space it frees; change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// How often `serve` prunes in the background.
#[derive(Debug, Args)]
pub struct PruneIntervalArgs {
    /// Seconds between two prunes under the projects' retention policies, the first at start
    /// (0: never; run `polyphemus prune` instead).
    #[arg(long, env = "POLYPHEMUS_PRUNE_INTERVAL_S", default_value_t = 3600)]
    pub prune_interval_s: u64,
}

/// The local engine's run directories under the data dir, when there are any, with the
/// artifact repository of `--artifact-repository` `file` (pruning a run deletes its
/// `OnWorkflowDeletion` artifacts; an unreadable file only skips that, with a warning).
pub fn run_dirs(global: &GlobalArgs, file: Option<&std::path::Path>) -> Option<RunDirs> {
    let dir = global.data_dir.join("runs");
    let dir = dir.canonicalize().unwrap_or(dir);
    let runs = dir.is_dir().then(|| RunDirs::new(dir))?;
    match super::sandbox_args::artifact_repository(global, file) {
        Ok(repository) => Some(runs.with_artifact_repository(repository)),
        Err(error) => {
            tracing::warn!(
                error = format!("{error:#}"),
                "artifacts of pruned runs are kept"
            );
            Some(runs)
        }
    }
}

pub async fn prune(global: &GlobalArgs, args: PruneArgs) -> anyhow::Result<()> {
    global.require_data_dir()?;
    // Only the project --project names, if any; every project with a policy otherwise.
    let project = global
        .project
        .is_some()
        .then(|| global.project())
        .transpose()?;
    let store = super::open_store(global).await?;
    let file = std::env::var_os(super::sandbox_args::ARTIFACT_REPOSITORY_ENV);
    let pruner = Pruner::new(
        store,
        run_dirs(global, file.as_deref().map(std::path::Path::new)),
    );
    let reports = pruner
        .prune(project.as_ref(), chrono::Utc::now(), args.dry_run)
        .await?;
    if global.output == crate::settings::OutputFormat::Json {
        return print_json(&reports);
    }
    if reports.is_empty() {
        return emit("no project has a retention policy that prunes anything");
    }
    if args.dry_run {
        hint("dry run: nothing was changed; this is what a prune would remove");
    }
    print_table(&table(&reports, args.dry_run))
}

fn table(reports: &[PruneReport], dry_run: bool) -> comfy_table::Table {
    let verb = if dry_run { "WOULD GO" } else { "GONE" };
    let mut table = new_table([
        "PROJECT".to_owned(),
        format!("RUNS {verb}"),
        format!("OUTPUTS {verb}"),
        "OUTPUT FREED".to_owned(),
        format!("RUN DIRS {verb}"),
        "RUN DIRS FREED".to_owned(),
    ]);
    for report in reports {
        table.add_row([
            Cell::new(&report.project_name),
            Cell::new(report.deleted_runs.len()),
            Cell::new(report.emptied_outputs.len()),
            Cell::new(format_bytes(report.output_bytes)),
            Cell::new(report.run_dirs),
            Cell::new(format_bytes(report.run_dir_bytes)),
        ]);
    }
    table
}

/// `512 B`, `1.5 KiB`, `20.0 MiB`.
fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::format_bytes;

    #[test]
    fn bytes_read_in_binary_units() {
        assert_eq!(format_bytes(512), "512 B");
        assert_eq!(format_bytes(1536), "1.5 KiB");
        assert_eq!(format_bytes(20 * 1024 * 1024), "20.0 MiB");
    }
}
