//! `retryStrategy`: a `Retry` node whose attempts `name(n)` run the template body until one
//! succeeds or the strategy (`limit`, `retryPolicy`, `expression`, `backoff`) gives up.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use super::node::{parse_duration, run_body, Call};
use super::{Outcome, RunCtx};
use crate::expr::{self, Mode};
use crate::model::RetryStrategy;
use crate::state::NewNode;
use crate::status::{NodeInputs, NodeType, ParamValue, Phase};
use crate::template::Scope;

fn retryable(policy: &str, phase: Phase) -> bool {
    match policy {
        "Always" => phase.is_failure(),
        "OnError" | "OnTransientError" => phase == Phase::Error,
        _ => phase == Phase::Failed,
    }
}

/// A `retryStrategy` with its values substituted and parsed.
struct Plan {
    limit: Option<u64>,
    policy: String,
    /// `backoff.duration`, `backoff.factor`, `backoff.maxDuration`.
    base: Option<Duration>,
    factor: f64,
    max_total: Option<Duration>,
    /// `EngineOptions::max_backoff`.
    cap: Option<Duration>,
}

impl Plan {
    fn new(rs: &RetryStrategy, scope: &Scope, cap: Option<Duration>) -> Self {
        let limit = match rs.limit.as_deref().map(|l| scope.substitute(l)) {
            Some(Ok(l)) => l.trim().parse().ok(),
            Some(Err(_)) | None => None,
        };
        let backoff = rs.backoff.as_ref();
        Plan {
            limit,
            policy: rs
                .retry_policy
                .clone()
                .unwrap_or_else(|| "OnFailure".into()),
            base: backoff
                .and_then(|b| b.duration.as_deref())
                .and_then(parse_duration),
            factor: backoff
                .and_then(|b| b.factor.as_deref())
                .and_then(|f| f.parse().ok())
                .unwrap_or(1.0),
            max_total: backoff
                .and_then(|b| b.max_duration.as_deref())
                .and_then(parse_duration),
            cap,
        }
    }

    /// Waits the backoff before attempt `attempt + 1`; false when `maxDuration` forbids it.
    async fn wait(&self, attempt: u64, began: Instant) -> bool {
        if let Some(b) = self.base {
            let growth = self.factor.powi(i32::try_from(attempt).unwrap_or(i32::MAX));
            // `mul_f64` panics past `Duration::MAX` (a long limit with a factor).
            let wait =
                Duration::try_from_secs_f64(b.as_secs_f64() * growth).unwrap_or(Duration::MAX);
            let wait = self.cap.map_or(wait, |cap| wait.min(cap));
            if self
                .max_total
                .is_some_and(|m| began.elapsed().saturating_add(wait) > m)
            {
                return false;
            }
            tokio::time::sleep(wait).await;
            true
        } else {
            self.max_total.is_none_or(|m| began.elapsed() <= m)
        }
    }
}

/// Whether `retryStrategy.expression` allows another attempt after attempt `attempt` ended
/// in `o` (false on an error). Template variables (`{{inputs.parameters.x}}`) are substituted
/// first; `retries` and `lastRetry.*` are the expression's own, as in Argo.
fn expression_allows(
    e: &str,
    scope: &Scope,
    attempt: u64,
    o: &Outcome,
    started: Instant,
    node: &str,
) -> bool {
    let env = json!({
        "retries": attempt,
        "lastRetry": {
            "exitCode": o.outputs.exit_code.as_deref().and_then(|c| c.parse::<i64>().ok()).unwrap_or(-1),
            "status": o.phase.as_str(),
            "duration": started.elapsed().as_secs_f64(),
            "message": o.message.clone().unwrap_or_default(),
        }
    });
    let evaluated = scope
        .substitute(e)
        .and_then(|text| expr::eval_bool(&text, &env, Mode::Expr));
    match evaluated {
        Ok(allowed) => allowed,
        Err(err) => {
            tracing::warn!(node = %node, "retryStrategy.expression: {err}");
            false
        }
    }
}

/// Runs `call` as a `Retry` node with attempt children; its outcome is the last attempt's.
pub(super) async fn run_retry(
    ctx: &Arc<RunCtx>,
    call: &Call,
    inputs: Vec<ParamValue>,
    rs: &RetryStrategy,
) -> Outcome {
    let id = ctx.id(&call.name);
    let scope = super::node::inputs_scope(ctx, &call.resolved.template, &inputs);
    open_retry_node(ctx, call, &id, &inputs);
    let plan = Plan::new(rs, &scope, ctx.max_backoff);
    let began = Instant::now();
    let mut attempt: u64 = 0;
    let last = loop {
        let child = format!("{}({attempt})", call.name);
        let child_display = format!("{}({attempt})", call.display);
        ctx.shared.add_child(&id, &ctx.id(&child));
        let mut attempt_call = call.clone();
        attempt_call.boundary = call.boundary.clone();
        let started = Instant::now();
        let o = run_body(
            ctx,
            &child,
            &child_display,
            &attempt_call,
            inputs.clone(),
            Some(attempt),
        )
        .await;
        if o.phase == Phase::Succeeded
            || plan.limit.is_some_and(|l| attempt >= l)
            || !retryable(&plan.policy, o.phase)
        {
            break o;
        }
        if let Some(e) = &rs.expression {
            if !expression_allows(e, &scope, attempt, &o, started, &call.name) {
                break o;
            }
        }
        if !plan.wait(attempt, began).await {
            break o;
        }
        attempt += 1;
    };
    finish_retry(ctx, id, last)
}

/// Creates the Running `Retry` node with its inputs.
fn open_retry_node(ctx: &RunCtx, call: &Call, id: &str, inputs: &[ParamValue]) {
    ctx.shared.create_node(NewNode {
        id,
        name: &call.name,
        display: &call.display,
        node_type: NodeType::Retry,
        template: Some(&call.resolved.template.name),
        boundary: call.boundary.as_deref(),
        phase: Phase::Running,
        message: None,
    });
    if !inputs.is_empty() {
        let ni = NodeInputs {
            parameters: inputs.to_vec(),
            ..Default::default()
        };
        ctx.shared.with_node(id, |n| n.inputs = Some(ni));
    }
}

/// Completes the `Retry` node `id` with the last attempt's phase, outputs and leaves.
fn finish_retry(ctx: &RunCtx, id: String, last: Outcome) -> Outcome {
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
