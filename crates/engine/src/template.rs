//! Variable scopes and `{{…}}` substitution: simple tags (`{{inputs.parameters.x}}`,
//! `{{steps.a.outputs.result}}`, `{{item.k}}`) and expression tags (`{{=expr}}`).

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::error::EngineError;
use crate::expr::{self, Mode};

/// Flat variables, keyed as Argo writes them (`inputs.parameters.message`).
#[derive(Debug, Clone, Default)]
pub struct Scope {
    vars: HashMap<String, Value>,
}

/// Prefixes whose unresolved tags are an error (others are left verbatim, as Argo does).
const STRICT: &[&str] = &[
    "inputs.",
    "steps.",
    "tasks.",
    "item",
    "workflow.parameters.",
];

impl Scope {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn set(&mut self, key: impl Into<String>, value: impl Into<Value>) {
        self.vars.insert(key.into(), value.into());
    }

    /// Sets `item` and, for a map item, `item.<key>`.
    pub fn set_item(&mut self, item: &Value) {
        if let Value::Object(m) = item {
            for (k, v) in m {
                self.vars
                    .insert(format!("item.{k}"), Value::String(expr::to_text(v)));
            }
        }
        self.vars.insert("item".into(), item.clone());
    }

    /// The scope as a nested object, the environment of `{{=…}}` expressions.
    pub fn env(&self) -> Value {
        let mut keys: Vec<&String> = self.vars.keys().collect();
        keys.sort_by_key(|k| (k.matches('.').count(), k.as_str()));
        let mut root = Map::new();
        for key in keys {
            let parts: Vec<&str> = key.split('.').collect();
            insert_path(&mut root, &parts, &self.vars[key]);
        }
        Value::Object(root)
    }

    /// Whether `s` is one tag naming an absent value (a skipped node's output without a
    /// default): an argument of it alone is not passed.
    pub fn is_absent(&self, s: &str) -> bool {
        let tag = s.trim();
        tag.strip_prefix("{{")
            .and_then(|t| t.strip_suffix("}}"))
            .is_some_and(|inner| self.vars.get(inner.trim()).is_some_and(Value::is_null))
    }

    /// Replaces every `{{…}}` tag in `s`.
    pub fn substitute(&self, s: &str) -> Result<String, EngineError> {
        if !s.contains("{{") {
            return Ok(s.to_string());
        }
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        let mut env: Option<Value> = None;
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else {
                out.push_str(&rest[start..]);
                return Ok(out);
            };
            let tag = &after[..end];
            let inner = tag.trim();
            if let Some(src) = inner.strip_prefix('=') {
                let env = env.get_or_insert_with(|| self.env());
                let v = expr::eval(src, env, Mode::Expr)?;
                out.push_str(&expr::to_text(&v));
            } else if let Some(v) = self.vars.get(inner) {
                out.push_str(&expr::to_text(v));
            } else if STRICT.iter().any(|p| inner.starts_with(p)) {
                return Err(EngineError::Invalid(format!(
                    "failed to resolve {{{{{inner}}}}}"
                )));
            } else {
                out.push_str("{{");
                out.push_str(tag);
                out.push_str("}}");
            }
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// Substitutes every string inside a JSON value (keys are left alone).
    pub fn substitute_value(&self, v: &mut Value) -> Result<(), EngineError> {
        match v {
            Value::String(s) if s.contains("{{") => *s = self.substitute(s)?,
            Value::Array(a) => {
                for x in a {
                    self.substitute_value(x)?;
                }
            }
            Value::Object(m) => {
                for x in m.values_mut() {
                    self.substitute_value(x)?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

fn insert_path(map: &mut Map<String, Value>, parts: &[&str], value: &Value) {
    match parts {
        [] => {}
        [last] => {
            if !matches!(map.get(*last), Some(Value::Object(_))) {
                map.insert((*last).to_string(), value.clone());
            }
        }
        [first, rest @ ..] => {
            let entry = map
                .entry((*first).to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            if let Value::Object(m) = entry {
                insert_path(m, rest, value);
            }
        }
    }
}

/// Evaluates an Argo `when` after substitution (govaluate: bare words are strings).
pub fn eval_when(scope: &Scope, when: &str) -> Result<bool, EngineError> {
    let text = scope.substitute(when)?;
    expr::eval_bool(&text, &Value::Null, Mode::Govaluate)
        .map_err(|e| EngineError::Expr(format!("invalid 'when' expression '{text}': {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn substitutes_tags_and_expressions() {
        let mut s = Scope::new();
        s.set("inputs.parameters.message", "hi");
        s.set("workflow.parameters.config", r#"{"a": "1"}"#);
        assert_eq!(
            s.substitute("say {{inputs.parameters.message}}!").unwrap(),
            "say hi!"
        );
        assert_eq!(
            s.substitute("{{=jsonpath(workflow.parameters.config, '$.a')}}")
                .unwrap(),
            "1"
        );
        assert_eq!(s.substitute("{{pod.name}}").unwrap(), "{{pod.name}}");
        assert!(s.substitute("{{inputs.parameters.nope}}").is_err());
        s.set_item(&json!({"num": 2}));
        assert_eq!(
            s.substitute("{{item.num}} {{item}}").unwrap(),
            r#"2 {"num":2}"#
        );
    }

    #[test]
    fn when_expressions() {
        let mut s = Scope::new();
        s.set("steps.flip.outputs.result", "heads");
        assert!(eval_when(&s, "{{steps.flip.outputs.result}} == heads").unwrap());
        assert!(!eval_when(&s, "{{steps.flip.outputs.result}} == tails").unwrap());
    }
}
