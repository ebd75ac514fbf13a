//! `container` and `script` templates as `Pod` nodes: substitution of the template, the node's
//! directories, the command line (script `source` written to a file), outputs (`result`,
//! `exitCode`, `valueFrom.path`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::layer::Layer;
use super::logs::{read_tail, stream_path, Stream};
use super::node_fs::NodeFs;
use super::process::{self, Finished, Spec};
use super::{Call, Outcome, RunCtx};
use crate::error::EngineError;
use crate::model::Template;
use crate::state::NewNode;
use crate::status::{NodeInputs, NodeOutputs, NodeType, ParamValue, Phase};
use crate::template::Scope;

/// Whether any field the engine reads from a pod template holds a `{{…}}` tag.
fn has_tags(t: &Template) -> bool {
    let tag = |s: &str| s.contains("{{");
    let container = t
        .container
        .as_ref()
        .or(t.script.as_ref().map(|s| &s.container));
    let in_container = container.is_some_and(|c| {
        c.command.iter().any(|x| tag(x))
            || c.args.iter().any(|x| tag(x))
            || c.env.iter().any(|e| e.value.as_deref().is_some_and(tag))
            || c.working_dir.as_deref().is_some_and(tag)
            || c.image.as_deref().is_some_and(tag)
    });
    let in_outputs = t.outputs.iter().flat_map(|o| o.parameters.iter()).any(|p| {
        p.value.as_deref().is_some_and(tag)
            || p.value_from.as_ref().is_some_and(|v| {
                v.path.as_deref().is_some_and(tag) || v.default.as_deref().is_some_and(tag)
            })
    });
    // Sidecars, init containers and daemons (their probe) are rare: always substituted.
    let side = !t.sidecars.is_empty() || !t.init_containers.is_empty() || t.daemon == Some(true);
    in_container || in_outputs || side || t.script.as_ref().is_some_and(|s| tag(&s.source))
}

fn substituted(t: &Template, scope: &Scope) -> Result<Template, EngineError> {
    if !has_tags(t) {
        return Ok(t.clone());
    }
    let mut v = serde_json::to_value(t).map_err(|e| EngineError::Internal(e.to_string()))?;
    if let serde_json::Value::Object(m) = &mut v {
        for key in [
            "container",
            "script",
            "outputs",
            "sidecars",
            "initContainers",
        ] {
            if let Some(x) = m.get_mut(key) {
                scope.substitute_value(x)?;
            }
        }
    }
    serde_json::from_value(v).map_err(|e| EngineError::Internal(e.to_string()))
}

pub(super) fn trim_newline(s: &str) -> String {
    s.trim_end_matches(['\n', '\r']).to_string()
}

async fn read_param(paths: &[PathBuf]) -> Option<String> {
    for p in paths {
        if let Ok(s) = tokio::fs::read_to_string(p).await {
            return Some(trim_newline(&s));
        }
    }
    None
}

/// The last 2048 bytes or 80 lines of a failed container's log, as Kubernetes puts in the
/// termination message under `terminationMessagePolicy: FallbackToLogsOnError`.
async fn fallback_to_logs(t: &Template, log: &Path) -> Option<String> {
    let container = t
        .container
        .as_ref()
        .or(t.script.as_ref().map(|s| &s.container))?;
    let policy = container.extra.get("terminationMessagePolicy")?;
    if policy.as_str() != Some("FallbackToLogsOnError") {
        return None;
    }
    // Kubernetes interleaves the streams; the stderr tail, where errors go, comes last here.
    // Only the tails are read: a log can be larger than the server's memory.
    let mut text = String::new();
    for stream in [Stream::Stdout, Stream::Stderr] {
        if let Ok(Some((part, _))) = read_tail(&stream_path(log, stream), 2048) {
            text.push_str(&part);
        }
    }
    let cut = text.len().saturating_sub(2048);
    let cut = (cut..text.len())
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(text.len());
    let tail = &text[cut..];
    let lines: Vec<&str> = tail.trim_end().lines().collect();
    let tail = lines[lines.len().saturating_sub(80)..].join("\n");
    (!tail.trim().is_empty()).then_some(tail)
}

