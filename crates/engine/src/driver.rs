//! Driving one run from start to end (workflow `activeDeadlineSeconds`, stop/terminate, the
//! `onExit` handler seeing `workflow.status`/`workflow.failures`) and the `RunHandle` methods.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use serde_json::{json, Value};
use tokio::sync::watch;

use crate::exec::{run_call, Call, Outcome, RunCtx};
use crate::library::Resolved;
use crate::model::Arguments;
use crate::run::{RunHandle, StopMode};
use crate::state::Shared;
use crate::status::{fmt_time, NodeType, Phase, WorkflowObject};

pub(crate) fn snapshot(base: &Mutex<WorkflowObject>, shared: &Shared) -> WorkflowObject {
    let mut obj = base
        .lock()
        .map(|b| b.clone())
        .unwrap_or_else(|e| e.into_inner().clone());
    obj.status = shared.read(|s| s.status.clone());
    obj.status.progress = Some(obj.status.compute_progress());
    // The labels Argo's controller keeps on every workflow.
    let labels = &mut obj.metadata.labels;
    labels.insert(
        "workflows.argoproj.io/phase".into(),
        obj.status.phase.as_str().into(),
    );
    if obj.status.finished_at.is_some() {
        labels.insert("workflows.argoproj.io/completed".into(), "true".into());
    }
    obj
}

