//! Pruning under each project's retention policy: what `serve` does in the background every
//! `--prune-interval-s` and `polyphemus prune` does once. The store decides what goes (and what
//! must stay, see `polyphemus_store::PrunePlan`) and removes it in one transaction; the run
//! directories of the runs pruned are removed after it commits.

use crate::run_dirs::{self, RunDirs};
use crate::CoreError;
use chrono::{DateTime, Utc};
use polyphemus_engine::ArtifactRepository;
use polyphemus_model::{ProjectName, PruneReport};
use polyphemus_store::{NewEvent, PrunePlan, Store};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// The actor of `retention.pruned` events.
pub const ACTOR: &str = "retention";

/// Runs pruned in one transaction unless set (each transaction writes its own
/// `retention.pruned` event).
pub const RUNS_PER_TRANSACTION: usize = 2000;

/// Prunes projects; cheap to clone.
#[derive(Debug, Clone)]
pub struct Pruner {
    store: Store,
    run_dirs: Option<RunDirs>,
    runs_per_transaction: usize,
}

/// The local run directories of a plan's runs that exist, by run seq, with their bytes.
type FoundDirs = BTreeMap<i64, (PathBuf, u64)>;

impl Pruner {
    /// `run_dirs`: where this server's local engine keeps runs (`None`: no local runs here).
    pub fn new(store: Store, run_dirs: Option<RunDirs>) -> Self {
        Self {
            store,
            run_dirs,
            runs_per_transaction: RUNS_PER_TRANSACTION,
        }
    }

    /// Prunes at most `runs` runs per transaction (default [`RUNS_PER_TRANSACTION`]).
    pub fn with_runs_per_transaction(mut self, runs: usize) -> Self {
        self.runs_per_transaction = runs.max(1);
        self
    }

    /// Prunes `project`, or every project whose policy prunes something, as of `now`. With
    /// `dry_run` nothing changes and the reports say what would go.
    pub async fn prune(
        &self,
        project: Option<&ProjectName>,
        now: DateTime<Utc>,
        dry_run: bool,
    ) -> Result<Vec<PruneReport>, CoreError> {
        let projects = match project {
            Some(project) if self.store.project_exists(project).await? => vec![project.clone()],
            Some(project) => return Err(CoreError::not_found(format!("project {project}"))),
            None => self.store.projects_with_retention().await?,
        };
        let mut reports = Vec::with_capacity(projects.len());
        for project in &projects {
            reports.push(self.prune_project(project, now, dry_run).await?);
        }
        Ok(reports)
    }

    /// Prunes one project as of `now` (or says what would go, with `dry_run`).
    pub async fn prune_project(
        &self,
        project: &ProjectName,
        now: DateTime<Utc>,
        dry_run: bool,
    ) -> Result<PruneReport, CoreError> {
        let plan = self.store.plan_prune(project, now).await?;
        let dirs = self.find_dirs(&plan).await?;
        if dry_run {
            return Ok(report(project, true, &plan, &dirs));
        }
        let mut done = PrunePlan::default();
        let mut removed = FoundDirs::new();
        // In parts, so that a first prune of a long history never holds the store's write
        // lock (SQLite) or many row locks for long.
        for part in plan.parts(self.runs_per_transaction) {
            let pruned = self
                .store
                .prune(project, now, &part, |pruned| {
                    event(project, &report(project, false, pruned, &dirs))
                })
                .await?;
            let repository = self
                .run_dirs
                .as_ref()
                .and_then(RunDirs::artifact_repository);
            removed.append(&mut remove_dirs(&pruned, &dirs, repository).await?);
            done.candidates.extend(pruned.candidates);
        }
        let pruned = report(project, false, &done, &removed);
        if !pruned.is_empty() {
            tracing::info!(
                %project,
                deleted_runs = pruned.deleted_runs.len(),
                emptied_outputs = pruned.emptied_outputs.len(),
                output_bytes = pruned.output_bytes,
                run_dir_bytes = pruned.run_dir_bytes,
                "pruned under the retention policy"
            );
        }
        Ok(pruned)
    }