/// Creates the node's directories (`work/<id>`, `tmp/<id>`) and script file; returns the
/// process spec and the recorded image.
async fn prepare(
    ctx: &RunCtx,
    id: &str,
    t: &Template,
) -> Result<(Spec, Option<String>), EngineError> {
    let work = ctx.run_dir.join("work").join(id);
    let tmp = ctx.run_dir.join("tmp").join(id);
    let (container, source) = match (&t.container, &t.script) {
        (Some(c), _) => (c, None),
        (None, Some(s)) => (&s.container, Some(s.source.clone())),
        (None, None) => return Err(EngineError::Internal("not a pod template".into())),
    };
    let mounts = ctx.k8s.binds(id, t)?;
    let layer = match &ctx.sandbox {
        Some(_) => super::node_fs::node_layer(ctx, id, t, &mounts)?,
        None => None,
    };
    let cwd = match &container.working_dir {
        Some(wd) if Path::new(wd).is_dir() => PathBuf::from(wd),
        Some(wd) => work.join(wd.trim_start_matches('/')),
        // In a root of its own a node starts in `/`, as most images do.
        None if layer.as_ref().is_some_and(Layer::chroots) => PathBuf::from("/"),
        None => work.clone(),
    };
    let script = source
        .as_ref()
        .map(|_| ctx.run_dir.join("scripts").join(id));
    let dirs = if cwd == work {
        vec![work.clone(), tmp.clone()]
    } else {
        vec![work.clone(), tmp.clone(), cwd.clone()]
    };
    let file = script.clone();
    // A few small local file operations: cheaper inline than a hop to the blocking pool.
    // The parents (`work/`, `tmp/`) exist since submit: one mkdir each in the common case.
    for d in &dirs {
        match std::fs::create_dir(d) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(_) => std::fs::create_dir_all(d).map_err(|e| EngineError::io(d, e))?,
        }
        // Only the node's own directories: a `workingDir` may name an existing host dir.
        if let Some(user) = ctx
            .step_user
            .as_ref()
            .filter(|_| d.starts_with(&ctx.run_dir))
        {
            std::os::unix::fs::chown(d, Some(user.uid), Some(user.gid))
                .map_err(|e| EngineError::io(d, e))?;
        }
    }
    if let (Some(file), Some(src)) = (file, source) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(&file, src).map_err(|e| EngineError::io(&file, e))?;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| EngineError::io(&file, e))?;
    }
    let image = container.image.as_deref().unwrap_or_default();
    let mut argv = match crate::images::entrypoint(image) {
        Some(entrypoint) if container.command.is_empty() => entrypoint,
        _ => container.command.clone(),
    };
    if let Some(host) = argv
        .first()
        .and_then(|p| crate::images::host_program(image, p))
    {
        argv[0] = host;
    }
    if let Some(file) = script {
        let arg = file.display().to_string();
        argv.push(arg);
    }
    argv.extend(container.args.iter().cloned());
    let mut env = ctx.env.clone();
    env.push(("ARGO_WORKFLOW_NAME".into(), ctx.wf_name.clone()));
    env.push(("ARGO_NODE_ID".into(), id.to_string()));
    env.extend(ctx.k8s.env(container, &ctx.env)?);
    // Kubernetes expands `$(VAR)` in command and args with the container's variables.
    let argv = argv
        .iter()
        .map(|a| super::env_expand::expand(a, &env))
        .collect();
    Ok((
        Spec {
            argv,
            env,
            cwd,
            work,
            tmp,
            sandbox: ctx.sandbox.clone(),
            mounts,
            layer,
            logs: ctx.run_dir.join("logs").join(id),
            pid_file: ctx.run_dir.join("pids").join(id),
        },
        container.image.clone(),
    ))
}