async fn stopped(rx: &mut watch::Receiver<StopMode>, wanted: &[StopMode]) -> StopMode {
    loop {
        let mode = *rx.borrow_and_update();
        if wanted.contains(&mode) {
            return mode;
        }
        if rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

fn failures(shared: &Shared) -> Value {
    shared.read(|s| {
        let list: Vec<Value> = s
            .status
            .nodes
            .values()
            .filter(|n| n.node_type == NodeType::Pod && n.phase.is_failure())
            .map(|n| {
                json!({
                    "displayName": n.display_name,
                    "message": n.message.clone().unwrap_or_default(),
                    "templateName": n.template_name.clone().unwrap_or_default(),
                    "phase": n.phase.as_str(),
                    "podName": n.id,
                    "finishedAt": n.finished_at.as_ref().map(fmt_time).unwrap_or_default(),
                })
            })
            .collect();
        Value::Array(list)
    })
}

/// Runs a workflow: its entry point (until done, past its deadline, or stopped), then its exit
/// handler unless terminated; records the final phase.
pub(crate) async fn drive(
    ctx: Arc<RunCtx>,
    main: Call,
    deadline: Option<Duration>,
    exit: Option<(Option<Arguments>, Resolved)>,
    mut stop_rx: watch::Receiver<StopMode>,
) {
    let began = std::time::Instant::now();
    let _lock = match hold_workflow_lock(&ctx, &mut stop_rx).await {
        Ok(lock) => lock,
        Err((phase, message)) => return end_run(&ctx, phase, Some(message)),
    };
    let (mut phase, mut message) = run_main(&ctx, main, deadline, &mut stop_rx).await;
    // Daemons whose steps/dag a stop or deadline cut short, and a daemon entrypoint, end here.
    ctx.daemons.end_scope(&ctx.shared, None).await;
    if !phase.is_failure() {
        phase = Phase::Succeeded;
    }
    let terminated = *stop_rx.borrow() == StopMode::Terminate;
    if *stop_rx.borrow() == StopMode::Stop {
        // A suspended run that is stopped still runs its exit handler.
        ctx.resumes.release_workflow();
    }
    if let (Some((args, resolved)), false) = (exit, terminated) {
        if let Ok(mut g) = ctx.globals.lock() {
            g.set("workflow.status", phase.as_str());
            g.set("workflow.failures", failures(&ctx.shared).to_string());
            g.set(
                "workflow.duration",
                began.elapsed().as_secs_f64().to_string(),
            );
        }
        let outcome = run_exit_handler(&ctx, &args, resolved, &mut stop_rx).await;
        if outcome.phase.is_failure() && phase == Phase::Succeeded {
            phase = Phase::Failed;
            message = Some(
                outcome
                    .message
                    .unwrap_or_else(|| "exit handler failed".into()),
            );
        }
    }
    if phase == Phase::Succeeded {
        message = None;
    }
    end_run(&ctx, phase, message);
}

/// Records the run's final phase; its claims go per `volumeClaimGC`.
fn end_run(ctx: &RunCtx, phase: Phase, message: Option<String>) {
    ctx.k8s.run_done(phase);
    ctx.shared.update(|s| {
        s.status.phase = phase;
        s.status.message = message;
        s.status.finished_at = Some(Utc::now());
        s.status.progress = Some(s.status.compute_progress());
    });
    tracing::info!(workflow = %ctx.wf_name, "workflow {phase}");
}

/// The workflow-level `synchronization` locks, waited for until taken or the run is stopped.
async fn hold_workflow_lock(
    ctx: &Arc<RunCtx>,
    stop_rx: &mut watch::Receiver<StopMode>,
) -> Result<Option<crate::sync::RunHeld>, (Phase, String)> {
    let spec = ctx.resolver.spec();
    tokio::select! {
        held = crate::sync::hold_workflow(ctx, &spec) => held.map_err(|e| (
            Phase::Failed,
            format!("Failed to acquire the synchronization lock. {e}"),
        )),
        mode = stopped(stop_rx, &[StopMode::Stop, StopMode::Terminate]) => {
            let m = if mode == StopMode::Stop { "Stopped with strategy 'Stop'" } else { "Stopped with strategy 'Terminate'" };
            Err((Phase::Failed, m.to_string()))
        }
    }
}

/// Runs the entry point until it ends, the workflow deadline passes, or it is stopped (then
/// its running nodes are failed); the phase and message it ended with.
async fn run_main(
    ctx: &Arc<RunCtx>,
    main: Call,
    deadline: Option<Duration>,
    stop_rx: &mut watch::Receiver<StopMode>,
) -> (Phase, Option<String>) {
    let main_fut = async {
        // `spec.suspend: true`: nothing starts before a resume (deadline and stop still count).
        ctx.resumes.wait_workflow().await;
        run_call(ctx.clone(), main).await
    };
    let expired = async {
        match deadline {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        o = main_fut => (o.phase, o.message),
        () = expired => {
            let m = "Step exceeded its deadline";
            ctx.shared.sweep("", Phase::Failed, m);
            (Phase::Failed, Some(m.to_string()))
        }
        mode = stopped(stop_rx, &[StopMode::Stop, StopMode::Terminate]) => {
            let m = if mode == StopMode::Stop { "Stopped with strategy 'Stop'" } else { "Stopped with strategy 'Terminate'" };
            ctx.shared.sweep("", Phase::Failed, m);
            (Phase::Failed, Some(m.to_string()))
        }
    }
}

/// Runs the exit handler `<workflow>.onExit` (failed if the run is terminated meanwhile).
async fn run_exit_handler(
    ctx: &Arc<RunCtx>,
    args: &Option<Arguments>,
    resolved: Resolved,
    stop_rx: &mut watch::Receiver<StopMode>,
) -> Outcome {
    let scope = ctx.global_scope();
    let name = format!("{}.onExit", ctx.wf_name);
    match crate::exec::arguments(args, &scope) {
        Ok(args) => {
            let call = Call {
                name: name.clone(),
                display: name.clone(),
                resolved,
                args,
                boundary: None,
            };
            tokio::select! {
                o = run_call(ctx.clone(), call) => o,
                _ = stopped(stop_rx, &[StopMode::Terminate]) => {
                    let m = "Stopped with strategy 'Terminate'";
                    ctx.shared.sweep(&name, Phase::Failed, m);
                    Outcome::new(&ctx.id(&name), Phase::Failed, Some(m.to_string()))
                }
            }
        }
        Err(e) => Outcome::new(&ctx.id(&name), Phase::Error, Some(e.to_string())),
    }
}

/// Writes `status.json` atomically (temp file + rename), so a reader never sees half of it.
pub(crate) async fn write_status(obj: &WorkflowObject, run_dir: &std::path::Path) {
    // A temporary file of each write's own: two writes at once (the loop that keeps the file
    // current, and the end) sharing one would interleave into a document no reader can parse.
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let write = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let (tmp, path) = (
        run_dir.join(format!(".status.json.{write}.tmp")),
        run_dir.join("status.json"),
    );
    let bytes = match serde_json::to_vec(obj) {
        Ok(b) => b,
        Err(e) => return tracing::warn!("cannot serialize status: {e}"),
    };
    let written = async {
        tokio::fs::write(&tmp, bytes).await?;
        tokio::fs::rename(&tmp, &path).await
    };
    if let Err(e) = written.await {
        let _ = tokio::fs::remove_file(&tmp).await;
        tracing::warn!(path = %path.display(), "cannot write status: {e}");
    }
}

/// Keeps `status.json` current while the run goes (at most twice a second), so that after a
/// crash of the host process the last known state is on disk. Never returns.
pub(crate) async fn persist_while_running(
    base: &Mutex<WorkflowObject>,
    shared: &Shared,
    run_dir: &std::path::Path,
) {
    let mut rx = shared.subscribe();
    // Changes made before this task subscribed would not wake it: write the state as of now.
    write_status(&snapshot(base, shared), run_dir).await;
    loop {
        if rx.changed().await.is_err() {
            return std::future::pending().await;
        }
        write_status(&snapshot(base, shared), run_dir).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

impl RunHandle {
    /// The resolved `metadata.name` (generateName + suffix).
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn uid(&self) -> &str {
        &self.uid
    }

    /// `<work_dir>/<name>`: node `work/`, `tmp/`, `logs/`, `scripts/` and the final `status.json`.
    pub fn run_dir(&self) -> &std::path::Path {
        &self.run_dir
    }

    /// The Workflow object as of now (cheap enough to poll).
    pub fn status(&self) -> WorkflowObject {
        snapshot(&self.base, &self.shared)
    }

    /// A receiver that changes whenever the status (or a log) changes.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.shared.subscribe()
    }

    /// Combined stdout+stderr of a node so far (by node id), if it has printed anything.
    /// Whole: for a large log, read a range of [`Self::log_file`].
    pub fn logs(&self, node_id: &str) -> Option<String> {
        crate::exec::logs::read_tail(&self.log_file(node_id), u64::MAX)
            .ok()
            .flatten()
            .map(|(text, _)| text)
    }

    /// The file holding a node's stdout and stderr interleaved, as it prints them.
    pub fn log_file(&self, node_id: &str) -> std::path::PathBuf {
        crate::exec::logs::combined_path(&self.run_dir.join("logs").join(node_id))
    }

    /// `argo stop`: kill running nodes, mark the workflow Failed, still run `onExit`.
    pub fn stop(&self) {
        let _ = self.stop.send(StopMode::Stop);
    }

    /// `argo resume`: resumes the workflow (`spec.suspend`) and every suspend node waiting;
    /// how many nodes. Asking again after that changes nothing; a run with nothing suspended
    /// (ended, or never suspended) is `EngineError::NotSuspended`.
    pub fn resume(&self) -> Result<usize, crate::EngineError> {
        self.resume_with(&[])
    }

    /// `resume` giving the suspend nodes' `valueFrom.supplied` outputs (`argo node set -p`);
    /// a name no suspended node supplies, or an output left without a value, is refused and
    /// nothing is resumed.
    pub fn resume_with(&self, values: &[(String, String)]) -> Result<usize, crate::EngineError> {
        let resumed = self.resumes.resume(&self.shared, values)?;
        if let Ok(mut base) = self.base.lock() {
            base.spec.suspend = None;
        }
        self.shared.update(|s| {
            if let Some(stored) = &mut s.status.stored_workflow_template_spec {
                stored.suspend = None;
            }
        });
        tracing::info!(workflow = %self.name, nodes = resumed, "workflow resumed");
        Ok(resumed)
    }

    /// `argo suspend`: no new pod starts until [`RunHandle::resume`]; running ones go on, as
    /// Argo's controller does with `spec.suspend: true`. Suspending a suspended run changes
    /// nothing; an ended run is [`crate::EngineError::Ended`].
    pub fn suspend(&self) -> Result<(), crate::EngineError> {
        if self.is_finished() {
            return Err(crate::EngineError::Ended);
        }
        if self.resumes.suspend_workflow() {
            if let Ok(mut base) = self.base.lock() {
                base.spec.suspend = Some(true);
            }
            tracing::info!(workflow = %self.name, "workflow suspended");
        }
        Ok(())
    }

    /// Whether the workflow or one of its nodes waits for a resume.
    pub fn is_suspended(&self) -> bool {
        self.resumes.is_suspended(&self.shared)
    }

    /// `argo terminate`: like stop, without the exit handler.
    pub fn terminate(&self) {
        let _ = self.stop.send(StopMode::Terminate);
    }

    pub fn is_finished(&self) -> bool {
        *self.done.borrow()
    }

    /// Waits for the end of the run and returns the final Workflow object.
    pub async fn wait(&self) -> WorkflowObject {
        let mut done = self.done.clone();
        // An error means the driver is gone, which only happens after it finished.
        let _ = done.wait_for(|d| *d).await;
        snapshot(&self.base, &self.shared)
    }
}