    /// Prunes every project with a policy now, then every `every`, until `shutdown` resolves.
    pub async fn run(self, every: Duration, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tracing::info!(
            every_s = every.as_secs(),
            "pruning under retention policies"
        );
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                _ = interval.tick() => {
                    if let Err(error) = self.prune(None, Utc::now(), false).await {
                        tracing::warn!(%error, "pruning failed");
                    }
                }
            }
        }
    }

    /// The run directories of the plan's runs that this server's engine made, measured.
    async fn find_dirs(&self, plan: &PrunePlan) -> Result<FoundDirs, CoreError> {
        let Some(run_dirs) = self.run_dirs.clone() else {
            return Ok(FoundDirs::new());
        };
        let runs: Vec<_> = plan
            .candidates
            .iter()
            .map(|c| (c.seq, c.name.clone(), c.run_id.clone()))
            .collect();
        blocking(move || {
            runs.into_iter()
                .filter_map(|(seq, name, run_id)| {
                    let dir = run_dirs.find(&name, &run_id)?;
                    let bytes = run_dirs::measure(&dir);
                    Some((seq, (dir, bytes)))
                })
                .collect()
        })
        .await
    }
}

/// Removes the directories of the runs `done` pruned; those removed, by run seq.
/// First the artifacts the runs keep until their deletion (`artifactGC: OnWorkflowDeletion`).
async fn remove_dirs(
    done: &PrunePlan,
    dirs: &FoundDirs,
    artifacts: Option<&ArtifactRepository>,
) -> Result<FoundDirs, CoreError> {
    let ours: FoundDirs = done
        .candidates
        .iter()
        .filter_map(|c| Some((c.seq, dirs.get(&c.seq)?.clone())))
        .collect();
    for (dir, _) in ours.values().filter(|_| artifacts.is_some()) {
        let Some(repository) = artifacts else { break };
        if let Err(error) = polyphemus_engine::delete_run_artifacts(dir, repository, None).await {
            tracing::warn!(dir = %dir.display(), %error, "cannot delete a pruned run's artifacts");
        }
    }
    blocking(move || {
        ours.into_iter()
            .filter(|(_, (dir, _))| match run_dirs::remove(dir) {
                Ok(()) => true,
                Err(error) => {
                    tracing::warn!(dir = %dir.display(), %error, "cannot remove a pruned run's directory");
                    false
                }
            })
            .collect()
    })
    .await
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, CoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| CoreError::Internal(format!("run directory task failed: {error}")))
}

fn report(project: &ProjectName, dry_run: bool, plan: &PrunePlan, dirs: &FoundDirs) -> PruneReport {
    let in_plan: Vec<u64> = plan
        .candidates
        .iter()
        .filter_map(|c| dirs.get(&c.seq).map(|(_, bytes)| *bytes))
        .collect();
    PruneReport {
        project_name: project.clone(),
        dry_run,
        deleted_runs: plan.deleted().map(|c| c.run_id.clone()).collect(),
        emptied_outputs: plan.emptied().map(|c| c.run_id.clone()).collect(),
        output_bytes: plan
            .candidates
            .iter()
            .map(|c| u64::try_from(c.output_bytes).unwrap_or(0))
            .sum(),
        run_dirs: in_plan.len() as u64,
        run_dir_bytes: in_plan.iter().sum(),
    }
}

/// `retention.pruned`: counts only (run ids and values stay out of the event log).
fn event(project: &ProjectName, report: &PruneReport) -> NewEvent {
    NewEvent::new(
        project,
        ACTOR,
        "retention.pruned",
        json!({
            "deleted_runs": report.deleted_runs.len(),
            "emptied_outputs": report.emptied_outputs.len(),
            "output_bytes": report.output_bytes,
            "run_dirs": report.run_dirs,
            "run_dir_bytes": report.run_dir_bytes,
        }),
    )
}
