//! `steps` templates: a `Steps` node, one `StepGroup` node `name[i]` per group run in order,
//! the steps of a group (and their loop children `step(j:item)`) run in parallel.

use std::sync::Arc;

use futures::future::BoxFuture;

use super::children::{failed_child, finish_with_outputs, unhandled, Children, FailFast, Started};
use super::invoke::{Prepared, FAIL_FAST_MSG};
use super::{Call, Outcome, RunCtx};
use crate::model::StepLike;
use crate::state::NewNode;
use crate::status::{NodeInputs, NodeType, Phase};
use crate::template::Scope;

/// The nodes one step of a group turned into (slots of `Slots`).
enum Planned {
    Single(usize),
    Loop(Vec<usize>),
}

/// The outcomes of one group's nodes, in the order they were started.
#[derive(Default)]
struct Slots {
    done: Vec<Option<Outcome>>,
    running: Vec<BoxFuture<'static, (usize, Outcome)>>,
}

impl Slots {
    fn launch(&mut self, p: Prepared) -> usize {
        match p {
            Prepared::Done(o) => self.settled(o),
            Prepared::Run(f) => {
                let slot = self.done.len();
                self.done.push(None);
                self.running.push(Box::pin(async move { (slot, f.await) }));
                slot
            }
        }
    }

    fn settled(&mut self, o: Outcome) -> usize {
        self.done.push(Some(o));
        self.done.len() - 1
    }

    /// Runs the group's nodes together; their outcomes by slot.
    async fn join(mut self) -> Vec<Outcome> {
        for (slot, o) in futures::future::join_all(self.running).await {
            self.done[slot] = Some(o);
        }
        self.done.into_iter().flatten().collect()
    }
}

pub async fn run(
    ctx: Arc<RunCtx>,
    name: &str,
    display: &str,
    call: &Call,
    inputs: Option<NodeInputs>,
    mut scope: Scope,
) -> Outcome {
    let id = ctx.start_group_node(name, display, call, inputs, NodeType::Steps);
    let t = call.resolved.template.clone();
    let fail_fast = (t.fail_fast == Some(true)).then(FailFast::default);
    let children = Children::new(&ctx, call, &id, "steps", fail_fast.clone());
    let groups = t.steps.clone().unwrap_or_default();
    let mut prev_outbound: Vec<String> = Vec::new();
    let mut failure: Option<String> = None;
    for (i, group) in groups.iter().enumerate() {
        let gname = format!("{name}[{i}]");
        let gid = open_group(&ctx, &gname, i, &t.name, &id, &prev_outbound);
        let (outbound, mut group_failure) =
            run_group(&children, &gid, &gname, group, &mut scope).await;
        prev_outbound = outbound;
        if group_failure.is_some() && fail_fast.as_ref().is_some_and(FailFast::tripped) {
            group_failure = Some(FAIL_FAST_MSG.to_string());
        }
        match group_failure {
            Some(msg) => {
                ctx.shared.finish(&gid, Phase::Failed, Some(msg.clone()));
                failure = Some(msg);
                break;
            }
            None => ctx.shared.finish(&gid, Phase::Succeeded, None),
        }
    }
    ctx.daemons.end_scope(&ctx.shared, Some(&id)).await;
    ctx.shared
        .with_node(&id, |n| n.outbound_nodes = prev_outbound.clone());
    if let Some(msg) = failure {
        ctx.shared.finish(&id, Phase::Failed, Some(msg.clone()));
        let mut o = Outcome::new(&id, Phase::Failed, Some(msg));
        o.outbound = prev_outbound;
        return o;
    }
    finish_with_outputs(&ctx, &id, &t, &scope, prev_outbound)
}

/// Creates the Running `StepGroup` node `[i]`, hung from the previous group's leaves; its id.
fn open_group(
    ctx: &RunCtx,
    gname: &str,
    i: usize,
    template: &str,
    steps_id: &str,
    prev_outbound: &[String],
) -> String {
    let gid = ctx.id(gname);
    ctx.shared.create_node(NewNode {
        id: &gid,
        name: gname,
        display: &format!("[{i}]"),
        node_type: NodeType::StepGroup,
        template: Some(template),
        boundary: Some(steps_id),
        phase: Phase::Running,
        message: None,
    });
    if i == 0 {
        ctx.shared.add_child(steps_id, &gid);
    } else {
        for o in prev_outbound {
            ctx.shared.add_child(o, &gid);
        }
    }
    gid
}

/// Runs the steps of one group in parallel and settles them: the group's leaves, and the
/// message it fails with if a step failed unhandled.
async fn run_group(
    children: &Children<'_>,
    gid: &str,
    gname: &str,
    group: &[StepLike],
    scope: &mut Scope,
) -> (Vec<String>, Option<String>) {
    let mut slots = Slots::default();
    let plans: Vec<Planned> = group
        .iter()
        .map(|step| start_step(children, gid, gname, step, scope, &mut slots))
        .collect();
    let done = slots.join().await;
    let failure = settle_group(children, gid, group, &plans, &done, scope);
    (
        done.iter().flat_map(|o| o.outbound.clone()).collect(),
        failure,
    )
}

/// Starts one step of group `gid` (its loop children, if a loop) into `slots`.
fn start_step(
    children: &Children<'_>,
    gid: &str,
    gname: &str,
    step: &StepLike,
    scope: &Scope,
    slots: &mut Slots,
) -> Planned {
    let ctx = children.ctx;
    let sname = format!("{gname}.{}", step.call.name);
    let display = &step.call.name;
    match children.start(step, &sname, display, scope, || gid.to_string()) {
        Ok(Started::Single(p)) => {
            ctx.shared.add_child(gid, &ctx.id(&sname));
            Planned::Single(slots.launch(p))
        }
        Ok(Started::Loop(c)) if c.is_empty() => {
            let o = children.skipped(&sname, display, "Skipped, empty params");
            ctx.shared.add_child(gid, &o.id);
            Planned::Single(slots.settled(o))
        }
        Ok(Started::Loop(c)) => Planned::Loop(c.into_iter().map(|p| slots.launch(p)).collect()),
        Err(e) => {
            let o = children.errored(&sname, display, &e.to_string());
            ctx.shared.add_child(gid, &o.id);
            Planned::Single(slots.settled(o))
        }
    }
}

/// Settles every step of a finished group into `scope`; the first unhandled failure.
fn settle_group(
    children: &Children<'_>,
    gid: &str,
    group: &[StepLike],
    plans: &[Planned],
    done: &[Outcome],
    scope: &mut Scope,
) -> Option<String> {
    let mut failure = None;
    for (step, plan) in group.iter().zip(plans) {
        let c = step.call.continue_on.unwrap_or_default();
        match plan {
            Planned::Single(k) => {
                let o = &done[*k];
                if failure.is_none() && unhandled(c, o) {
                    failure = Some(failed_child(&o.id));
                }
                children.settle(scope, step, o, None);
            }
            Planned::Loop(slots) => {
                let loop_children: Vec<Outcome> = slots.iter().map(|k| done[*k].clone()).collect();
                let mut bad = loop_children.iter().filter(|o| unhandled(c, o)).peekable();
                if failure.is_none() {
                    failure = bad.peek().map(|o| failed_child(&o.id));
                }
                // The loop's status is its last unhandled failure (the DAG's task group takes
                // the first); kept as it was.
                let phase = bad.last().map_or(Phase::Succeeded, |o| o.phase);
                let aggregate = Outcome::new(gid, phase, None);
                children.settle(scope, step, &aggregate, Some(&loop_children));
            }
        }
    }
    failure
}
