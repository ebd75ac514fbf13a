//! `containerSet` templates: one `Pod` node whose containers run as processes sharing the
//! pod's work dir and `/tmp`, each as a `Container` child node `<pod>.<container>`, started
//! once its `dependencies` succeeded (as Argo's emissary waits for them); a container whose
//! dependency failed does not run and fails. The container named `main` gives the template
//! its `result`, `exitCode` and output parameters; any failed container fails the pod.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};

use super::containers::{spec_for, PodDirs};
use super::pod::{finish_pod, output_parameters, trim_newline};
use super::process::{self, Finished};
use super::{Call, Outcome, RunCtx};
use crate::error::EngineError;
use crate::model::{ContainerNode, ContainerSet, Template};
use crate::state::NewNode;
use crate::status::{NodeInputs, NodeOutputs, NodeType, Phase};
use crate::template::Scope;

/// How one container ended.
struct Ended {
    phase: Phase,
    message: Option<String>,
    done: Option<Finished>,
}

fn substituted(t: &Template, scope: &Scope) -> Result<Template, EngineError> {
    let mut v = serde_json::to_value(t).map_err(|e| EngineError::Internal(e.to_string()))?;
    if let serde_json::Value::Object(m) = &mut v {
        for key in ["containerSet", "outputs"] {
            if let Some(x) = m.get_mut(key) {
                scope.substitute_value(x)?;
            }
        }
    }
    serde_json::from_value(v).map_err(|e| EngineError::Internal(e.to_string()))
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
    ctx.shared.create_node(NewNode {
        id: &id,
        name,
        display,
        node_type: NodeType::Pod,
        template: Some(&call.resolved.template.name),
        boundary: call.boundary.as_deref(),
        phase: Phase::Pending,
        message: None,
    });
    if inputs.is_some() {
        ctx.shared.with_node(&id, |n| n.inputs = inputs);
    }
    let t = match substituted(&call.resolved.template, &scope) {
        Ok(t) => t,
        Err(e) => {
            ctx.shared.finish(&id, Phase::Error, Some(e.to_string()));
            return Outcome::new(&id, Phase::Error, Some(e.to_string()));
        }
    };
    let cs = t.container_set.clone().unwrap_or_default();
    let _permit = match &ctx.pod_limit {
        Some(sem) => sem.clone().acquire_owned().await.ok(),
        None => None,
    };
    let _volumes = ctx.k8s.pod_volumes(&id);
    let mounts = match set_mounts(ctx, &id, &t, &cs) {
        Ok(m) => m,
        Err(e) => {
            ctx.shared.finish(&id, Phase::Error, Some(e.to_string()));
            return Outcome::new(&id, Phase::Error, Some(e.to_string()));
        }
    };
    let dirs = PodDirs {
        work: ctx.run_dir.join("work").join(&id),
        tmp: ctx.run_dir.join("tmp").join(&id),
        mounts,
    };
    create_container_nodes(ctx, (name, &id, &t.name), &cs);
    ctx.shared.with_node(&id, |n| n.phase = Phase::Running);
    let ended = run_graph(ctx, name, &id, &cs, &dirs).await;
    let main = ended.get("main");
    let mut outputs = NodeOutputs {
        result: main
            .and_then(|e| e.done.as_ref())
            .map(|d| trim_newline(&String::from_utf8_lossy(&d.stdout))),
        exit_code: main
            .and_then(|e| e.done.as_ref())
            .map(|d| d.exit_code.to_string()),
        ..Default::default()
    };
    let failed = cs
        .containers
        .iter()
        .filter_map(|c| ended.get(&c.name))
        .find(|e| e.phase.is_failure());
    let (mut phase, mut message) = match failed {
        Some(e) => (e.phase, e.message.clone()),
        None => (Phase::Succeeded, None),
    };
    let params = &mut outputs.parameters;
    let fs = super::node_fs::NodeFs {
        work: &dirs.work,
        tmp: &dirs.tmp,
        private_tmp: ctx.private_tmp,
        mounts: &dirs.mounts,
        layer: None,
    };
    let missing = output_parameters(&t, &fs, params).await;
    if let (Some(msg), Phase::Succeeded) = (missing, phase) {
        (phase, message) = (Phase::Error, Some(msg));
    }
    finish_pod(ctx, id.clone(), phase, message, outputs)
}

/// The volumes of `containerSet.volumeMounts`, mounted into every container (created now).
fn set_mounts(
    ctx: &RunCtx,
    id: &str,
    t: &Template,
    cs: &ContainerSet,
) -> Result<Vec<super::sandbox::Bind>, EngineError> {
    let Some(mounts) = cs.extra.get("volumeMounts") else {
        return Ok(Vec::new());
    };
    if ctx.sandbox.is_none() {
        return Err(EngineError::unsupported(
            format!("spec.templates[{}].containerSet.volumeMounts", t.name),
            "mounting a volume needs the step sandbox (root or user namespaces), which this host does not offer",
        ));
    }
    // The volumes module reads a pod's mounts from its container: one standing for the set.
    let mut pod = t.clone();
    pod.container_set = None;
    let mut c = crate::model::Container::default();
    c.extra.insert("volumeMounts".into(), mounts.clone());
    pod.container = Some(c);
    let binds = ctx.k8s.binds(id, &pod)?;
    crate::volumes::mount_points::create(&binds)?;
    Ok(binds)
}

