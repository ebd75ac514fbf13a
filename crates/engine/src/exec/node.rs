//! Running one template invocation as a node: input parameters, template
//! `timeout`/`activeDeadlineSeconds`, and dispatch to pod, steps or dag execution (through a
//! `Retry` node, see `retry`, when the template has a `retryStrategy`).

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;

use super::{container_set, dag, http, pod, retry, steps, suspend, Outcome, RunCtx};
use crate::error::EngineError;
use crate::library::{Origin, Resolved};
use crate::model::{Template, TemplateKind, TemplateRef};
use crate::state::NewNode;
use crate::status::{NodeInputs, NodeType, ParamValue, Phase};
use crate::template::Scope;

/// One invocation: which template, under which node name, with which arguments.
#[derive(Clone)]
pub struct Call {
    pub name: String,
    pub display: String,
    pub resolved: Resolved,
    pub args: Vec<(String, String)>,
    pub boundary: Option<String>,
}

/// Resolves the template's input parameters from arguments, `value`, `default`; checks `enum`.
fn resolve_inputs(
    ctx: &RunCtx,
    t: &Template,
    args: &[(String, String)],
) -> Result<Vec<ParamValue>, EngineError> {
    let Some(inputs) = &t.inputs else {
        return Ok(Vec::new());
    };
    let globals = ctx.global_scope();
    let mut scope = globals.clone();
    let mut out = Vec::new();
    for p in &inputs.parameters {
        let given = args
            .iter()
            .find(|(n, _)| n == &p.name)
            .map(|(_, v)| v.clone());
        let value = match (given, &p.value, &p.default) {
            (Some(v), _, _) => v,
            (None, Some(v), _) => scope.substitute(v)?,
            (None, None, Some(d)) => scope.substitute(d)?,
            (None, None, None) => {
                return Err(EngineError::Invalid(format!(
                    "inputs.parameters.{} was not supplied (template `{}`)",
                    p.name, t.name
                )))
            }
        };
        if let Some(allowed) = &p.r#enum {
            if !allowed.contains(&value) {
                return Err(EngineError::Invalid(format!(
                    "inputs.parameters.{}: value `{value}` is not one of {allowed:?}",
                    p.name
                )));
            }
        }
        scope.set(format!("inputs.parameters.{}", p.name), value.clone());
        out.push(ParamValue {
            name: p.name.clone(),
            value,
        });
    }
    Ok(out)
}

pub(super) fn node_type(t: &Template) -> NodeType {
    match t.kind() {
        TemplateKind::Pod => NodeType::Pod,
        TemplateKind::Steps => NodeType::Steps,
        TemplateKind::Dag => NodeType::Dag,
        TemplateKind::Suspend => NodeType::Suspend,
        TemplateKind::ContainerSet => NodeType::Pod,
        TemplateKind::Http => NodeType::Http,
    }
}

/// Runs `call` to completion (boxed: templates nest and recurse).
pub fn run_call(ctx: Arc<RunCtx>, call: Call) -> BoxFuture<'static, Outcome> {
    Box::pin(async move {
        let t = call.resolved.template.clone();
        let id = ctx.id(&call.name);
        if let Some(kept) = ctx.retained.take(&ctx.shared, &id) {
            ctx.publish_globals(&call.resolved, &kept.outputs);
            return kept;
        }
        let inputs = match resolve_inputs(&ctx, &t, &call.args) {
            Ok(i) => i,
            Err(e) => {
                let msg = e.to_string();
                ctx.shared.create_node(NewNode {
                    id: &id,
                    name: &call.name,
                    display: &call.display,
                    node_type: node_type(&t),
                    template: Some(&t.name),
                    boundary: call.boundary.as_deref(),
                    phase: Phase::Error,
                    message: Some(msg.clone()),
                });
                return Outcome::new(&id, Phase::Error, Some(msg));
            }
        };
        let pending = || {
            ctx.shared.create_node(NewNode {
                id: &id,
                name: &call.name,
                display: &call.display,
                node_type: node_type(&t),
                template: Some(&t.name),
                boundary: call.boundary.as_deref(),
                phase: Phase::Pending,
                message: None,
            })
        };
        // Held until the node (with its retries and children) ends.
        let _lock = match crate::sync::hold_template(&ctx, &id, &t, pending).await {
            Ok(lock) => lock,
            Err(e) => {
                pending();
                ctx.shared.finish(&id, Phase::Error, Some(e.to_string()));
                return Outcome::new(&id, Phase::Error, Some(e.to_string()));
            }
        };
        let given = t.memoize.as_ref().map(|_| inputs.clone());
        let run = async {
            match &t.retry_strategy {
                Some(rs) => retry::run_retry(&ctx, &call, inputs, rs).await,
                None => run_body(&ctx, &call.name, &call.display, &call, inputs, None).await,
            }
        };
        let outcome = match (&t.memoize, given) {
            (Some(m), Some(given)) => super::memoize::memoized(&ctx, &call, &given, m, run).await,
            _ => run.await,
        };
        ctx.publish_globals(&call.resolved, &outcome.outputs);
        outcome
    })
}