pub async fn run(
    ctx: &Arc<RunCtx>,
    name: &str,
    display: &str,
    call: &Call,
    inputs: Option<NodeInputs>,
    scope: Scope,
) -> Outcome {
    let id = ctx.id(name);
    // Suspended (`argo suspend`): no new pod, as Argo's controller creates none, until the
    // resume.
    ctx.resumes.wait_workflow().await;
    let raw = &call.resolved.template;
    ctx.shared.create_node(NewNode {
        id: &id,
        name,
        display,
        node_type: NodeType::Pod,
        template: Some(&raw.name),
        boundary: call.boundary.as_deref(),
        phase: Phase::Pending,
        message: None,
    });
    if inputs.is_some() {
        ctx.shared.with_node(&id, |n| n.inputs = inputs);
    }
    let fail = |phase: Phase, msg: String| {
        ctx.shared.finish(&id, phase, Some(msg.clone()));
        Outcome::new(&id, phase, Some(msg))
    };
    let mut scope = scope;
    crate::artifacts::set_path_vars(raw, &mut scope);
    let t = match substituted(raw, &scope) {
        Ok(t) => t,
        Err(e) => return fail(Phase::Error, e.to_string()),
    };
    let _permit = match &ctx.pod_limit {
        Some(sem) => sem.clone().acquire_owned().await.ok(),
        None => None,
    };
    // A daemon's volumes live as long as it does (`daemon` holds them).
    let volumes = (t.daemon != Some(true)).then(|| ctx.k8s.pod_volumes(&id));
    let (spec, image) = match prepare(ctx, &id, &t).await {
        Ok(s) => s,
        Err(e) => return fail(Phase::Error, e.to_string()),
    };
    let (work, tmp) = (ctx.run_dir.join("work").join(&id), spec.tmp.clone());
    let (mounts, layer) = (spec.mounts.clone(), spec.layer.clone());
    // Relative paths are the working dir's: `/` of a node in a root of its own.
    let relative_base = match &layer {
        Some(l) if spec.cwd == Path::new("/") => l.root(),
        _ => work.clone(),
    };
    let fs = NodeFs {
        work: &relative_base,
        tmp: &tmp,
        private_tmp: ctx.private_tmp,
        mounts: &mounts,
        layer: layer.as_ref(),
    };
    match crate::artifacts::place_inputs(ctx, &t, &call.args, &scope, &fs).await {
        Ok(placed) if placed.is_empty() => {}
        Ok(placed) => ctx.shared.with_node(&id, |n| {
            n.inputs.get_or_insert_with(Default::default).artifacts = placed;
        }),
        Err(msg) => return fail(Phase::Error, msg),
    }
    ctx.shared.with_node(&id, |n| {
        n.phase = Phase::Running;
        n.image = image;
    });
    let main = super::sidecar::MainPod {
        work: &work,
        mounts: &spec.mounts,
    };
    let sidecars = match super::sidecar::run_init(ctx, &id, &t, &main)
        .await
        .and_then(|()| super::sidecar::Sidecars::start(ctx, &id, &t, &main))
    {
        Ok(s) => s,
        Err((phase, msg)) => return fail(phase, msg),
    };
    if t.daemon == Some(true) {
        return super::daemon::start_pod(ctx, &id, call, &t, spec, (sidecars, _permit)).await;
    }
    let log_path = spec.logs.clone();
    let done = process::run(spec, ctx.shared.clone()).await;
    drop(volumes);
    let sidecar_failure = sidecars.stop().await;
    let stdout = String::from_utf8_lossy(&done.stdout);
    let mut outputs = NodeOutputs {
        parameters: Vec::new(),
        result: Some(trim_newline(&stdout)),
        exit_code: Some(done.exit_code.to_string()),
        ..Default::default()
    };
    let (mut phase, mut message) = exit_phase(&t, &done, &log_path).await;
    if let (Some((p, m)), Phase::Succeeded) = (sidecar_failure, phase) {
        (phase, message) = (p, Some(m));
    }
    let params = &mut outputs.parameters;
    let missing = output_parameters(&t, &fs, params).await;
    let (artifacts, unsaved) = crate::artifacts::collect_outputs(ctx, &t, &id, &scope, &fs).await;
    outputs.artifacts = artifacts;
    if let (Some(msg), Phase::Succeeded) = (missing.or(unsaved), phase) {
        phase = Phase::Error;
        message = Some(msg);
    }
    finish_pod(ctx, id, phase, message, outputs)
}

/// Completes Pod node `id` with its outputs and progress.
pub(super) fn finish_pod(
    ctx: &RunCtx,
    id: String,
    phase: Phase,
    message: Option<String>,
    outputs: NodeOutputs,
) -> Outcome {
    let recorded = outputs.clone();
    ctx.shared.with_node(&id, |n| {
        n.outputs = Some(recorded);
        n.progress = Some(
            if phase == Phase::Succeeded {
                "1/1"
            } else {
                "0/1"
            }
            .to_string(),
        );
    });
    ctx.shared.finish(&id, phase, message.clone());
    Outcome {
        id: id.clone(),
        phase,
        message,
        outputs,
        outbound: vec![id],
    }
}

/// The phase and message of a finished container: Error if it could not run, else by exit code.
async fn exit_phase(t: &Template, done: &Finished, log_path: &Path) -> (Phase, Option<String>) {
    match (&done.error, done.exit_code) {
        (Some(e), _) => (Phase::Error, Some(e.clone())),
        (None, 0) => (Phase::Succeeded, None),
        (None, code) => (
            Phase::Failed,
            Some(match fallback_to_logs(t, log_path).await {
                // As Argo words a failed container whose status carries a message.
                Some(tail) => format!("Error (exit code {code}): {tail}"),
                None => format!("Error (exit code {code})"),
            }),
        ),
    }
}

/// Reads the template's output parameters into `out`; the message of the first one whose
/// `valueFrom.path` is missing without a default (the pod then errors if it had succeeded).
pub(super) async fn output_parameters(
    t: &Template,
    fs: &NodeFs<'_>,
    out: &mut Vec<ParamValue>,
) -> Option<String> {
    let mut missing = None;
    for p in t.outputs.iter().flat_map(|o| o.parameters.iter()) {
        let value = match (&p.value_from, &p.value) {
            (Some(vf), _) if vf.path.is_some() => {
                let path = vf.path.as_deref().unwrap_or_default();
                let host = fs.candidates(path);
                match read_param(&host).await {
                    Some(v) => Some(v),
                    None => vf.default.clone().or_else(|| {
                        missing.get_or_insert_with(|| {
                            format!(
                                "failed to read output parameter '{}' from {path}: no such file",
                                p.name
                            )
                        });
                        None
                    }),
                }
            }
            (Some(vf), _) => vf.default.clone(),
            (None, Some(v)) => Some(v.clone()),
            (None, None) => None,
        };
        if let Some(value) = value {
            out.push(ParamValue {
                name: p.name.clone(),
                value,
            });
        }
    }
    missing
}
