//! `suspend` templates and resuming: a `Suspend` node stays Running until its `duration` has
//! passed or the run is resumed (`RunHandle::resume`, Argo's `argo resume`), then Succeeds
//! with its `valueFrom.supplied` outputs (given on resume, else their defaults). A workflow
//! with `spec.suspend: true` (from the start, or set by `argo suspend` while it runs) starts
//! no new pod until it is resumed.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use chrono::Utc;
use tokio::sync::watch;

use super::{Call, Outcome, RunCtx};
use crate::error::EngineError;
use crate::model::Template;
use crate::state::{NewNode, Shared};
use crate::status::{NodeInputs, NodeOutputs, NodeType, ParamValue, Phase};
use crate::template::Scope;

/// An output parameter a suspend node is given when resumed (`valueFrom.supplied`).
#[derive(Debug, Clone)]
struct Supplied {
    name: String,
    default: Option<String>,
}

/// What a run's suspended parts wait on; `RunHandle::resume` wakes them.
#[derive(Debug)]
pub struct Resumes {
    /// Bumped on every resume: waiters then read whether their node was settled.
    tx: watch::Sender<u64>,
    /// `spec.suspend: true` and not resumed yet.
    workflow: AtomicBool,
    /// The supplied outputs of each waiting suspend node, by node id.
    waiting: Mutex<BTreeMap<String, Vec<Supplied>>>,
}

impl Resumes {
    pub fn new(workflow_suspended: bool) -> Arc<Self> {
        Arc::new(Self {
            tx: watch::channel(0).0,
            workflow: AtomicBool::new(workflow_suspended),
            waiting: Mutex::new(BTreeMap::new()),
        })
    }

