//! `dag` templates: a `DAG` node whose tasks `name.task` start as soon as their dependencies
//! are done and their `depends` logic holds (else `Omitted`); loop tasks get a `TaskGroup`
//! node. As in Argo's controller, every task's `depends` is evaluated whatever failed before
//! it; only two things stop new tasks: `dag.failFast` (default true) once a target task's
//! branch has failed (the DAG's phase is then decided), and the template's own `failFast`
//! once any child failed. Tasks never started get no node. The DAG phase follows Argo's
//! target-task rule (an omitted task inherits the failure of the branch above it).

use std::collections::HashMap;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};

use super::children::{failed_child, unhandled, Children, FailFast, Started};
use super::dag_phase::{dep_state, failed_target, finish};
use super::depends::{self, DepState};
use super::invoke::Prepared;
use super::{Call, Outcome, RunCtx};
use crate::model::{ContinueOn, StepLike};
use crate::state::NewNode;
use crate::status::{NodeInputs, NodeType, Phase};
use crate::template::Scope;

pub(super) struct TaskDone {
    pub outcome: Outcome,
    pub children: Option<Vec<Outcome>>,
}

impl TaskDone {
    fn created(outcome: Outcome, children: Option<Vec<Outcome>>) -> Self {
        TaskDone { outcome, children }
    }
}

/// The tasks of a DAG and what each waits for.
pub(super) struct Graph<'a> {
    pub tasks: &'a [StepLike],
    /// Indices of each task's dependencies.
    pub deps: Vec<Vec<usize>>,
    /// Each task's `depends` expression, if any.
    pub logic: Vec<Option<String>>,
    /// The target tasks (`dag.target`, else the tasks nothing depends on).
    pub targets: Vec<usize>,
    /// Whether a task is a target or a dependency of one: only those run (as in Argo).
    pub needed: Vec<bool>,
}

impl<'a> Graph<'a> {
    fn new(tasks: &'a [StepLike], target: Option<&str>) -> Self {
        let index: HashMap<&str, usize> = tasks
            .iter()
            .enumerate()
            .map(|(i, t)| (t.call.name.as_str(), i))
            .collect();
        let deps = tasks
            .iter()
            .map(|t| {
                depends::dependencies_of(t)
                    .iter()
                    .filter_map(|d| index.get(d.as_str()).copied())
                    .collect()
            })
            .collect();
        let logic = tasks.iter().map(depends::logic_of).collect();
        let mut g = Graph {
            tasks,
            deps,
            logic,
            targets: Vec::new(),
            needed: Vec::new(),
        };
        g.targets = match target {
            Some(list) => list
                .split([' ', ','])
                .filter_map(|n| index.get(n).copied())
                .collect(),
            None => (0..tasks.len())
                .filter(|i| !g.deps.iter().any(|d| d.contains(i)))
                .collect(),
        };
        g.needed = vec![false; tasks.len()];
        let mut todo = g.targets.clone();
        while let Some(i) = todo.pop() {
            if !std::mem::replace(&mut g.needed[i], true) {
                todo.extend(g.deps[i].iter().copied());
            }
        }
        g
    }
}

type TaskFuture = BoxFuture<'static, (usize, Outcome, Option<Vec<Outcome>>)>;

/// One DAG node's run: which tasks started, which are done, which are running.
struct Dag<'a> {
    name: &'a str,
    id: &'a str,
    graph: Graph<'a>,
    children: Children<'a>,
    scope: Scope,
    done: Vec<Option<TaskDone>>,
    started: Vec<bool>,
    running: FuturesUnordered<TaskFuture>,
    /// The template's own `failFast`: tripped by any failed child (also checked by loop
    /// children before they start).
    template_fail_fast: Option<FailFast>,
    /// `dag.failFast`: the DAG fails as soon as a target task's branch has failed.
    dag_fail_fast: bool,
    /// Set once `dag_fail_fast` decided the DAG failed: no new task starts.
    decided_failed: bool,
}

pub async fn run(
    ctx: Arc<RunCtx>,
    name: &str,
    display: &str,
    call: &Call,
    inputs: Option<NodeInputs>,
    scope: Scope,
) -> Outcome {
    let id = ctx.start_group_node(name, display, call, inputs, NodeType::Dag);
    let t = call.resolved.template.clone();
    let dag = t.dag.clone().unwrap_or_default();
    let tasks = &dag.tasks;
    let template_fail_fast = (t.fail_fast == Some(true)).then(FailFast::default);
    let mut d = Dag {
        name,
        id: &id,
        graph: Graph::new(tasks, dag.target.as_deref()),
        children: Children::new(&ctx, call, &id, "tasks", template_fail_fast.clone()),
        scope,
        done: (0..tasks.len()).map(|_| None).collect(),
        started: vec![false; tasks.len()],
        running: FuturesUnordered::new(),
        template_fail_fast,
        dag_fail_fast: dag.fail_fast.unwrap_or(true),
        decided_failed: false,
    };
    loop {
        d.start_ready();
        let Some((i, o, children)) = d.running.next().await else {
            break;
        };
        d.settle(i, TaskDone::created(o, children));
    }
    ctx.daemons.end_scope(&ctx.shared, Some(&id)).await;
    let stopped = d.stopped_by_template();
    finish(&ctx, &id, &t, &d.scope, &d.graph, &d.done, stopped)
}

