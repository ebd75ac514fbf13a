//! `daemon: true` pod templates: the node is Running (`daemoned`) once its process started and
//! its `readinessProbe` passed; its step or task then counts as done, and the process runs on
//! until the steps/dag template that started it ends (or the workflow ends), when it is
//! killed and its node marked Succeeded (and `daemoned` unset), as Argo does. Nodes share the host's network, so a
//! daemon listening on a port is reached by later nodes on `127.0.0.1` (`{{steps.x.ip}}`).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::OwnedSemaphorePermit;
use tokio::task::JoinHandle;

use super::probe::Readiness;
use super::process::{self, Spec};
use super::sidecar::Sidecars;
use super::{Call, Outcome, RunCtx};
use crate::model::Template;
use crate::state::Shared;
use crate::status::Phase;

/// As Kubernetes words a pod killed at its `activeDeadlineSeconds`.
const DEADLINE_MSG: &str = "Pod was active on the node longer than the specified deadline";

/// One daemon still running.
struct Daemon {
    /// The id of the steps/dag node whose end stops it (none: the workflow's end).
    scope: Option<String>,
    node: String,
    pid_file: PathBuf,
    task: JoinHandle<()>,
}

/// The daemons of one run.
#[derive(Default)]
pub struct Daemons {
    running: Mutex<Vec<Daemon>>,
}

impl Daemons {
    fn add(&self, d: Daemon) {
        self.running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(d);
    }

    /// Kills the daemons started under node `scope` (all of them for `None`) and marks their
    /// nodes Succeeded (those that already ended keep their phase).
    pub async fn end_scope(&self, shared: &Shared, scope: Option<&str>) {
        let ending: Vec<Daemon> = {
            let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
            let (ending, kept) = std::mem::take(&mut *running)
                .into_iter()
                .partition(|d| scope.is_none() || d.scope.as_deref() == scope);
            *running = kept;
            ending
        };
        for d in ending {
            d.task.abort();
            let _ = d.task.await;
            super::leftovers::forget(&d.pid_file);
            let done = shared.read(|s| s.status.nodes.get(&d.node).map(|n| n.phase.is_done()));
            if done == Some(false) {
                tracing::debug!(node = %d.node, "daemon stopped at the end of its scope");
                shared.with_node(&d.node, |n| {
                    n.progress = Some("1/1".into());
                    n.daemoned = None;
                });
                shared.finish(&d.node, Phase::Succeeded, None);
            }
        }
    }
}

/// What a daemon pod needs besides its process.
pub(super) struct DaemonPod {
    pub scope: Option<String>,
    pub readiness: Option<Readiness>,
    pub sidecars: Sidecars,
    pub permit: Option<OwnedSemaphorePermit>,
    /// `activeDeadlineSeconds`: how long the daemon may run at all.
    pub deadline: Option<Duration>,
}

/// How a daemon's process ended on its own, as a pod's phase and message: Argo fails even a
/// daemon that exits 0, since daemons should run until their scope ends.
fn ended_as(done: &process::Finished) -> (Phase, Option<String>) {
    match (&done.error, done.exit_code) {
        (Some(e), _) => (Phase::Error, Some(e.clone())),
        (None, 0) => (Phase::Failed, None),
        (None, code) => (Phase::Failed, Some(format!("Error (exit code {code})"))),
    }
}

/// Starts daemon node `id`; returns once it is ready (Succeeded for its parent, the node
/// stays Running) or its process ended before (the node then ends as a pod does). It is
/// registered at once, so that a deadline or stop during the readiness wait still ends it.
pub(super) async fn run(ctx: &Arc<RunCtx>, id: &str, spec: Spec, pod: DaemonPod) -> Outcome {
    let (ended_tx, ended) = tokio::sync::watch::channel(false);
    let pid_file = spec.pid_file.clone();
    let shared = ctx.shared.clone();
    let node = id.to_string();
    let DaemonPod {
        scope,
        readiness,
        sidecars,
        permit,
        deadline,
    } = pod;
    let k8s = ctx.k8s.clone();
    let task = tokio::spawn(async move {
        let (_sidecars, _permit) = (sidecars, permit);
        let _volumes = k8s.pod_volumes(&node);
        let run = process::run(spec, shared.clone());
        let (phase, msg) = match deadline {
            None => ended_as(&run.await),
            Some(limit) => match tokio::time::timeout(limit, run).await {
                Ok(done) => ended_as(&done),
                Err(_) => (Phase::Failed, Some(DEADLINE_MSG.to_string())),
            },
        };
        shared.with_node(&node, |n| {
            n.progress = Some("0/1".into());
            n.daemoned = None;
        });
        shared.finish(&node, phase, msg);
        let _ = ended_tx.send(true);
    });
    ctx.daemons.add(Daemon {
        scope,
        node: id.to_string(),
        pid_file,
        task,
    });
    if let Some(r) = &readiness {
        tokio::time::sleep(r.initial_delay).await;
        while !*ended.borrow() && !r.ready(&ctx.shared).await {
            tokio::time::sleep(r.period).await;
        }
    }
    if *ended.borrow() {
        let (phase, message) = ctx.shared.read(|s| {
            s.status
                .nodes
                .get(id)
                .map(|n| (n.phase, n.message.clone()))
                .unwrap_or((Phase::Error, None))
        });
        return Outcome::new(id, phase, message);
    }
    ctx.shared.with_node(id, |n| n.daemoned = Some(true));
    Outcome::new(id, Phase::Succeeded, None)
}

/// Starts the process of daemon pod `id` (template `t`) with its readiness probe, sidecars and
/// `parallelism` permit, both kept until the daemon ends.
pub(super) async fn start_pod(
    ctx: &Arc<RunCtx>,
    id: &str,
    call: &Call,
    t: &Template,
    spec: Spec,
    (sidecars, permit): (Sidecars, Option<OwnedSemaphorePermit>),
) -> Outcome {
    let container = t
        .container
        .as_ref()
        .or(t.script.as_ref().map(|s| &s.container));
    let mounts = spec.mounts.clone();
    let probe_base = (
        spec.env.clone(),
        spec.cwd.clone(),
        spec.work.clone(),
        spec.tmp.clone(),
    );
    let (sandbox, run_dir, pid) = (ctx.sandbox.clone(), ctx.run_dir.clone(), id.to_string());
    let exec_spec = move |argv: Vec<String>| Spec {
        argv,
        env: probe_base.0.clone(),
        cwd: probe_base.1.clone(),
        work: probe_base.2.clone(),
        tmp: probe_base.3.clone(),
        sandbox: sandbox.clone(),
        logs: run_dir.join("logs").join(format!("{pid}.probe")),
        pid_file: run_dir.join("pids").join(format!("{pid}.probe")),
        mounts: mounts.clone(),
        // An overlay's directories take one mount at a time: probes see the host below.
        layer: None,
    };
    let readiness = match container.map(|c| super::probe::readiness(c, exec_spec)) {
        Some(Err(e)) => {
            ctx.shared.finish(id, Phase::Error, Some(e.to_string()));
            return Outcome::new(id, Phase::Error, Some(e.to_string()));
        }
        Some(Ok(r)) => r,
        None => None,
    };
    let deadline = t
        .active_deadline_seconds
        .as_ref()
        .and_then(|v| super::node::parse_duration(&crate::expr::to_text(v)));
    let pod = DaemonPod {
        deadline,
        scope: call.boundary.clone(),
        readiness,
        sidecars,
        permit,
    };
    run(ctx, id, spec, pod).await
}