    fn waiting(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Vec<Supplied>>> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits while the workflow itself is suspended (`spec.suspend: true`).
    pub async fn wait_workflow(&self) {
        let mut rx = self.tx.subscribe();
        while self.workflow.load(Ordering::SeqCst) {
            if rx.changed().await.is_err() {
                return std::future::pending().await;
            }
        }
    }

    /// Resumes the workflow and every suspend node waiting, as `argo resume` does; `values`
    /// are supplied output parameters (`argo node set -p name=value`). How many nodes were
    /// resumed; an error when nothing was suspended or an output would have no value.
    pub fn resume(
        &self,
        shared: &Shared,
        values: &[(String, String)],
    ) -> Result<usize, EngineError> {
        let waiting = self.waiting();
        let resumed = shared.update(|s| -> Result<usize, EngineError> {
            let active: Vec<(&String, &Vec<Supplied>)> = waiting
                .iter()
                .filter(|(id, _)| {
                    s.status
                        .nodes
                        .get(*id)
                        .is_some_and(|n| n.is_active_suspend())
                })
                .collect();
            for (name, _) in values {
                if !active
                    .iter()
                    .any(|(_, sup)| sup.iter().any(|p| &p.name == name))
                {
                    return Err(EngineError::Invalid(format!(
                        "no suspended node has a supplied output parameter `{name}`"
                    )));
                }
            }
            let mut settled = Vec::new();
            for (id, supplied) in &active {
                settled.push(((*id).clone(), outputs_of(supplied, values)?));
            }
            let now = Utc::now();
            for (id, parameters) in settled.iter().cloned() {
                if let Some(n) = s.status.nodes.get_mut(&id) {
                    n.phase = Phase::Succeeded;
                    n.finished_at = Some(now);
                    n.outputs = (!parameters.is_empty()).then(|| NodeOutputs {
                        parameters,
                        ..NodeOutputs::default()
                    });
                }
            }
            Ok(settled.len())
        })?;
        let workflow = self.workflow.swap(false, Ordering::SeqCst);
        if resumed == 0 && !workflow {
            return Err(EngineError::NotSuspended);
        }
        self.tx.send_modify(|g| *g += 1);
        Ok(resumed)
    }

    /// `argo suspend`: from now on nothing new starts until a resume (what runs goes on);
    /// false when it was suspended already.
    pub fn suspend_workflow(&self) -> bool {
        let was = self.workflow.swap(true, Ordering::SeqCst);
        self.tx.send_modify(|g| *g += 1);
        !was
    }

    /// Ends a workflow-level suspension without resuming suspend nodes (a stopped run's exit
    /// handler must start).
    pub fn release_workflow(&self) {
        if self.workflow.swap(false, Ordering::SeqCst) {
            self.tx.send_modify(|g| *g += 1);
        }
    }

    /// Whether anything of the run waits for a resume.
    pub fn is_suspended(&self, shared: &Shared) -> bool {
        self.workflow.load(Ordering::SeqCst)
            || shared.read(|s| s.status.nodes.values().any(|n| n.is_active_suspend()))
    }
}

/// The values of `supplied` outputs: given in `values`, else their default.
fn outputs_of(
    supplied: &[Supplied],
    values: &[(String, String)],
) -> Result<Vec<ParamValue>, EngineError> {
    supplied
        .iter()
        .map(|p| {
            let given = values.iter().find(|(n, _)| n == &p.name).map(|(_, v)| v);
            let value = given.or(p.default.as_ref()).ok_or_else(|| {
                EngineError::Invalid(format!(
                    "raw output parameter '{}' has not been set and does not have a default value",
                    p.name
                ))
            })?;
            Ok(ParamValue {
                name: p.name.clone(),
                value: value.clone(),
            })
        })
        .collect()
}

/// The `valueFrom.supplied` outputs of `t`; a missing default falls back, as in Argo, to the
/// default of the input parameter of the same name.
fn supplied_outputs(t: &Template, scope: &Scope) -> Result<Vec<Supplied>, EngineError> {
    let inputs = t.inputs.iter().flat_map(|i| i.parameters.iter());
    let input_default = |name: &str| {
        inputs
            .clone()
            .find(|p| p.name == name)
            .and_then(|p| p.default.clone())
    };
    let mut out = Vec::new();
    for p in t.outputs.iter().flat_map(|o| o.parameters.iter()) {
        let Some(vf) = p.value_from.as_ref().filter(|vf| vf.supplied.is_some()) else {
            continue;
        };
        let default = match vf.default.clone().or_else(|| input_default(&p.name)) {
            Some(d) => Some(scope.substitute(&d)?),
            None => None,
        };
        out.push(Supplied {
            name: p.name.clone(),
            default,
        });
    }
    Ok(out)
}

/// Argo's suspend duration: whole seconds without a unit, else a Go duration (`20s`, `2m`).
pub fn parse_suspend_duration(text: &str) -> Result<std::time::Duration, EngineError> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(std::time::Duration::from_secs(secs));
    }
    let unit = text.ends_with(|c: char| c.is_ascii_alphabetic());
    super::node::parse_duration(text)
        .filter(|_| unit)
        .ok_or_else(|| EngineError::Invalid(format!("unable to parse {text} as a duration")))
}

/// Unregisters a suspend node when its future ends or is dropped (stopped, timed out).
struct Registered<'a> {
    resumes: &'a Resumes,
    id: String,
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        self.resumes.waiting().remove(&self.id);
    }
}

