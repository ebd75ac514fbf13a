//! A pod's `initContainers` (run in order before the main container, each must succeed) and
//! `sidecars` (started before the main container, killed when it ends). All share the node's
//! work dir; each has its own `/tmp` (`tmp/<node id>.<name>`) and log files
//! (`logs/<node id>.<name>.log`). As Argo judges a pod: a failed init container fails the node
//! ("<name>: Error (exit code N)"); a sidecar that exits non-zero on its own fails it the same
//! way once the main container succeeded, while one killed at the end (137, 143) never does.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::task::JoinHandle;

use super::containers::{name_of, spec_for, PodDirs};
use super::process::{self, Finished};
use super::sandbox::Bind;
use super::RunCtx;
use crate::model::{Container, Template};
use crate::status::Phase;

/// The main container's work dir and volumes, which the pod's other containers share.
pub(super) struct MainPod<'a> {
    pub work: &'a std::path::Path,
    pub mounts: &'a [Bind],
}

/// The dirs of container `c` (`name`) of node `id`: the pod's work dir, its own `/tmp`, and
/// with `mirrorVolumeMounts: true` the main container's volumes.
fn dirs_of(ctx: &RunCtx, id: &str, (name, c): (&str, &Container), main: &MainPod<'_>) -> PodDirs {
    let mirror = c.extra.get("mirrorVolumeMounts").and_then(|v| v.as_bool()) == Some(true);
    PodDirs {
        work: main.work.to_path_buf(),
        tmp: ctx.run_dir.join("tmp").join(format!("{id}.{name}")),
        mounts: if mirror {
            main.mounts.to_vec()
        } else {
            Vec::new()
        },
    }
}

/// Argo's message for a container of a pod that ended badly.
fn container_failure(name: &str, done: &Finished) -> (Phase, String) {
    match &done.error {
        Some(e) => (Phase::Error, format!("{name}: {e}")),
        None => (
            Phase::Failed,
            format!("{name}: Error (exit code {})", done.exit_code),
        ),
    }
}

/// Runs the init containers of `t` in order; the phase and message of the first that fails.
pub(super) async fn run_init(
    ctx: &Arc<RunCtx>,
    id: &str,
    t: &Template,
    main: &MainPod<'_>,
) -> Result<(), (Phase, String)> {
    for (i, c) in t.init_containers.iter().enumerate() {
        let name = name_of(c, i);
        let spec = spec_for(
            ctx,
            id,
            &format!("{id}.{name}"),
            c,
            &dirs_of(ctx, id, (&name, c), main),
        )
        .map_err(|e| (Phase::Error, format!("{name}: {e}")))?;
        let done = process::run(spec, ctx.shared.clone()).await;
        if done.error.is_some() || done.exit_code != 0 {
            return Err(container_failure(&name, &done));
        }
    }
    Ok(())
}

/// The running sidecars of one pod; dropping them kills them.
pub(super) struct Sidecars {
    /// Name, pid file, process.
    running: Vec<(String, PathBuf, JoinHandle<Finished>)>,
}

impl Sidecars {
    /// Starts the sidecars of `t` (none: nothing runs).
    pub fn start(
        ctx: &Arc<RunCtx>,
        id: &str,
        t: &Template,
        main: &MainPod<'_>,
    ) -> Result<Sidecars, (Phase, String)> {
        // Built first: if a later sidecar cannot start, dropping this kills the earlier ones.
        let mut started = Sidecars {
            running: Vec::new(),
        };
        for (i, c) in t.sidecars.iter().enumerate() {
            let name = name_of(c, i);
            let dirs = dirs_of(ctx, id, (&name, c), main);
            let spec = spec_for(ctx, id, &format!("{id}.{name}"), c, &dirs)
                .map_err(|e| (Phase::Error, format!("{name}: {e}")))?;
            let (shared, pid_file) = (ctx.shared.clone(), spec.pid_file.clone());
            let task = tokio::spawn(process::run(spec, shared));
            started.running.push((name, pid_file, task));
        }
        Ok(started)
    }

    /// Kills the sidecars still running; the failure of one that exited badly on its own.
    pub async fn stop(mut self) -> Option<(Phase, String)> {
        let mut failure = None;
        for (name, pid_file, task) in std::mem::take(&mut self.running) {
            let ended_alone = task.is_finished();
            task.abort();
            let outcome = task.await;
            super::leftovers::forget(&pid_file);
            match outcome {
                Ok(done) if ended_alone => {
                    let killed = matches!(done.exit_code, 0 | 137 | 143) && done.error.is_none();
                    if !killed && failure.is_none() {
                        failure = Some(container_failure(&name, &done));
                    }
                }
                _ => tracing::debug!(sidecar = %name, "sidecar stopped"),
            }
        }
        failure
    }
}

impl Drop for Sidecars {
    fn drop(&mut self) {
        // Dropping the process future kills the sidecar's process group.
        for (_, _, task) in &self.running {
            task.abort();
        }
    }
}
