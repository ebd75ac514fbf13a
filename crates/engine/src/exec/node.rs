//! Running one template invocation as a node: input parameters, `retryStrategy` (a `Retry`
//! node with attempt children `name(n)`), template `timeout`/`activeDeadlineSeconds`, and
//! dispatch to pod, steps or dag execution.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use serde_json::json;

use super::{dag, pod, steps, Outcome, RunCtx};
use crate::error::EngineError;
use crate::expr::{self, Mode};
use crate::library::{Origin, Resolved};
use crate::model::{RetryStrategy, Template, TemplateKind, TemplateRef};
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

fn node_type(t: &Template) -> NodeType {
    match t.kind() {
        TemplateKind::Pod => NodeType::Pod,
        TemplateKind::Steps => NodeType::Steps,
        TemplateKind::Dag => NodeType::Dag,
    }
}

/// Runs `call` to completion (boxed: templates nest and recurse).
pub fn run_call(ctx: Arc<RunCtx>, call: Call) -> BoxFuture<'static, Outcome> {
    Box::pin(async move {
        let t = call.resolved.template.clone();
        let id = ctx.id(&call.name);
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
        let outcome = match &t.retry_strategy {
            Some(rs) => run_retry(&ctx, &call, inputs, rs).await,
            None => run_body(&ctx, &call.name, &call.display, &call, inputs).await,
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
        (Some(v), TemplateKind::Pod) => {
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

/// Runs the template body as node `name`, with its deadline.
async fn run_body(
    ctx: &Arc<RunCtx>,
    name: &str,
    display: &str,
    call: &Call,
    inputs: Vec<ParamValue>,
) -> Outcome {
    let t = call.resolved.template.clone();
    let mut scope = ctx.global_scope();
    for p in &inputs {
        scope.set(format!("inputs.parameters.{}", p.name), p.value.clone());
    }
    let id = ctx.id(name);
    let node_inputs = (!inputs.is_empty()).then_some(NodeInputs { parameters: inputs });
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

fn retryable(policy: &str, phase: Phase) -> bool {
    match policy {
        "Always" => phase.is_failure(),
        "OnError" | "OnTransientError" => phase == Phase::Error,
        _ => phase == Phase::Failed,
    }
}

async fn run_retry(
    ctx: &Arc<RunCtx>,
    call: &Call,
    inputs: Vec<ParamValue>,
    rs: &RetryStrategy,
) -> Outcome {
    let t = &call.resolved.template;
    let id = ctx.id(&call.name);
    let mut scope = ctx.global_scope();
    for p in &inputs {
        scope.set(format!("inputs.parameters.{}", p.name), p.value.clone());
    }
    ctx.shared.create_node(NewNode {
        id: &id,
        name: &call.name,
        display: &call.display,
        node_type: NodeType::Retry,
        template: Some(&t.name),
        boundary: call.boundary.as_deref(),
        phase: Phase::Running,
        message: None,
    });
    if !inputs.is_empty() {
        let ni = NodeInputs {
            parameters: inputs.clone(),
        };
        ctx.shared.with_node(&id, |n| n.inputs = Some(ni));
    }
    let limit: Option<u64> = match rs.limit.as_deref().map(|l| scope.substitute(l)) {
        Some(Ok(l)) => l.trim().parse().ok(),
        Some(Err(_)) | None => None,
    };
    let policy = rs
        .retry_policy
        .clone()
        .unwrap_or_else(|| "OnFailure".into());
    let backoff = rs.backoff.as_ref();
    let base = backoff
        .and_then(|b| b.duration.as_deref())
        .and_then(parse_duration);
    let factor: f64 = backoff
        .and_then(|b| b.factor.as_deref())
        .and_then(|f| f.parse().ok())
        .unwrap_or(1.0);
    let max_total = backoff
        .and_then(|b| b.max_duration.as_deref())
        .and_then(parse_duration);
    let began = Instant::now();
    let mut attempt: u64 = 0;
    let last = loop {
        let child = format!("{}({attempt})", call.name);
        let child_display = format!("{}({attempt})", call.display);
        ctx.shared.add_child(&id, &ctx.id(&child));
        let mut attempt_call = call.clone();
        attempt_call.boundary = call.boundary.clone();
        let started = Instant::now();
        let o = run_body(ctx, &child, &child_display, &attempt_call, inputs.clone()).await;
        if o.phase == Phase::Succeeded
            || limit.is_some_and(|l| attempt >= l)
            || !retryable(&policy, o.phase)
        {
            break o;
        }
        if let Some(e) = &rs.expression {
            let env = json!({"lastRetry": {
                "exitCode": o.outputs.exit_code.as_deref().and_then(|c| c.parse::<i64>().ok()).unwrap_or(-1),
                "status": o.phase.as_str(),
                "duration": started.elapsed().as_secs_f64(),
                "message": o.message.clone().unwrap_or_default(),
            }});
            match expr::eval_bool(e, &env, Mode::Expr) {
                Ok(true) => {}
                Ok(false) => break o,
                Err(err) => {
                    tracing::warn!(node = %call.name, "retryStrategy.expression: {err}");
                    break o;
                }
            }
        }
        if let Some(b) = base {
            let wait = b.mul_f64(factor.powi(i32::try_from(attempt).unwrap_or(i32::MAX)));
            if max_total.is_some_and(|m| began.elapsed() + wait > m) {
                break o;
            }
            tokio::time::sleep(wait).await;
        } else if max_total.is_some_and(|m| began.elapsed() > m) {
            break o;
        }
        attempt += 1;
    };
    let message = if last.phase.is_failure() {
        Some(
            last.message
                .clone()
                .map_or("No more retries left".to_string(), |m| {
                    format!("No more retries left: {m}")
                }),
        )
    } else {
        None
    };
    let outputs = last.outputs.clone();
    ctx.shared.with_node(&id, |n| {
        n.outputs = (!outputs.is_empty()).then(|| outputs.clone());
        n.outbound_nodes = last.outbound.clone();
    });
    ctx.shared.finish(&id, last.phase, message.clone());
    Outcome {
        id,
        phase: last.phase,
        message,
        outputs,
        outbound: last.outbound,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
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