/// The `Container` nodes, Pending, named after the pod's template and hung as Argo does:
/// roots under the pod, the others under their dependencies.
fn create_container_nodes(
    ctx: &RunCtx,
    (pod_name, pod_id, template): (&str, &str, &str),
    cs: &ContainerSet,
) {
    for c in &cs.containers {
        let cname = format!("{pod_name}.{}", c.name);
        let cid = ctx.id(&cname);
        ctx.shared.create_node(NewNode {
            id: &cid,
            name: &cname,
            display: &c.name,
            node_type: NodeType::Container,
            template: Some(template),
            boundary: Some(pod_id),
            phase: Phase::Pending,
            message: None,
        });
        if c.dependencies.is_empty() {
            ctx.shared.add_child(pod_id, &cid);
        }
        for d in &c.dependencies {
            ctx.shared
                .add_child(&ctx.id(&format!("{pod_name}.{d}")), &cid);
        }
    }
}

/// Runs the containers by their dependencies; how each ended, by name.
async fn run_graph(
    ctx: &Arc<RunCtx>,
    pod_name: &str,
    pod_id: &str,
    cs: &ContainerSet,
    dirs: &PodDirs,
) -> HashMap<String, Ended> {
    let mut ended: HashMap<String, Ended> = HashMap::new();
    let mut started = vec![false; cs.containers.len()];
    let mut running: FuturesUnordered<BoxFuture<'_, (String, Ended)>> = FuturesUnordered::new();
    loop {
        for (i, c) in cs.containers.iter().enumerate() {
            if started[i] || !c.dependencies.iter().all(|d| ended.contains_key(d)) {
                continue;
            }
            started[i] = true;
            let cid = ctx.id(&format!("{pod_name}.{}", c.name));
            let bad_dep = c.dependencies.iter().find_map(|d| {
                let e = &ended[d];
                e.phase.is_failure().then(|| dependency_failed(d, e))
            });
            if let Some(msg) = bad_dep {
                ctx.shared.finish(&cid, Phase::Failed, Some(msg.clone()));
                let e = Ended {
                    phase: Phase::Failed,
                    message: Some(format!("{}: {msg}", c.name)),
                    done: None,
                };
                ended.insert(c.name.clone(), e);
                continue;
            }
            let retry = cs.retry_strategy.as_ref();
            let fut = run_container(ctx, pod_id, cid, c, dirs, retry);
            running.push(Box::pin(async move { (c.name.clone(), fut.await) }));
        }
        let Some((name, e)) = running.next().await else {
            break;
        };
        ended.insert(name, e);
    }
    ended
}

fn dependency_failed(dep: &str, e: &Ended) -> String {
    let code = e.done.as_ref().map_or(1, |d| d.exit_code);
    format!("dependency \"{dep}\" exited with non-zero code: {code}")
}

/// Runs container `c` as node `cid`, again after a failure as its retry strategy allows.
async fn run_container(
    ctx: &Arc<RunCtx>,
    pod_id: &str,
    cid: String,
    c: &ContainerNode,
    dirs: &PodDirs,
    retry: Option<&crate::model::ContainerSetRetry>,
) -> Ended {
    let retries = retry
        .and_then(|r| r.retries.as_deref())
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or(0);
    let pause = retry
        .and_then(|r| r.duration.as_deref())
        .and_then(super::node::parse_duration)
        .unwrap_or(Duration::ZERO);
    let spec = || spec_for(ctx, pod_id, &cid, &c.container, dirs);
    ctx.shared.with_node(&cid, |n| {
        n.phase = Phase::Running;
        n.image = c.container.image.clone();
    });
    let mut attempt = 0;
    let done = loop {
        let done = match spec() {
            Ok(s) => process::run(s, ctx.shared.clone()).await,
            Err(e) => {
                ctx.shared.finish(&cid, Phase::Error, Some(e.to_string()));
                let message = Some(format!("{}: {e}", c.name));
                return Ended {
                    phase: Phase::Error,
                    message,
                    done: None,
                };
            }
        };
        let ok = done.error.is_none() && done.exit_code == 0;
        if ok || attempt >= retries {
            break done;
        }
        attempt += 1;
        tokio::time::sleep(pause).await;
    };
    let (phase, message) = match (&done.error, done.exit_code) {
        (Some(e), _) => (Phase::Error, Some(e.clone())),
        (None, 0) => (Phase::Succeeded, None),
        (None, code) => (Phase::Failed, Some(format!("Error (exit code {code})"))),
    };
    ctx.shared.finish(&cid, phase, message.clone());
    Ended {
        phase,
        message: message.map(|m| format!("{}: {m}", c.name)),
        done: Some(done),
    }
}
