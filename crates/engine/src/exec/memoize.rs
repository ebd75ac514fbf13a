//! A template's `memoize`, as Argo's controller does it: before the node runs, the entry
//! under (cache name, key) is loaded; one younger than `maxAge` (any age without it) is a hit:
//! the node is created Succeeded with the stored outputs and nothing runs. Otherwise the node
//! runs, and when it Succeeds its outputs are saved under the key (replacing an older entry).
//! Either way the node carries `memoizationStatus: {hit, key, cacheName}`.

use std::future::Future;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use chrono::Utc;
use regex::Regex;

use super::{Call, Outcome, RunCtx};
use crate::error::EngineError;
use crate::memo::MemoEntry;
use crate::model::{Memoize, Template};
use crate::state::NewNode;
use crate::status::{MemoizationStatus, NodeInputs, ParamValue, Phase};

/// Argo's `cacheKeyRegex`.
static KEY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new("^[a-zA-Z0-9][-a-zA-Z0-9]*$").unwrap_or_else(|_| unreachable!()));
/// A ConfigMap name (a DNS subdomain), which also keeps it a plain file name.
static CACHE_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
        .unwrap_or_else(|_| unreachable!())
});

/// Checks the fields of `memoize` that do not depend on the run.
pub fn validate(path: &str, t: &Template) -> Result<(), EngineError> {
    let Some(m) = &t.memoize else {
        return Ok(());
    };
    let here = format!("{path}.memoize");
    let unsupported =
        |field: String| EngineError::unsupported(field, "not supported by the local engine");
    if let Some(k) = m.extra.keys().next() {
        return Err(unsupported(format!("{here}.{k}")));
    }
    if let Some(k) = m.cache.extra.keys().next() {
        return Err(unsupported(format!("{here}.cache.{k}")));
    }
    let Some(cm) = &m.cache.config_map else {
        return Err(EngineError::Invalid(format!(
            "{here}.cache.configMap is required"
        )));
    };
    if let Some(k) = cm.extra.keys().next() {
        return Err(unsupported(format!("{here}.cache.configMap.{k}")));
    }
    if cm.name.is_empty() || m.key.is_empty() {
        return Err(EngineError::Invalid(format!(
            "{here}: `key` and `cache.configMap.name` are required"
        )));
    }
    if let Some(age) = m.max_age.as_deref().filter(|a| !a.contains("{{")) {
        parse_max_age(age).map_err(|e| EngineError::Invalid(format!("{here}.maxAge: {e}")))?;
    }
    Ok(())
}

/// `maxAge` as Go's `time.ParseDuration` reads it (a unit is required but for `0`).
fn parse_max_age(text: &str) -> Result<Duration, EngineError> {
    let text = text.trim();
    let unit = text == "0" || text.ends_with(|c: char| c.is_ascii_alphabetic());
    super::node::parse_duration(text)
        .filter(|_| unit)
        .ok_or_else(|| EngineError::Invalid(format!("invalid maxAge: {text}")))
}

/// `memoize` with the run's values substituted and checked.
struct Plan {
    status: MemoizationStatus,
    max_age: Option<Duration>,
}

fn plan(ctx: &RunCtx, m: &Memoize, inputs: &[ParamValue]) -> Result<Plan, EngineError> {
    let mut scope = ctx.global_scope();
    for p in inputs {
        scope.set(format!("inputs.parameters.{}", p.name), p.value.clone());
    }
    let key = scope.substitute(&m.key)?;
    let name = m
        .cache
        .config_map
        .as_ref()
        .map(|c| c.name.as_str())
        .unwrap_or_default();
    let cache_name = scope.substitute(name)?;
    if !KEY.is_match(&key) {
        return Err(EngineError::Invalid(format!("invalid cache key: {key}")));
    }
    if !CACHE_NAME.is_match(&cache_name) {
        return Err(EngineError::Invalid(format!(
            "invalid cache name: {cache_name} (a ConfigMap name)"
        )));
    }
    let max_age = match &m.max_age {
        Some(a) => Some(parse_max_age(&scope.substitute(a)?)?),
        None => None,
    };
    Ok(Plan {
        status: MemoizationStatus {
            hit: false,
            key,
            cache_name,
        },
        max_age,
    })
}

/// A node made here (a hit, or an error before running) with the call's inputs.
fn create(ctx: &RunCtx, call: &Call, inputs: &[ParamValue], phase: Phase, msg: Option<String>) {
    let id = ctx.id(&call.name);
    let t = &call.resolved.template;
    ctx.shared.create_node(NewNode {
        id: &id,
        name: &call.name,
        display: &call.display,
        node_type: super::node::node_type(t),
        template: Some(&t.name),
        boundary: call.boundary.as_deref(),
        phase,
        message: msg,
    });
    if !inputs.is_empty() {
        let parameters = inputs.to_vec();
        ctx.shared.with_node(&id, |n| {
            n.inputs = Some(NodeInputs {
                parameters,
                artifacts: Vec::new(),
            })
        });
    }
}

/// Runs `call` memoized by `m`: `run` is the node's own execution, started only on a miss.
pub async fn memoized(
    ctx: &Arc<RunCtx>,
    call: &Call,
    inputs: &[ParamValue],
    m: &Memoize,
    run: impl Future<Output = Outcome>,
) -> Outcome {
    let id = ctx.id(&call.name);
    let fail = |msg: String| {
        create(ctx, call, inputs, Phase::Error, Some(msg.clone()));
        Outcome::new(&id, Phase::Error, Some(msg))
    };
    let mut plan = match plan(ctx, m, inputs) {
        Ok(p) => p,
        Err(e) => return fail(e.to_string()),
    };
    let entry = match ctx
        .memo
        .load(&plan.status.cache_name, &plan.status.key)
        .await
    {
        Ok(entry) => entry,
        Err(e) => return fail(e.to_string()),
    };
    let fresh = entry.filter(|e| {
        let age = (Utc::now() - e.created_at).to_std().unwrap_or_default();
        plan.max_age.is_none_or(|max| age <= max)
    });
    if let Some(entry) = fresh {
        plan.status.hit = true;
        tracing::info!(node = %call.name, key = %plan.status.key, "memoize cache hit");
        create(ctx, call, inputs, Phase::Succeeded, None);
        let (status, outputs) = (plan.status, entry.outputs.clone());
        ctx.shared.with_node(&id, |n| {
            n.memoization_status = Some(status);
            n.outputs = (!outputs.is_empty()).then_some(outputs);
        });
        let mut outcome = Outcome::new(&id, Phase::Succeeded, None);
        outcome.outputs = entry.outputs;
        return outcome;
    }
    let mut outcome = run.await;
    let status = plan.status.clone();
    ctx.shared
        .with_node(&id, |n| n.memoization_status = Some(status));
    if outcome.phase == Phase::Succeeded {
        let entry = MemoEntry {
            node_id: id.clone(),
            outputs: outcome.outputs.clone(),
            created_at: Utc::now(),
        };
        let saved = ctx
            .memo
            .save(&plan.status.cache_name, &plan.status.key, entry)
            .await;
        if let Err(e) = saved {
            // As Argo: a result that cannot be cached errors the node.
            let msg = format!("failed to save node outputs to cache: {e}");
            ctx.shared.finish(&id, Phase::Error, Some(msg.clone()));
            outcome.phase = Phase::Error;
            outcome.message = Some(msg);
        }
    }
    outcome
}