impl Dag<'_> {
    fn stopped_by_template(&self) -> bool {
        self.template_fail_fast
            .as_ref()
            .is_some_and(FailFast::tripped)
    }

    /// Starts every needed task whose dependencies are all done, until no more become ready
    /// or a `failFast` stops new tasks.
    fn start_ready(&mut self) {
        let mut progressed = true;
        while progressed {
            progressed = false;
            for i in 0..self.graph.tasks.len() {
                if self.decided_failed || self.stopped_by_template() {
                    return;
                }
                if self.started[i]
                    || !self.graph.needed[i]
                    || !self.graph.deps[i].iter().all(|d| self.done[*d].is_some())
                {
                    continue;
                }
                self.started[i] = true;
                progressed = true;
                self.start(i);
            }
        }
    }

    /// Starts ready task `i`, or settles it at once (omitted, errored, skipped by `when`).
    fn start(&mut self, i: usize) {
        let task = &self.graph.tasks[i];
        let tname = format!("{}.{}", self.name, task.call.name);
        let tid = self.children.ctx.id(&tname);
        self.link(i, &tid);
        if let Some(o) = self.blocked_by_depends(i, &tname) {
            self.settle(i, TaskDone::created(o, None));
        } else {
            self.launch(i, &tname, tid);
        }
    }

    /// Hangs task `i` from the DAG node (no dependencies) or from its dependencies' leaves.
    fn link(&self, i: usize, tid: &str) {
        let shared = &self.children.ctx.shared;
        if self.graph.deps[i].is_empty() {
            shared.add_child(self.id, tid);
        }
        for d in &self.graph.deps[i] {
            if let Some(TaskDone { outcome, .. }) = &self.done[*d] {
                for o in &outcome.outbound {
                    shared.add_child(o, tid);
                }
            }
        }
    }

    /// `None` when task `i` may run; else its outcome: Omitted by `depends`, or Error.
    fn blocked_by_depends(&self, i: usize, tname: &str) -> Option<Outcome> {
        let l = self.graph.logic[i].as_ref()?;
        let (tasks, shared) = (self.graph.tasks, &self.children.ctx.shared);
        let states: HashMap<String, DepState> = self.graph.deps[i]
            .iter()
            .filter_map(|d| {
                self.done[*d].as_ref().map(|td| {
                    (
                        tasks[*d].call.name.clone(),
                        dep_state(td, &tasks[*d], shared),
                    )
                })
            })
            .collect();
        let display = &tasks[i].call.name;
        match depends::evaluate(l, &states) {
            Ok(true) => None,
            Ok(false) => {
                let msg = "omitted: depends condition not met";
                let o = self.children.skipped(tname, display, msg);
                self.children.ctx.shared.finish(&o.id, Phase::Omitted, None);
                Some(Outcome {
                    phase: Phase::Omitted,
                    ..o
                })
            }
            Err(e) => Some(self.children.errored(tname, display, &e.to_string())),
        }
    }

    /// Prepares task `i` (a loop: its `TaskGroup` and children) and runs it.
    fn launch(&mut self, i: usize, tname: &str, tid: String) {
        let task = &self.graph.tasks[i];
        let display = &task.call.name;
        let ctx = self.children.ctx;
        let id = self.id;
        let group_node = || {
            ctx.shared.create_node(NewNode {
                id: &tid,
                name: tname,
                display,
                node_type: NodeType::TaskGroup,
                template: task.call.template.as_deref(),
                boundary: Some(id),
                phase: Phase::Running,
                message: None,
            });
            tid.clone()
        };
        match self
            .children
            .start(task, tname, display, &self.scope, group_node)
        {
            Ok(Started::Single(Prepared::Done(o))) => self.settle(i, TaskDone::created(o, None)),
            Ok(Started::Single(Prepared::Run(f))) => self
                .running
                .push(Box::pin(async move { (i, f.await, None) })),
            Ok(Started::Loop(c)) if c.is_empty() => {
                let o = self
                    .children
                    .skipped(tname, display, "Skipped, empty params");
                self.settle(i, TaskDone::created(o, Some(Vec::new())));
            }
            Ok(Started::Loop(c)) => {
                let continue_on = task.call.continue_on.unwrap_or_default();
                let group = task_group(ctx.clone(), tid, continue_on, c);
                self.running.push(Box::pin(async move {
                    let (o, children) = group.await;
                    (i, o, Some(children))
                }));
            }
            Err(e) => {
                let o = self.children.errored(tname, display, &e.to_string());
                self.settle(i, TaskDone::created(o, None));
            }
        }
    }

    /// Records a finished task and its `tasks.<name>.*` variables.
    fn settle(&mut self, i: usize, td: TaskDone) {
        let task = &self.graph.tasks[i];
        let children = td.children.as_deref();
        self.children
            .settle(&mut self.scope, task, &td.outcome, children);
        self.done[i] = Some(td);
        if self.dag_fail_fast && !self.decided_failed {
            self.decided_failed = failed_target(&self.graph, &self.done).is_some();
        }
    }
}

/// Runs a loop task's children and completes its `TaskGroup` node `tid`: failed with its
/// first unhandled failure, else succeeded; its outcome and the children's, in loop order.
async fn task_group(
    ctx: Arc<RunCtx>,
    tid: String,
    continue_on: ContinueOn,
    children: Vec<Prepared>,
) -> (Outcome, Vec<Outcome>) {
    let children: Vec<Outcome> = futures::future::join_all(children.into_iter().map(|p| async {
        match p {
            Prepared::Done(o) => o,
            Prepared::Run(f) => f.await,
        }
    }))
    .await;
    let (phase, msg) = match children.iter().find(|o| unhandled(continue_on, o)) {
        Some(o) => (o.phase, Some(failed_child(&o.id))),
        None => (Phase::Succeeded, None),
    };
    let mut o = Outcome::new(&tid, phase, msg.clone());
    o.outbound = children.iter().flat_map(|c| c.outbound.clone()).collect();
    let outbound = o.outbound.clone();
    ctx.shared.with_node(&tid, |n| n.outbound_nodes = outbound);
    ctx.shared.finish(&tid, phase, msg);
    (o, children)
}
