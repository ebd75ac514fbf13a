//! DAG assessment: what a finished dependency looks like to `depends`, the phase a target
//! task's branch ends in (Argo's `assessDAGPhase`), and completing the DAG node.

use super::children::finish_with_outputs;
use super::dag::{Graph, TaskDone};
use super::depends::DepState;
use super::invoke::FAIL_FAST_MSG;
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

/// The phase a task's branch ends in (Argo's `assessDAGPhase`): its own when it ran, an
/// omitted task's inherited from the first failed branch above it; `None` if never started.
fn branch_phase(i: usize, graph: &Graph<'_>, done: &[Option<TaskDone>]) -> Option<Phase> {
    let td = done[i].as_ref()?;
    Some(match td.outcome.phase {
        Phase::Omitted => graph.deps[i]
            .iter()
            .filter_map(|d| branch_phase(*d, graph, done))
            .find(|p| p.is_failure())
            .unwrap_or(Phase::Succeeded),
        p => p,
    })
}

/// The first target task whose branch failed in a way its `continueOn` does not allow: its
/// index and the branch's phase.
pub(super) fn failed_target(
    graph: &Graph<'_>,
    done: &[Option<TaskDone>],
) -> Option<(usize, Phase)> {
    graph.targets.iter().find_map(|i| {
        let phase = branch_phase(*i, graph, done)?;
        let c = graph.tasks[*i].call.continue_on.unwrap_or_default();
        let allowed = match phase {
            Phase::Failed => c.failed,
            Phase::Error => c.error,
            _ => true,
        };
        (!allowed).then_some((*i, phase))
    })
}

/// Completes DAG node `id` once no task runs: its leaves (those of its target tasks), then
/// Failed when the template's `failFast` stopped it, Error if a needed task never became
/// runnable, the phase of the first failed target branch, else Succeeded with the template's
/// outputs.
pub(super) fn finish(
    ctx: &RunCtx,
    id: &str,
    t: &crate::model::Template,
    scope: &Scope,
    graph: &Graph<'_>,
    done: &[Option<TaskDone>],
    stopped_by_template: bool,
) -> Outcome {
    let outbound: Vec<String> = graph
        .targets
        .iter()
        .filter_map(|i| done[*i].as_ref())
        .flat_map(|d| d.outcome.outbound.clone())
        .collect();
    ctx.shared
        .with_node(id, |n| n.outbound_nodes = outbound.clone());
    let fail = |phase: Phase, msg: String| {
        ctx.shared.finish(id, phase, Some(msg.clone()));
        let mut o = Outcome::new(id, phase, Some(msg));
        o.outbound = outbound.clone();
        o
    };
    if stopped_by_template {
        return fail(Phase::Failed, FAIL_FAST_MSG.to_string());
    }
    if let Some((i, phase)) = failed_target(graph, done) {
        let failed = done
            .iter()
            .flatten()
            .find(|d| d.outcome.phase.is_failure())
            .map_or_else(
                || ctx.id(&graph.tasks[i].call.name),
                |d| d.outcome.id.clone(),
            );
        return fail(phase, super::children::failed_child(&failed));
    }
    if let Some(i) = (0..graph.tasks.len()).find(|i| graph.needed[*i] && done[*i].is_none()) {
        let msg = format!(
            "task `{}` never became runnable (dependency cycle?)",
            graph.tasks[i].call.name
        );
        return fail(Phase::Error, msg);
    }
    finish_with_outputs(ctx, id, t, scope, outbound)
}