/// Parses Argo durations: `30`, `30s`, `1m30s`, `2h`, `500ms`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<f64>() {
        return (secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let mut total = 0.0;
    let mut num = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let mut unit = c.to_string();
        while let Some(&n) = chars.peek() {
            if n.is_ascii_alphabetic() {
                unit.push(n);
                chars.next();
            } else {
                break;
            }
        }
        let v: f64 = num.parse().ok()?;
        num.clear();
        total += v * match unit.as_str() {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86400.0,
            _ => return None,
        };
    }
    if !num.is_empty() {
        return None;
    }
    Some(Duration::from_secs_f64(total))
}

fn deadline_of(t: &Template, inputs: &Scope) -> Option<Duration> {
    let timeout = t
        .timeout
        .as_deref()
        .and_then(|s| inputs.substitute(s).ok())
        .and_then(|s| parse_duration(&s));
    let active = match (&t.active_deadline_seconds, t.kind()) {
        (Some(v), TemplateKind::Pod | TemplateKind::ContainerSet | TemplateKind::Http) => {
            let s = inputs.substitute(&crate::expr::to_text(v)).ok()?;
            parse_duration(&s)
        }
        _ => None,
    };
    match (timeout, active) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The global scope with the template's inputs: each as `inputs.parameters.<name>`, and all
/// of them as `inputs.parameters`, the JSON array Argo marshals (Hera's runner reads it).
pub(super) fn inputs_scope(ctx: &RunCtx, t: &Template, inputs: &[ParamValue]) -> Scope {
    let mut scope = ctx.global_scope();
    let declared = t.inputs.as_ref().map_or(&[][..], |i| &i.parameters[..]);
    let mut all = Vec::with_capacity(inputs.len());
    for p in inputs {
        scope.set(format!("inputs.parameters.{}", p.name), p.value.clone());
        let d = declared.iter().find(|d| d.name == p.name);
        // Field order and omissions as Go's encoding/json writes wfv1.Parameter.
        let mut o = serde_json::Map::new();
        o.insert("name".into(), p.name.clone().into());
        if let Some(default) = d.and_then(|d| d.default.clone()) {
            o.insert("default".into(), default.into());
        }
        o.insert("value".into(), p.value.clone().into());
        if let Some(e) = d.and_then(|d| d.r#enum.clone()) {
            o.insert("enum".into(), e.into());
        }
        if let Some(g) = d.and_then(|d| d.global_name.clone()) {
            o.insert("globalName".into(), g.into());
        }
        if let Some(text) = d.and_then(|d| d.description.clone()) {
            o.insert("description".into(), text.into());
        }
        all.push(serde_json::Value::Object(o));
    }
    if !declared.is_empty() {
        scope.set(
            "inputs.parameters",
            serde_json::Value::Array(all).to_string(),
        );
    }
    scope
}

/// Runs the template body as node `name`, with its deadline; `retries` is the attempt's
/// index under a `retryStrategy` (`{{retries}}`).
pub(super) async fn run_body(
    ctx: &Arc<RunCtx>,
    name: &str,
    display: &str,
    call: &Call,
    inputs: Vec<ParamValue>,
    retries: Option<u64>,
) -> Outcome {
    let t = call.resolved.template.clone();
    let mut scope = inputs_scope(ctx, &t, &inputs);
    if let Some(n) = retries {
        scope.set("retries", n.to_string());
    }
    crate::artifacts::add_inputs_to_scope(&t, &call.args, &mut scope);
    let id = ctx.id(name);
    let node_inputs = (!inputs.is_empty()).then_some(NodeInputs {
        parameters: inputs,
        ..Default::default()
    });
    let body: BoxFuture<'_, Outcome> = match t.kind() {
        TemplateKind::Pod => Box::pin(pod::run(
            ctx,
            name,
            display,
            call,
            node_inputs,
            scope.clone(),
        )),
        TemplateKind::Steps => Box::pin(steps::run(
            ctx.clone(),
            name,
            display,
            call,
            node_inputs,
            scope.clone(),
        )),
        TemplateKind::Dag => Box::pin(dag::run(
            ctx.clone(),
            name,
            display,
            call,
            node_inputs,
            scope.clone(),
        )),
        TemplateKind::ContainerSet => Box::pin(container_set::run(
            ctx,
            name,
            display,
            call,
            node_inputs,
            scope.clone(),
        )),
        TemplateKind::Http => Box::pin(http::run(
            ctx,
            name,
            display,
            call,
            node_inputs,
            scope.clone(),
        )),
        TemplateKind::Suspend => Box::pin(suspend::run(
            ctx,
            name,
            display,
            call,
            node_inputs,
            scope.clone(),
        )),
    };
    let outcome = match deadline_of(&t, &scope) {
        None => body.await,
        Some(limit) => match tokio::time::timeout(limit, body).await {
            Ok(o) => o,
            Err(_) => {
                let msg = if t.kind() == TemplateKind::Pod {
                    "Pod was active on the node longer than the specified deadline"
                } else {
                    "Step exceeded its deadline"
                };
                // The body future is dropped: its processes were killed; close its nodes.
                ctx.shared.sweep(name, Phase::Failed, msg);
                ctx.daemons.end_scope(&ctx.shared, Some(&id)).await;
                Outcome::new(&id, Phase::Failed, Some(msg.to_string()))
            }
        },
    };
    if let Origin::Library(wft) = &call.resolved.origin {
        // Argo names the WorkflowTemplate a node's template came from.
        let r = TemplateRef {
            name: wft.clone(),
            template: t.name.clone(),
            cluster_scope: None,
        };
        ctx.shared.with_node(&id, |n| n.template_ref = Some(r));
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("x"), None);
    }
}
