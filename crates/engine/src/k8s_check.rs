//! What a run's Kubernetes fields need, checked before anything runs, over every template the
//! run can reach (the workflow's own and the `templateRef`s of its library): the Secrets and
//! ConfigMaps its env and volumes read, its mounts' volumes and sandbox, its semaphores' sizes.

use std::collections::HashSet;

use crate::error::EngineError;
use crate::library::{Origin, Resolved, Resolver};
use crate::model::{Invocation, Template};
use crate::setup::Checked;
use crate::volumes::RunK8s;

/// The calls of a steps or dag template, with their hooks' and exit handlers' templates.
fn calls(t: &Template) -> Vec<&Invocation> {
    let mut out: Vec<&Invocation> = Vec::new();
    if let Some(groups) = &t.steps {
        out.extend(groups.iter().flatten().map(|s| &s.call));
    }
    if let Some(dag) = &t.dag {
        out.extend(dag.tasks.iter().map(|task| &task.call));
    }
    out
}

/// Every template reachable from the workflow's templates (each once).
fn reachable(resolver: &Resolver, checked: &Checked) -> Result<Vec<Resolved>, EngineError> {
    let mut seen: HashSet<(Origin, String)> = HashSet::new();
    let mut todo: Vec<Resolved> = Vec::new();
    for t in &checked.spec.templates {
        todo.push(resolver.by_name(&Origin::Workflow, &t.name)?);
    }
    let mut out = Vec::new();
    while let Some(r) = todo.pop() {
        if !seen.insert((r.origin.clone(), r.template.name.clone())) {
            continue;
        }
        for call in calls(&r.template) {
            // Unknown references were refused by `check_references` already.
            if let Ok(next) = resolver.resolve_call(call, &r.origin) {
                todo.push(next);
            }
            for hook in call.hooks.iter().flat_map(|h| h.values()) {
                let next = resolver.resolve(
                    hook.template.as_deref(),
                    hook.template_ref.as_ref(),
                    &r.origin,
                );
                todo.extend(next.ok());
            }
        }
        out.push(r);
    }
    Ok(out)
}

/// Refuses the run when a reachable template reads a missing object or key, mounts an
/// unknown volume, mounts without a sandbox (`sandboxed`), or sizes a semaphore from a
/// missing ConfigMap key. `given`: the variables the engine sets itself.
pub(crate) fn check(
    checked: &Checked,
    k8s: &RunK8s,
    namespace: &str,
    (sandboxed, given): (bool, &[(String, String)]),
) -> Result<(), EngineError> {
    let path = |r: &Resolved| match &r.origin {
        Origin::Workflow => format!("spec.templates[{}]", r.template.name),
        Origin::Library(w) => format!("WorkflowTemplate {w}: spec.templates[{}]", r.template.name),
    };
    crate::sync::decl::requests("spec", &checked.spec.extra, namespace, &k8s.objects)?;
    for r in reachable(&checked.resolver, checked)? {
        let here = path(&r);
        crate::sync::decl::requests(&here, &r.template.extra, namespace, &k8s.objects)?;
        if !sandboxed {
            crate::artifacts::check_unsandboxed_paths(&here, &r.template)?;
        }
        k8s.check_template(&r.template, sandboxed, given)
            .map_err(|e| match (&r.origin, e) {
                (Origin::Library(w), EngineError::Invalid(m)) => {
                    EngineError::Invalid(format!("WorkflowTemplate {w}: {m}"))
                }
                (_, e) => e,
            })?;
    }
    Ok(())
}
