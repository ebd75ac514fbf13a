//! The children of a group node, shared by `steps` and `dag`: the group's `parallelism` (a
//! semaphore each child acquires before it runs), its `failFast` flag, starting one step or
//! task (expanding its loop), settling a finished one into the parent's scope, and completing
//! the group node with its declared outputs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::Semaphore;

use super::invoke::{prepare, Place, Prepared};
use super::{loops, outputs, Call, Outcome, RunCtx};
use crate::error::EngineError;
use crate::library::Origin;
use crate::model::{ContinueOn, StepLike, Template};
use crate::state::NewNode;
use crate::status::{NodeType, Phase};
use crate::template::Scope;

/// A template's own `failFast: true`: once tripped, no further child starts.
///
/// Steps and DAGs hand it to every child (checked when the child gets its `parallelism`
/// permit, tripped by any failed child); a DAG also checks it before starting a task.
#[derive(Clone, Default)]
pub struct FailFast(Arc<AtomicBool>);

impl FailFast {
    pub fn trip(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn tripped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// What starting one step or task gave.
pub(super) enum Started {
    /// Not a loop: its one node, finished already or to run.
    Single(Prepared),
    /// A loop: its children in loop order (none when the loop had no items).
    Loop(Vec<Prepared>),
}

/// Starts and settles the children of one `steps` or `dag` node.
pub(super) struct Children<'a> {
    pub ctx: &'a Arc<RunCtx>,
    /// The id of the group node (the children's boundary).
    boundary: String,
    origin: Origin,
    limit: Option<Arc<Semaphore>>,
    /// `steps` or `tasks`: the scope prefix of a finished child's variables.
    kind: &'static str,
    fail_fast: Option<FailFast>,
}

impl<'a> Children<'a> {
    /// Children of group node `boundary` running `call`; `fail_fast` is handed to each child.
    pub fn new(
        ctx: &'a Arc<RunCtx>,
        call: &Call,
        boundary: &str,
        kind: &'static str,
        fail_fast: Option<FailFast>,
    ) -> Self {
        let limit = call
            .resolved
            .template
            .parallelism
            .and_then(|p| usize::try_from(p).ok())
            .filter(|p| *p > 0)
            .map(|p| Arc::new(Semaphore::new(p)));
        Children {
            ctx,
            boundary: boundary.to_string(),
            origin: call.resolved.origin.clone(),
            limit,
            kind,
            fail_fast,
        }
    }

    fn place(&self, name: String, display: String) -> Place {
        Place {
            name,
            display,
            boundary: self.boundary.clone(),
            origin: self.origin.clone(),
            limit: self.limit.clone(),
            kind: self.kind,
            fail_fast: self.fail_fast.clone(),
        }
    }

    /// Prepares `step` as node `name`, or its loop children `name(j:item)` hung from the node
    /// `loop_parent` returns (called once, only for a loop with items, before any child).
    pub fn start(
        &self,
        step: &StepLike,
        name: &str,
        display: &str,
        scope: &Scope,
        loop_parent: impl FnOnce() -> String,
    ) -> Result<Started, EngineError> {
        let Some(items) = loops::items(&step.call, scope)? else {
            let place = self.place(name.to_string(), display.to_string());
            return Ok(Started::Single(prepare(self.ctx, step, place, scope)));
        };
        if items.is_empty() {
            return Ok(Started::Loop(Vec::new()));
        }
        let parent = loop_parent();
        let mut children = Vec::with_capacity(items.len());
        for (j, item) in items.iter().enumerate() {
            let cname = loops::child_name(name, j, item);
            let cdisplay = loops::child_name(display, j, item);
            self.ctx.shared.add_child(&parent, &self.ctx.id(&cname));
            let mut s = scope.clone();
            s.set_item(item);
            children.push(prepare(self.ctx, step, self.place(cname, cdisplay), &s));
        }
        Ok(Started::Loop(children))
    }

    /// A `Skipped` node under the group.
    pub fn skipped(&self, name: &str, display: &str, msg: &str) -> Outcome {
        let id = self.ctx.id(name);
        self.ctx.shared.create_node(NewNode {
            id: &id,
            name,
            display,
            node_type: NodeType::Skipped,
            template: None,
            boundary: Some(&self.boundary),
            phase: Phase::Skipped,
            message: Some(msg.to_string()),
        });
        Outcome::new(&id, Phase::Skipped, Some(msg.to_string()))
    }

    /// A child that could not be started (bad loop items or `depends`): an `Error` node.
    pub fn errored(&self, name: &str, display: &str, error: &str) -> Outcome {
        let o = self.skipped(name, display, "");
        self.ctx
            .shared
            .finish(&o.id, Phase::Error, Some(error.to_owned()));
        Outcome::new(&o.id, Phase::Error, Some(error.to_owned()))
    }

    /// Records a finished child's `{kind}.{name}.*` variables; a loop's (`children` given)
    /// are aggregated under `outcome`'s id and phase. A skipped or omitted step gets its
    /// template's declared outputs as Argo gives them: `valueFrom.default`, else absent.
    pub fn settle(
        &self,
        scope: &mut Scope,
        step: &StepLike,
        outcome: &Outcome,
        children: Option<&[Outcome]>,
    ) {
        let name = &step.call.name;
        match children {
            Some(c) => {
                outputs::add_aggregate(scope, self.kind, name, &outcome.id, outcome.phase, c)
            }
            None => outputs::add_node(scope, self.kind, name, outcome),
        }
        let skipped = matches!(outcome.phase, Phase::Skipped | Phase::Omitted);
        if skipped && children.is_none() && outcome.outputs.is_empty() {
            if let Ok(resolved) = self.ctx.resolver.resolve_call(&step.call, &self.origin) {
                outputs::add_skipped(scope, self.kind, name, &resolved.template);
            }
        }
    }
}

/// Whether `o` failed in a way `continueOn` does not allow.
pub(super) fn unhandled(c: ContinueOn, o: &Outcome) -> bool {
    match o.phase {
        Phase::Failed => !c.failed,
        Phase::Error => !c.error,
        _ => false,
    }
}

/// The message a group (or task group) node fails with because of child `id`.
pub(super) fn failed_child(id: &str) -> String {
    format!("child '{id}' failed")
}

/// Completes a steps/dag node: its declared outputs, then Succeeded (or Error if they fail).
pub(super) fn finish_with_outputs(
    ctx: &RunCtx,
    id: &str,
    t: &Template,
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