/// Runs a `suspend` template as node `name`.
pub async fn run(
    ctx: &Arc<RunCtx>,
    name: &str,
    display: &str,
    call: &Call,
    inputs: Option<NodeInputs>,
    scope: Scope,
) -> Outcome {
    let id = ctx.id(name);
    let t = &call.resolved.template;
    // Subscribed before the node shows as suspended: a resume cannot slip in between.
    let mut rx = ctx.resumes.tx.subscribe();
    let planned = supplied_outputs(t, &scope).and_then(|supplied| {
        let duration = t.suspend.as_ref().and_then(|s| s.duration.as_deref());
        let duration = duration
            .map(|d| scope.substitute(d).and_then(|d| parse_suspend_duration(&d)))
            .transpose()?;
        Ok((supplied, duration))
    });
    let (phase, message) = match &planned {
        Ok(_) => (Phase::Running, None),
        Err(e) => (Phase::Error, Some(e.to_string())),
    };
    ctx.shared.create_node(NewNode {
        id: &id,
        name,
        display,
        node_type: NodeType::Suspend,
        template: Some(&t.name),
        boundary: call.boundary.as_deref(),
        phase,
        message: message.clone(),
    });
    if inputs.is_some() {
        ctx.shared.with_node(&id, |n| n.inputs = inputs);
    }
    let Ok((supplied, duration)) = planned else {
        return Outcome::new(&id, phase, message);
    };
    ctx.resumes.waiting().insert(id.clone(), supplied.clone());
    let _registered = Registered {
        resumes: &ctx.resumes,
        id: id.clone(),
    };
    tracing::info!(node = %name, ?duration, "node suspended");
    let expiry = async {
        match duration {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(expiry);
    loop {
        if let Some(done) = settled(&ctx.shared, &id) {
            return done;
        }
        tokio::select! {
            () = &mut expiry => expire(&ctx.shared, &id, &supplied),
            changed = rx.changed() => if changed.is_err() {
                return std::future::pending().await;
            },
        }
    }
}

/// The outcome of node `id` once a resume or its expiry settled it.
fn settled(shared: &Shared, id: &str) -> Option<Outcome> {
    shared.read(|s| {
        let n = s.status.nodes.get(id).filter(|n| n.phase.is_done())?;
        Some(Outcome {
            id: id.to_string(),
            phase: n.phase,
            message: n.message.clone(),
            outputs: n.outputs.clone().unwrap_or_default(),
            outbound: vec![id.to_string()],
        })
    })
}

/// The duration passed: the node resumes itself with its outputs' defaults (an Error when an
/// output has none), unless a resume came first.
fn expire(shared: &Shared, id: &str, supplied: &[Supplied]) {
    shared.update(|s| {
        let Some(n) = s.status.nodes.get_mut(id).filter(|n| n.is_active_suspend()) else {
            return;
        };
        match outputs_of(supplied, &[]) {
            Ok(parameters) => {
                n.phase = Phase::Succeeded;
                n.outputs = (!parameters.is_empty()).then(|| NodeOutputs {
                    parameters,
                    ..NodeOutputs::default()
                });
            }
            Err(e) => {
                n.phase = Phase::Error;
                n.message = Some(e.to_string());
            }
        }
        n.finished_at = Some(Utc::now());
    });
}

/// Checks a template's `suspend` and its `valueFrom.supplied` outputs, which only a suspend
/// template is given; a suspend template's outputs can only be supplied.
pub fn validate(path: &str, t: &Template) -> Result<(), EngineError> {
    if let Some(s) = &t.suspend {
        if let Some(k) = s.extra.keys().next() {
            return Err(EngineError::unsupported(
                format!("{path}.suspend.{k}"),
                "not supported by the local engine",
            ));
        }
        if let Some(d) = s.duration.as_deref().filter(|d| !d.contains("{{")) {
            parse_suspend_duration(d)
                .map_err(|e| EngineError::Invalid(format!("{path}.suspend.duration: {e}")))?;
        }
    }
    for p in t.outputs.iter().flat_map(|o| o.parameters.iter()) {
        let supplied = p.value_from.as_ref().is_some_and(|v| v.supplied.is_some());
        let here = format!("{path}.outputs.parameters[{}]", p.name);
        match (t.suspend.is_some(), supplied) {
            (false, true) => {
                return Err(EngineError::unsupported(
                    format!("{here}.valueFrom.supplied"),
                    "only a suspend template's outputs can be supplied",
                ))
            }
            (true, false) => {
                return Err(EngineError::unsupported(
                    here,
                    "a suspend template's outputs must be `valueFrom.supplied`",
                ))
            }
            _ => {}
        }
    }
    Ok(())
}
