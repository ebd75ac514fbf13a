//! Turning one step / task (after loop expansion) into a running node: `when`, argument
//! substitution, template lookup, template-level `parallelism`, and the step's exit hook.

use std::sync::Arc;

use futures::future::BoxFuture;
use tokio::sync::Semaphore;

use super::children::FailFast;
use super::{run_call, Call, Outcome, RunCtx};
use crate::error::EngineError;
use crate::library::Origin;
use crate::model::{Arguments, StepLike, TemplateRef};
use crate::state::NewNode;
use crate::status::{NodeType, Phase};
use crate::template::{eval_when, Scope};

pub enum Prepared {
    /// Skipped by `when`, or failed before starting.
    Done(Outcome),
    Run(BoxFuture<'static, Outcome>),
}

/// Where the node goes in the tree.
pub struct Place {
    pub name: String,
    pub display: String,
    pub boundary: String,
    pub origin: Origin,
    pub limit: Option<Arc<Semaphore>>,
    /// `steps` or `tasks`: how the exit hook refers to the finished node.
    pub kind: &'static str,
    /// A steps template's `failFast`: set on the first failed child; later ones do not start.
    pub fail_fast: Option<FailFast>,
}

/// The message Argo gives nodes stopped by a template's `failFast`.
pub const FAIL_FAST_MSG: &str = "template has failed or errored children and failFast enabled";

fn early_node(
    ctx: &RunCtx,
    place: &Place,
    template: Option<&str>,
    phase: Phase,
    msg: String,
) -> Outcome {
    let id = ctx.id(&place.name);
    ctx.shared.create_node(NewNode {
        id: &id,
        name: &place.name,
        display: &place.display,
        node_type: NodeType::Skipped,
        template,
        boundary: Some(&place.boundary),
        phase,
        message: Some(msg.clone()),
    });
    Outcome::new(&id, phase, Some(msg))
}

/// Substitutes the argument parameters of a call.
pub fn arguments(
    args: &Option<Arguments>,
    scope: &Scope,
) -> Result<Vec<(String, String)>, EngineError> {
    let mut out = Vec::new();
    for p in args.iter().flat_map(|a| a.parameters.iter()) {
        let raw = match (
            &p.value,
            p.value_from.as_ref().and_then(|v| v.expression.as_deref()),
        ) {
            (Some(v), _) if scope.is_absent(v) => continue,
            (Some(v), _) => scope.substitute(v)?,
            (None, Some(e)) => {
                let v = crate::expr::eval(e, &scope.env(), crate::expr::Mode::Expr)?;
                crate::expr::to_text(&v)
            }
            (None, None) => match &p.default {
                Some(d) => scope.substitute(d)?,
                None => continue,
            },
        };
        out.push((p.name.clone(), raw));
    }
    if let Some(a) = args {
        out.extend(crate::artifacts::arguments(&a.artifacts, scope)?);
    }
    Ok(out)
}

/// Prepares `step` under `place` with `scope` (which holds `item` for loop children).
pub fn prepare(ctx: &Arc<RunCtx>, step: &StepLike, place: Place, scope: &Scope) -> Prepared {
    let tname = step.call.template.as_deref();
    if let Some(when) = &step.call.when {
        match eval_when(scope, when) {
            Ok(true) => {}
            Ok(false) => {
                let shown = scope.substitute(when).unwrap_or_else(|_| when.clone());
                let msg = format!("when '{shown}' evaluated false");
                return Prepared::Done(early_node(ctx, &place, tname, Phase::Skipped, msg));
            }
            Err(e) => {
                return Prepared::Done(early_node(ctx, &place, tname, Phase::Error, e.to_string()))
            }
        }
    }
    let args = match arguments(&step.call.arguments, scope) {
        Ok(a) => a,
        Err(e) => {
            return Prepared::Done(early_node(ctx, &place, tname, Phase::Error, e.to_string()))
        }
    };
    let resolved = match ctx.resolver.resolve_call(&step.call, &place.origin) {
        Ok(r) => r,
        Err(e) => {
            return Prepared::Done(early_node(ctx, &place, tname, Phase::Error, e.to_string()))
        }
    };
    let hook = exit_hook(step);
    let ctx = ctx.clone();
    let scope = hook.as_ref().map(|_| scope.clone());
    let step_name = step.call.name.clone();
    let tname = tname.map(str::to_string);
    Prepared::Run(Box::pin(async move {
        let _permit = match &place.limit {
            Some(sem) => sem.clone().acquire_owned().await.ok(),
            None => None,
        };
        if place.fail_fast.as_ref().is_some_and(FailFast::tripped) {
            let msg = FAIL_FAST_MSG.to_string();
            return early_node(&ctx, &place, tname.as_deref(), Phase::Omitted, msg);
        }
        let call = Call {
            name: place.name.clone(),
            display: place.display.clone(),
            resolved,
            args,
            boundary: Some(place.boundary.clone()),
        };
        let outcome = run_call(ctx.clone(), call).await;
        if let (Some(flag), true) = (&place.fail_fast, outcome.phase.is_failure()) {
            flag.trip();
        }
        if let (Some(hook), Some(mut scope)) = (hook, scope) {
            super::outputs::add_node(&mut scope, place.kind, &step_name, &outcome);
            run_exit_hook(&ctx, &place, hook, &scope, &outcome.id).await;
        }
        outcome
    }))
}

/// A step's exit hook as declared: template name, template ref, arguments.
type ExitHook = (Option<String>, Option<TemplateRef>, Option<Arguments>);

/// The `exit` lifecycle hook of a step, else its `onExit`.
fn exit_hook(step: &StepLike) -> Option<ExitHook> {
    step.call
        .hooks
        .as_ref()
        .and_then(|h| h.get("exit"))
        .map(|h| {
            (
                h.template.clone(),
                h.template_ref.clone(),
                h.arguments.clone(),
            )
        })
        .or_else(|| step.call.on_exit.clone().map(|t| (Some(t), None, None)))
}

/// Runs the exit hook of the step at `place` as `<name>.onExit`, a child of node `parent`;
/// `scope` holds the finished step's variables. A failed hook is only logged.
async fn run_exit_hook(
    ctx: &Arc<RunCtx>,
    place: &Place,
    (template, template_ref, hook_args): ExitHook,
    scope: &Scope,
    parent: &str,
) {
    let hook_name = format!("{}.onExit", place.name);
    let hook_place = Place {
        name: hook_name.clone(),
        display: format!("{}.onExit", place.display),
        boundary: place.boundary.clone(),
        origin: place.origin.clone(),
        limit: None,
        kind: place.kind,
        fail_fast: None,
    };
    ctx.shared.add_child(parent, &ctx.id(&hook_name));
    let resolved = ctx
        .resolver
        .resolve(template.as_deref(), template_ref.as_ref(), &place.origin);
    let hook_outcome = match (resolved, arguments(&hook_args, scope)) {
        (Ok(resolved), Ok(args)) => {
            let call = Call {
                name: hook_place.name.clone(),
                display: hook_place.display.clone(),
                resolved,
                args,
                boundary: Some(hook_place.boundary.clone()),
            };
            run_call(ctx.clone(), call).await
        }
        (Err(e), _) | (_, Err(e)) => early_node(
            ctx,
            &hook_place,
            template.as_deref(),
            Phase::Error,
            e.to_string(),
        ),
    };
    if hook_outcome.phase.is_failure() {
        tracing::warn!(node = %hook_name, "exit hook {}", hook_outcome.phase);
    }
}
