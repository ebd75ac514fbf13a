//! Outputs flowing between nodes: a finished step/task's variables in its parent's scope,
//! aggregated loop outputs (JSON lists, as Argo builds them), and the outputs of `steps`/`dag`
//! templates (`valueFrom.parameter` / `valueFrom.expression`).

use serde_json::Value;

use super::Outcome;
use crate::error::EngineError;
use crate::expr::{self, Mode};
use crate::model::Template;
use crate::status::{NodeOutputs, ParamValue, Phase};
use crate::template::Scope;

/// Adds `{kind}.{name}.*` (kind is `steps` or `tasks`) for one finished node.
pub fn add_node(scope: &mut Scope, kind: &str, name: &str, o: &Outcome) {
    let base = format!("{kind}.{name}");
    scope.set(format!("{base}.id"), o.id.clone());
    scope.set(format!("{base}.status"), o.phase.as_str());
    // Every pod of the local engine, a daemon's included, is reached on the host's loopback.
    scope.set(format!("{base}.ip"), "127.0.0.1");
    if let Some(r) = &o.outputs.result {
        scope.set(format!("{base}.outputs.result"), r.clone());
    }
    if let Some(c) = &o.outputs.exit_code {
        scope.set(format!("{base}.exitCode"), c.clone());
    }
    for p in &o.outputs.parameters {
        scope.set(
            format!("{base}.outputs.parameters.{}", p.name),
            p.value.clone(),
        );
    }
    crate::artifacts::add_to_scope(scope, &base, &o.outputs.artifacts);
}

/// The declared outputs of a skipped or omitted node's template (Argo's
/// `addSkippedNodeOutputsToScope`): a parameter's `valueFrom.default` is its value; without
/// one the parameter, like `outputs.result`, is absent (null: `??` falls back, an argument
/// made of it alone is not passed, so the consumer's input default applies).
pub fn add_skipped(scope: &mut Scope, kind: &str, name: &str, t: &Template) {
    let base = format!("{kind}.{name}");
    for p in t.outputs.iter().flat_map(|o| o.parameters.iter()) {
        let value = match p.value_from.as_ref().and_then(|v| v.default.clone()) {
            Some(default) => Value::String(default),
            None => Value::Null,
        };
        scope.set(format!("{base}.outputs.parameters.{}", p.name), value);
    }
    if t.kind() == crate::model::TemplateKind::Pod {
        scope.set(format!("{base}.outputs.result"), Value::Null);
    }
}

fn parse_item(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.to_string()))
}

/// Adds the aggregated outputs of loop children (only succeeded ones, in loop order).
pub fn add_aggregate(
    scope: &mut Scope,
    kind: &str,
    name: &str,
    id: &str,
    phase: Phase,
    children: &[Outcome],
) {
    let base = format!("{kind}.{name}");
    scope.set(format!("{base}.id"), id.to_string());
    scope.set(format!("{base}.status"), phase.as_str());
    let mut results = Vec::new();
    let mut params = Vec::new();
    let mut by_name: Vec<(String, Vec<String>)> = Vec::new();
    for o in children.iter().filter(|o| o.phase == Phase::Succeeded) {
        if let Some(r) = &o.outputs.result {
            results.push(parse_item(r));
        }
        if !o.outputs.parameters.is_empty() {
            let mut m = serde_json::Map::new();
            for p in &o.outputs.parameters {
                m.insert(p.name.clone(), Value::String(p.value.clone()));
                match by_name.iter_mut().find(|(n, _)| n == &p.name) {
                    Some((_, list)) => list.push(p.value.clone()),
                    None => by_name.push((p.name.clone(), vec![p.value.clone()])),
                }
            }
            params.push(Value::Object(m));
        }
    }
    scope.set(
        format!("{base}.outputs.result"),
        Value::Array(results).to_string(),
    );
    scope.set(
        format!("{base}.outputs.parameters"),
        Value::Array(params).to_string(),
    );
    for (pname, values) in by_name {
        // Argo: a list of JSON objects/lists when every value is one, else a list of strings.
        let parsed: Vec<Value> = values.iter().map(|v| parse_item(v)).collect();
        let list = if parsed.iter().all(|v| v.is_object() || v.is_array()) {
            Value::Array(parsed)
        } else {
            Value::Array(values.into_iter().map(Value::String).collect())
        };
        scope.set(
            format!("{base}.outputs.parameters.{pname}"),
            list.to_string(),
        );
    }
}

/// Computes a `steps`/`dag` template's declared outputs from its final scope.
pub fn template_outputs(t: &Template, scope: &Scope) -> Result<NodeOutputs, EngineError> {
    let mut out = NodeOutputs::default();
    let Some(decl) = &t.outputs else {
        return Ok(out);
    };
    out.artifacts = crate::artifacts::group_outputs(t, scope)?;
    for p in &decl.parameters {
        let vf = p.value_from.as_ref();
        let computed: Result<Option<String>, EngineError> =
            if let Some(src) = vf.and_then(|v| v.expression.as_deref()) {
                expr::eval(src, &scope.env(), Mode::Expr)
                    .map(|v| (!v.is_null()).then(|| expr::to_text(&v)))
            } else if let Some(src) = vf.and_then(|v| v.parameter.as_deref()) {
                scope.substitute(src).map(Some)
            } else if let Some(v) = &p.value {
                scope.substitute(v).map(Some)
            } else {
                Ok(None)
            };
        let value = match computed {
            Ok(Some(v)) => v,
            Ok(None) | Err(_) if vf.and_then(|v| v.default.as_ref()).is_some() => {
                vf.and_then(|v| v.default.clone()).unwrap_or_default()
            }
            Ok(None) => continue,
            Err(e) => {
                return Err(EngineError::Invalid(format!(
                    "outputs.parameters.{} of template `{}`: {e}",
                    p.name, t.name
                )))
            }
        };
        out.parameters.push(ParamValue {
            name: p.name.clone(),
            value,
        });
    }
    Ok(out)
}
