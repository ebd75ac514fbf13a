//! `artifactGC`: the output artifacts a run saved are deleted when it completes
//! (`OnWorkflowCompletion`) or when it is deleted (`OnWorkflowDeletion`, through
//! [`delete_run_artifacts`], which the server calls before removing a run's directory);
//! `Never` (Argo's default) keeps them. An artifact's own strategy wins over the workflow's.

use std::path::Path;

use super::{ArtifactRepository, RunArtifacts, Secrets};
use crate::error::EngineError;
use crate::model::{Artifact, GcStrategy, WorkflowSpec};
use crate::status::WorkflowStatus;

/// `spec.artifactGC.strategy`, `Never` when unset.
pub fn workflow_strategy(spec: &WorkflowSpec) -> GcStrategy {
    match spec.artifact_gc.as_ref().and_then(|g| g.strategy) {
        Some(GcStrategy::Unset) | None => GcStrategy::Never,
        Some(s) => s,
    }
}

fn effective(a: &Artifact, workflow: GcStrategy) -> GcStrategy {
    match a.artifact_gc.as_ref().and_then(|g| g.strategy) {
        Some(GcStrategy::Unset) | None => workflow,
        Some(s) => s,
    }
}

/// Deletes the saved output artifacts of `status` whose strategy is `when`, marking them
/// `deleted`; how many objects went. Failures are logged and leave the artifact recorded.
pub(crate) async fn collect(
    run: &RunArtifacts,
    status: &mut WorkflowStatus,
    when: GcStrategy,
) -> usize {
    let mut deleted = 0;
    for node in status.nodes.values_mut() {
        let Some(outputs) = node.outputs.as_mut() else {
            continue;
        };
        for a in outputs.artifacts.iter_mut() {
            if a.deleted || a.s3.is_none() || effective(a, run.workflow_gc) != when {
                continue;
            }
            let field = format!("outputs.artifacts.{}", a.name);
            match delete_one(run, &field, a).await {
                Ok(n) => {
                    deleted += n;
                    a.deleted = true;
                }
                Err(e) => tracing::warn!(artifact = %a.name, "artifactGC: {e}"),
            }
        }
    }
    deleted
}

async fn delete_one(run: &RunArtifacts, field: &str, a: &Artifact) -> Result<usize, EngineError> {
    let (store, key) = run.locate(field, a)?;
    store.delete_tree(&key).await
}

/// For the server's deletion of a run: deletes the `OnWorkflowDeletion` artifacts recorded in
/// the run's final `status.json` in `run_dir` (nothing if it has none); how many objects went.
pub async fn delete_run_artifacts(
    run_dir: &Path,
    repo: &ArtifactRepository,
    secrets: Option<Secrets>,
) -> Result<usize, EngineError> {
    let file = run_dir.join("status.json");
    let text = match tokio::fs::read_to_string(&file).await {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(EngineError::io(&file, e)),
    };
    let mut wf: crate::status::WorkflowObject = serde_json::from_str(&text)
        .map_err(|e| EngineError::Invalid(format!("{}: {e}", file.display())))?;
    let run = RunArtifacts::new(repo.clone(), secrets, &wf.spec);
    Ok(collect(&run, &mut wf.status, GcStrategy::OnWorkflowDeletion).await)
}

/// After a run ends: deletes its `OnWorkflowCompletion` artifacts and records them deleted.
pub(crate) async fn on_completion(run: &RunArtifacts, shared: &crate::state::Shared) {
    let mut status = shared.read(|s| s.status.clone());
    if collect(run, &mut status, GcStrategy::OnWorkflowCompletion).await == 0 {
        return;
    }
    shared.update(|s| {
        for (id, node) in s.status.nodes.iter_mut() {
            let done = status.nodes.get(id).and_then(|n| n.outputs.as_ref());
            if let (Some(outputs), Some(done)) = (node.outputs.as_mut(), done) {
                outputs.artifacts = done.artifacts.clone();
            }
        }
    });
}
