//! The process of one container beside a pod's main one (a sidecar, an init container, a
//! container of a `containerSet`): its command line, environment, directories, log and pid
//! files. Log and pid files are named after `own`, the container's own name for them
//! (`<node id>.<container>` for sidecars and init containers, the `Container` node's id in a
//! container set), so the node's own log files hold only its main container.

use std::path::{Path, PathBuf};

use super::process::Spec;
use super::RunCtx;
use crate::error::EngineError;
use crate::model::Container;

/// The directories a container shares with the rest of its pod.
pub(super) struct PodDirs {
    pub work: PathBuf,
    pub tmp: PathBuf,
    /// The volumes mounted into the container.
    pub mounts: Vec<super::sandbox::Bind>,
}

/// Creates directory `d` (owned by the step user when it is one of the run's).
pub(super) fn ensure_dir(ctx: &RunCtx, d: &Path) -> Result<(), EngineError> {
    std::fs::create_dir_all(d).map_err(|e| EngineError::io(d, e))?;
    if let Some(user) = ctx
        .step_user
        .as_ref()
        .filter(|_| d.starts_with(&ctx.run_dir))
    {
        std::os::unix::fs::chown(d, Some(user.uid), Some(user.gid))
            .map_err(|e| EngineError::io(d, e))?;
    }
    Ok(())
}

/// The environment of a container of node `node_id`: the engine's, then the container's own.
pub(super) fn env_of(ctx: &RunCtx, node_id: &str, c: &Container) -> Vec<(String, String)> {
    let mut env = ctx.env.clone();
    env.push(("ARGO_WORKFLOW_NAME".into(), ctx.wf_name.clone()));
    env.push(("ARGO_NODE_ID".into(), node_id.to_string()));
    // A variable without a `value` (`valueFrom` a Secret or ConfigMap) keeps the engine's.
    env.extend(
        c.env
            .iter()
            .filter(|e| e.value.is_some() || !e.extra.contains_key("valueFrom"))
            .map(|e| (e.name.clone(), e.value.clone().unwrap_or_default())),
    );
    env
}

/// The process of container `c` of node `node_id`, logged and recorded as `own`.
pub(super) fn spec_for(
    ctx: &RunCtx,
    node_id: &str,
    own: &str,
    c: &Container,
    dirs: &PodDirs,
) -> Result<Spec, EngineError> {
    let cwd = match &c.working_dir {
        Some(wd) if Path::new(wd).is_dir() => PathBuf::from(wd),
        Some(wd) => dirs.work.join(wd.trim_start_matches('/')),
        None => dirs.work.clone(),
    };
    for d in [&dirs.work, &dirs.tmp, &cwd] {
        ensure_dir(ctx, d)?;
    }
    // A main container's layer takes one mount at a time: beside it, mount points are made
    // on the host (as a kubelet makes them in an image), outside the system's directories.
    crate::volumes::mount_points::create(&dirs.mounts)?;
    // As for a main container: no `command` runs the image's entrypoint when it is known.
    let mut argv = match c.image.as_deref().and_then(crate::images::entrypoint) {
        Some(entrypoint) if c.command.is_empty() => entrypoint,
        _ => c.command.clone(),
    };
    argv.extend(c.args.iter().cloned());
    Ok(Spec {
        argv,
        env: env_of(ctx, node_id, c),
        cwd,
        work: dirs.work.clone(),
        tmp: dirs.tmp.clone(),
        sandbox: ctx.sandbox.clone(),
        logs: ctx.run_dir.join("logs").join(own),
        pid_file: ctx.run_dir.join("pids").join(own),
        mounts: dirs.mounts.clone(),
        layer: None,
    })
}

/// The name a sidecar or init container is known by (its `name`, else its position).
pub(super) fn name_of(c: &Container, i: usize) -> String {
    crate::validate::container_name(c).unwrap_or_else(|| i.to_string())
}
