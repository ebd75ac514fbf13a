//! DAG assessment: what a finished dependency looks like to `depends`, the phase a target
//! task's branch ends in (Argo's `assessDAGPhase`), and completing the DAG node.

use super::children::finish_with_outputs;
use super::dag::{Graph, TaskDone};
use super::depends::DepState;
use super::{Outcome, RunCtx};
use crate::status::Phase;
use crate::template::Scope;

pub(super) fn dep_state(
    td: &TaskDone,
    task: &crate::model::StepLike,
    shared: &crate::state::Shared,
) -> DepState {
    let daemoned = shared.read(|s| s.status.nodes.get(&td.outcome.id).and_then(|n| n.daemoned));
    DepState {
        phase: td.outcome.phase,
        children: td.children.iter().flatten().map(|c| c.phase).collect(),
        continue_on: task.call.continue_on.unwrap_or_default(),
        daemoned: daemoned == Some(true),
    }
}

/// The phase a target task's branch ends in (Argo's `assessDAGPhase`).
fn branch_phase(i: usize, graph: &Graph<'_>, done: &[Option<TaskDone>]) -> Phase {
    let Some(td) = &done[i] else {
        return Phase::Error;
    };
    let c = graph.tasks[i].call.continue_on.unwrap_or_default();
    match td.outcome.phase {
        Phase::Failed if c.failed => Phase::Succeeded,
        Phase::Error if c.error => Phase::Succeeded,
        Phase::Failed | Phase::Error => td.outcome.phase,
        Phase::Omitted => {
            if !td.created {
                return Phase::Failed;
            }
            graph.deps[i]
                .iter()
                .map(|d| branch_phase(*d, graph, done))
                .find(|p| p.is_failure())
                .unwrap_or(Phase::Succeeded)
        }
        _ => Phase::Succeeded,
    }
}

/// Completes DAG node `id` once no task runs: its leaves (those of its `target` tasks), then
/// Error if a task never became runnable, the phase of the first failed target branch, else
/// Succeeded with the template's outputs.
pub(super) fn finish(
    ctx: &RunCtx,
    id: &str,
    t: &crate::model::Template,
    scope: &Scope,
    graph: &Graph<'_>,
    done: &[Option<TaskDone>],
    target: Option<&str>,
) -> Outcome {
    let (tasks, deps) = (graph.tasks, &graph.deps);
    let targets: Vec<usize> = match target {
        Some(list) => list
            .split([' ', ','])
            .filter_map(|n| tasks.iter().position(|t| t.call.name == n))
            .collect(),
        None => (0..tasks.len())
            .filter(|i| !deps.iter().any(|d| d.contains(i)))
            .collect(),
    };
    let outbound: Vec<String> = targets
        .iter()
        .filter_map(|i| done[*i].as_ref().filter(|d| d.created))
        .flat_map(|d| d.outcome.outbound.clone())
        .collect();
    ctx.shared
        .with_node(id, |n| n.outbound_nodes = outbound.clone());
    if let Some(i) = (0..tasks.len()).find(|i| done[*i].is_none()) {
        let msg = format!(
            "task `{}` never became runnable (dependency cycle?)",
            tasks[i].call.name
        );
        ctx.shared.finish(id, Phase::Error, Some(msg.clone()));
        return Outcome::new(id, Phase::Error, Some(msg));
    }
    for i in &targets {
        let phase = branch_phase(*i, graph, done);
        if phase.is_failure() {
            let failed = done
                .iter()
                .flatten()
                .find(|d| d.outcome.phase.is_failure())
                .map_or_else(|| ctx.id(&tasks[*i].call.name), |d| d.outcome.id.clone());
            let msg = super::children::failed_child(&failed);
            ctx.shared.finish(id, phase, Some(msg.clone()));
            let mut o = Outcome::new(id, phase, Some(msg));
            o.outbound = outbound;
            return o;
        }
    }
    finish_with_outputs(ctx, id, t, scope, outbound)
}
