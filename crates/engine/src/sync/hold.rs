//! Where runs take their locks: the workflow before its entry point (Pending while it
//! waits), a template's node before it runs (a Pending node with the lock it waits for).

use serde_json::json;

use super::{decl, RunHeld};
use crate::error::EngineError;
use crate::exec::RunCtx;
use crate::model::{Template, WorkflowSpec};
use crate::status::Phase;

/// Holds `t`'s locks for node `node_id` (none without `synchronization`); while it waits, the
/// node exists as Pending (`create_pending` makes it) with Argo's message.
pub(crate) async fn hold_template(
    ctx: &RunCtx,
    node_id: &str,
    t: &Template,
    create_pending: impl Fn(),
) -> Result<Option<RunHeld>, EngineError> {
    if !decl::declared(&t.extra) {
        return Ok(None);
    }
    let path = format!("spec.templates[{}]", t.name);
    let reqs = decl::requests(&path, &t.extra, &ctx.locks.namespace, &ctx.k8s.objects)?;
    let holder = ctx.locks.holder_key(Some(node_id));
    let mut created = false;
    let held = ctx
        .locks
        .hold(holder, reqs, |lock, message| {
            if !created {
                create_pending();
                created = true;
            }
            ctx.shared.with_node(node_id, |n| {
                n.phase = Phase::Pending;
                n.message = Some(message.to_owned());
                n.synchronization_status = Some(json!({ "waiting": lock }));
            });
        })
        .await;
    if created {
        ctx.shared.with_node(node_id, |n| {
            n.message = None;
            n.synchronization_status = None;
        });
    }
    Ok(Some(held))
}

/// Holds the workflow's own locks; the workflow is Pending with Argo's message meanwhile,
/// Running again once it holds them.
pub(crate) async fn hold_workflow(
    ctx: &RunCtx,
    spec: &WorkflowSpec,
) -> Result<Option<RunHeld>, EngineError> {
    if !decl::declared(&spec.extra) {
        return Ok(None);
    }
    let reqs = decl::requests("spec", &spec.extra, &ctx.locks.namespace, &ctx.k8s.objects)?;
    let holder = ctx.locks.holder_key(None);
    let mut waited = false;
    let held = ctx
        .locks
        .hold(holder, reqs, |_, message| {
            waited = true;
            ctx.shared.update(|s| {
                s.status.phase = Phase::Pending;
                s.status.message = Some(message.to_owned());
            });
        })
        .await;
    if waited {
        ctx.shared.update(|s| {
            s.status.phase = Phase::Running;
            s.status.message = None;
        });
    }
    Ok(Some(held))
}
