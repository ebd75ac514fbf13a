//! `steps` templates: a `Steps` node, one `StepGroup` node `name[i]` per group run in order,
//! the steps of a group (and their loop children `step(j:item)`) run in parallel.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::Semaphore;

use super::invoke::{prepare, Place, Prepared};
use super::{loops, outputs, Call, Outcome, RunCtx};
use crate::model::StepLike;
use crate::state::NewNode;
use crate::status::{NodeInputs, NodeType, Phase};
use crate::template::Scope;

/// The nodes one step of a group turned into.
enum Planned {
    Single(usize),
    Loop(Vec<usize>),
}

fn failed_unhandled(step: &StepLike, o: &Outcome) -> bool {
    let c = step.call.continue_on.unwrap_or_default();
    match o.phase {
        Phase::Failed => !c.failed,
        Phase::Error => !c.error,
        _ => false,
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
    let limit = t
        .parallelism
        .and_then(|p| usize::try_from(p).ok())
        .filter(|p| *p > 0)
        .map(|p| Arc::new(Semaphore::new(p)));
    let fail_fast = (t.fail_fast == Some(true)).then(|| Arc::new(AtomicBool::new(false)));
    let groups = t.steps.clone().unwrap_or_default();
    let mut prev_outbound: Vec<String> = Vec::new();
    let mut failure: Option<String> = None;
    for (i, group) in groups.iter().enumerate() {
        let gname = format!("{name}[{i}]");
        let gid = ctx.id(&gname);
        ctx.shared.create_node(NewNode {
            id: &gid,
            name: &gname,
            display: &format!("[{i}]"),
            node_type: NodeType::StepGroup,
            template: Some(&t.name),
            boundary: Some(&id),
            phase: Phase::Running,
            message: None,
        });
        if i == 0 {
            ctx.shared.add_child(&id, &gid);
        } else {
            for o in &prev_outbound {
                ctx.shared.add_child(o, &gid);
            }
        }
        let mut done: Vec<Option<Outcome>> = Vec::new();
        let mut running = Vec::new();
        let mut plans = Vec::new();
        for step in group {
            let sname = format!("{gname}.{}", step.call.name);
            let place = |n: String, d: String| Place {
                name: n,
                display: d,
                boundary: id.clone(),
                origin: call.resolved.origin.clone(),
                limit: limit.clone(),
                kind: "steps",
                fail_fast: fail_fast.clone(),
            };
            let mut launch = |p: Prepared, done: &mut Vec<Option<Outcome>>| {
                let slot = done.len();
                match p {
                    Prepared::Done(o) => done.push(Some(o)),
                    Prepared::Run(f) => {
                        done.push(None);
                        running.push(async move { (slot, f.await) });
                    }
                }
                slot
            };
            match loops::items(&step.call, &scope) {
                Ok(None) => {
                    let p = prepare(
                        &ctx,
                        step,
                        place(sname.clone(), step.call.name.clone()),
                        &scope,
                    );
                    ctx.shared.add_child(&gid, &ctx.id(&sname));
                    plans.push(Planned::Single(launch(p, &mut done)));
                }
                Ok(Some(items)) if items.is_empty() => {
                    let o = skipped(&ctx, &sname, &step.call.name, &id, "Skipped, empty params");
                    ctx.shared.add_child(&gid, &o.id);
                    done.push(Some(o));
                    plans.push(Planned::Single(done.len() - 1));
                }
                Ok(Some(items)) => {
                    let mut slots = Vec::new();
                    for (j, item) in items.iter().enumerate() {
                        let cname = loops::child_name(&sname, j, item);
                        let cdisplay = loops::child_name(&step.call.name, j, item);
                        let mut s = scope.clone();
                        s.set_item(item);
                        ctx.shared.add_child(&gid, &ctx.id(&cname));
                        let p = prepare(&ctx, step, place(cname, cdisplay), &s);
                        slots.push(launch(p, &mut done));
                    }
                    plans.push(Planned::Loop(slots));
                }
                Err(e) => {
                    let o = skipped(&ctx, &sname, &step.call.name, &id, "");
                    ctx.shared.finish(&o.id, Phase::Error, Some(e.to_string()));
                    ctx.shared.add_child(&gid, &o.id);
                    done.push(Some(Outcome::new(&o.id, Phase::Error, Some(e.to_string()))));
                    plans.push(Planned::Single(done.len() - 1));
                }
            }
        }
        for (slot, o) in futures::future::join_all(running).await {
            done[slot] = Some(o);
        }
        let done: Vec<Outcome> = done.into_iter().flatten().collect();
        let mut group_failure = None;
        for (step, plan) in group.iter().zip(&plans) {
            match plan {
                Planned::Single(k) => {
                    let o = &done[*k];
                    if group_failure.is_none() && failed_unhandled(step, o) {
                        group_failure = Some(format!("child '{}' failed", o.id));
                    }
                    outputs::add_node(&mut scope, "steps", &step.call.name, o);
                }
                Planned::Loop(slots) => {
                    let children: Vec<Outcome> = slots.iter().map(|k| done[*k].clone()).collect();
                    let mut phase = Phase::Succeeded;
                    for o in &children {
                        if failed_unhandled(step, o) {
                            phase = o.phase;
                            if group_failure.is_none() {
                                group_failure = Some(format!("child '{}' failed", o.id));
                            }
                        }
                    }
                    outputs::add_aggregate(
                        &mut scope,
                        "steps",
                        &step.call.name,
                        &gid,
                        phase,
                        &children,
                    );
                }
            }
        }
        prev_outbound = done.iter().flat_map(|o| o.outbound.clone()).collect();
        if group_failure.is_some() && fail_fast.as_ref().is_some_and(|f| f.load(Ordering::SeqCst)) {
            group_failure = Some(super::invoke::FAIL_FAST_MSG.to_string());
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

pub fn skipped(ctx: &RunCtx, name: &str, display: &str, boundary: &str, msg: &str) -> Outcome {
    let id = ctx.id(name);
    ctx.shared.create_node(NewNode {
        id: &id,
        name,
        display,
        node_type: NodeType::Skipped,
        template: None,
        boundary: Some(boundary),
        phase: Phase::Skipped,
        message: Some(msg.to_string()),
    });
    Outcome::new(&id, Phase::Skipped, Some(msg.to_string()))
}

/// Completes a steps/dag node: its declared outputs, then Succeeded (or Error if they fail).
pub fn finish_with_outputs(
    ctx: &RunCtx,
    id: &str,
    t: &crate::model::Template,
    scope: &Scope,
    outbound: Vec<String>,
) -> Outcome {
    match outputs::template_outputs(t, scope) {
        Ok(out) => {
            let recorded = out.clone();
            ctx.shared.with_node(id, |n| {
                n.outputs = (!recorded.is_empty()).then_some(recorded);
            });
            ctx.shared.finish(id, Phase::Succeeded, None);
            Outcome {
                id: id.to_string(),
                phase: Phase::Succeeded,
                message: None,
                outputs: out,
                outbound,
            }
        }
        Err(e) => {
            ctx.shared.finish(id, Phase::Error, Some(e.to_string()));
            let mut o = Outcome::new(id, Phase::Error, Some(e.to_string()));
            o.outbound = outbound;
            o
        }
    }
}
