//! `dag` templates: a `DAG` node whose tasks `name.task` start as soon as their dependencies
//! are done and their `depends` logic holds (else `Omitted`); loop tasks get a `TaskGroup`
//! node; `failFast` stops new tasks after an unhandled failure; the DAG phase follows Argo's
//! target-task rule (an omitted task inherits the failure of the branch above it).

use std::collections::HashMap;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};
use tokio::sync::Semaphore;

use super::dag_phase::{dep_state, finish};
use super::depends::{self, DepState};
use super::invoke::{prepare, Place, Prepared};
use super::steps::skipped;
use super::{loops, outputs, Call, Outcome, RunCtx};
use crate::state::NewNode;
use crate::status::{NodeInputs, NodeType, Phase};
use crate::template::Scope;

pub(super) struct TaskDone {
    pub outcome: Outcome,
    pub children: Option<Vec<Outcome>>,
    /// False for tasks never started because of `failFast`.
    pub created: bool,
}

type Running = FuturesUnordered<BoxFuture<'static, (usize, Outcome, Option<Vec<Outcome>>)>>;

pub async fn run(
    ctx: Arc<RunCtx>,
    name: &str,
    display: &str,
    call: &Call,
    inputs: Option<NodeInputs>,
    mut scope: Scope,
) -> Outcome {
    let id = ctx.start_group_node(name, display, call, inputs, NodeType::Dag);
    let t = call.resolved.template.clone();
    let dag = t.dag.clone().unwrap_or_default();
    let tasks = &dag.tasks;
    let fail_fast = dag.fail_fast.or(t.fail_fast).unwrap_or(true);
    let limit = t
        .parallelism
        .and_then(|p| usize::try_from(p).ok())
        .filter(|p| *p > 0)
        .map(|p| Arc::new(Semaphore::new(p)));
    let index: HashMap<&str, usize> = tasks
        .iter()
        .enumerate()
        .map(|(i, t)| (t.call.name.as_str(), i))
        .collect();
    let deps: Vec<Vec<usize>> = tasks
        .iter()
        .map(|t| {
            depends::dependencies_of(t)
                .iter()
                .filter_map(|d| index.get(d.as_str()).copied())
                .collect()
        })
        .collect();
    let logic: Vec<Option<String>> = tasks.iter().map(depends::logic_of).collect();
    let mut done: Vec<Option<TaskDone>> = (0..tasks.len()).map(|_| None).collect();
    let mut started = vec![false; tasks.len()];
    let mut running: Running = FuturesUnordered::new();
    let mut stop_new = false;
    loop {
        let mut progressed = true;
        while progressed {
            progressed = false;
            for i in 0..tasks.len() {
                if started[i] || !deps[i].iter().all(|d| done[*d].is_some()) {
                    continue;
                }
                started[i] = true;
                progressed = true;
                let task = &tasks[i];
                let tname = format!("{name}.{}", task.call.name);
                let tid = ctx.id(&tname);
                if deps[i].is_empty() {
                    ctx.shared.add_child(&id, &tid);
                }
                for d in &deps[i] {
                    if let Some(TaskDone {
                        outcome,
                        created: true,
                        ..
                    }) = &done[*d]
                    {
                        for o in &outcome.outbound {
                            ctx.shared.add_child(o, &tid);
                        }
                    }
                }
                if let Some(l) = &logic[i] {
                    let states: HashMap<String, DepState> = deps[i]
                        .iter()
                        .filter_map(|d| {
                            done[*d]
                                .as_ref()
                                .map(|td| (tasks[*d].call.name.clone(), dep_state(td, &tasks[*d])))
                        })
                        .collect();
                    match depends::evaluate(l, &states) {
                        Ok(true) => {}
                        Ok(false) => {
                            let o = skipped(
                                &ctx,
                                &tname,
                                &task.call.name,
                                &id,
                                "omitted: depends condition not met",
                            );
                            ctx.shared.finish(&o.id, Phase::Omitted, None);
                            let o = Outcome {
                                phase: Phase::Omitted,
                                ..o
                            };
                            settle(
                                &mut scope,
                                &mut done,
                                tasks,
                                i,
                                TaskDone {
                                    outcome: o,
                                    children: None,
                                    created: true,
                                },
                            );
                            continue;
                        }
                        Err(e) => {
                            let o = errored(&ctx, &tname, &task.call.name, &id, &e.to_string());
                            settle(
                                &mut scope,
                                &mut done,
                                tasks,
                                i,
                                TaskDone {
                                    outcome: o,
                                    children: None,
                                    created: true,
                                },
                            );
                            continue;
                        }
                    }
                }
                if stop_new {
                    settle(
                        &mut scope,
                        &mut done,
                        tasks,
                        i,
                        TaskDone {
                            outcome: Outcome::new(&tid, Phase::Omitted, None),
                            children: None,
                            created: false,
                        },
                    );
                    continue;
                }
                let place = |n: String, d: String| Place {
                    name: n,
                    display: d,
                    boundary: id.clone(),
                    origin: call.resolved.origin.clone(),
                    limit: limit.clone(),
                    kind: "tasks",
                    fail_fast: None,
                };
                match loops::items(&task.call, &scope) {
                    Ok(None) => match prepare(
                        &ctx,
                        task,
                        place(tname.clone(), task.call.name.clone()),
                        &scope,
                    ) {
                        Prepared::Done(o) => settle(
                            &mut scope,
                            &mut done,
                            tasks,
                            i,
                            TaskDone {
                                outcome: o,
                                children: None,
                                created: true,
                            },
                        ),
                        Prepared::Run(f) => {
                            running.push(Box::pin(async move { (i, f.await, None) }))
                        }
                    },
                    Ok(Some(items)) if items.is_empty() => {
                        let msg = "Skipped, empty params";
                        let o = skipped(&ctx, &tname, &task.call.name, &id, msg);
                        let td = TaskDone {
                            outcome: o,
                            children: Some(Vec::new()),
                            created: true,
                        };
                        settle(&mut scope, &mut done, tasks, i, td);
                    }
                    Ok(Some(items)) => {
                        ctx.shared.create_node(NewNode {
                            id: &tid,
                            name: &tname,
                            display: &task.call.name,
                            node_type: NodeType::TaskGroup,
                            template: task.call.template.as_deref(),
                            boundary: Some(&id),
                            phase: Phase::Running,
                            message: None,
                        });
                        let mut futs = Vec::new();
                        let mut early = Vec::new();
                        for (j, item) in items.iter().enumerate() {
                            let cname = loops::child_name(&tname, j, item);
                            let cdisplay = loops::child_name(&task.call.name, j, item);
                            ctx.shared.add_child(&tid, &ctx.id(&cname));
                            let mut s = scope.clone();
                            s.set_item(item);
                            match prepare(&ctx, task, place(cname, cdisplay), &s) {
                                Prepared::Done(o) => early.push((j, o)),
                                Prepared::Run(f) => futs.push(async move { (j, f.await) }),
                            }
                        }
                        let group = ctx.clone();
                        let continue_on = task.call.continue_on.unwrap_or_default();
                        running.push(Box::pin(async move {
                            let mut all = early;
                            all.extend(futures::future::join_all(futs).await);
                            all.sort_by_key(|(j, _)| *j);
                            let children: Vec<Outcome> = all.into_iter().map(|(_, o)| o).collect();
                            let bad = children.iter().find(|o| {
                                (o.phase == Phase::Failed && !continue_on.failed)
                                    || (o.phase == Phase::Error && !continue_on.error)
                            });
                            let (phase, msg) = match bad {
                                Some(o) => (o.phase, Some(format!("child '{}' failed", o.id))),
                                None => (Phase::Succeeded, None),
                            };
                            let mut o = Outcome::new(&tid, phase, msg.clone());
                            o.outbound = children.iter().flat_map(|c| c.outbound.clone()).collect();
                            let outbound = o.outbound.clone();
                            group
                                .shared
                                .with_node(&tid, |n| n.outbound_nodes = outbound);
                            group.shared.finish(&tid, phase, msg);
                            (i, o, Some(children))
                        }));
                    }
                    Err(e) => {
                        let o = errored(&ctx, &tname, &task.call.name, &id, &e.to_string());
                        settle(
                            &mut scope,
                            &mut done,
                            tasks,
                            i,
                            TaskDone {
                                outcome: o,
                                children: None,
                                created: true,
                            },
                        );
                    }
                }
            }
        }
        let Some((i, o, children)) = running.next().await else {
            break;
        };
        let task = &tasks[i];
        let c = task.call.continue_on.unwrap_or_default();
        let unhandled =
            (o.phase == Phase::Failed && !c.failed) || (o.phase == Phase::Error && !c.error);
        if unhandled && fail_fast {
            let handled = logic
                .iter()
                .flatten()
                .any(|l| depends::handles_failure(l, &task.call.name));
            if !handled {
                stop_new = true;
            }
        }
        let td = TaskDone {
            outcome: o,
            children,
            created: true,
        };
        settle(&mut scope, &mut done, tasks, i, td);
    }
    finish(
        &ctx,
        &id,
        &t,
        &scope,
        tasks,
        &deps,
        &done,
        dag.target.as_deref(),
    )
}

/// Records a finished task and its `tasks.<name>.*` variables.
fn settle(
    scope: &mut Scope,
    done: &mut [Option<TaskDone>],
    tasks: &[crate::model::StepLike],
    i: usize,
    td: TaskDone,
) {
    let name = &tasks[i].call.name;
    match &td.children {
        Some(c) => {
            outputs::add_aggregate(scope, "tasks", name, &td.outcome.id, td.outcome.phase, c)
        }
        None => outputs::add_node(scope, "tasks", name, &td.outcome),
    }
    done[i] = Some(td);
}

/// A task that could not be prepared (bad arguments, unknown template): an `Error` node.
fn errored(ctx: &RunCtx, name: &str, display: &str, boundary: &str, error: &str) -> Outcome {
    let outcome = skipped(ctx, name, display, boundary, "");
    ctx.shared
        .finish(&outcome.id, Phase::Error, Some(error.to_owned()));
    Outcome {
        phase: Phase::Error,
        message: Some(error.to_owned()),
        ..outcome
    }
}
