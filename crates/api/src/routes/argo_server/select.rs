//! What a list keeps: Kubernetes label selectors (`listOptions.labelSelector`) and Argo's
//! `fields` projection (`items.metadata.name,items.status.phase`).

use super::error::ArgoError;
use serde_json::{Map, Value};

/// One requirement of a label selector: `key=value`, `key==value`, `key!=value`, `key`, `!key`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    Exists(String),
    Absent(String),
}

/// A parsed label selector; empty selects everything.
#[derive(Debug, Default)]
pub struct LabelSelector(Vec<Requirement>);

impl LabelSelector {
    pub fn parse(text: &str) -> Result<Self, ArgoError> {
        let mut requirements = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let requirement = if let Some((key, value)) = part.split_once("!=") {
                Requirement::NotEquals(key.trim().into(), value.trim().into())
            } else if let Some((key, value)) =
                part.split_once("==").or_else(|| part.split_once('='))
            {
                Requirement::Equals(key.trim().into(), value.trim().into())
            } else if let Some(key) = part.strip_prefix('!') {
                Requirement::Absent(key.trim().into())
            } else if part.contains([' ', '(', ')']) {
                return Err(ArgoError::invalid(format!(
                    "listOptions.labelSelector: set-based requirement {part:?} is not supported; \
                     use key=value, key!=value, key or !key"
                )));
            } else {
                Requirement::Exists(part.into())
            };
            requirements.push(requirement);
        }
        Ok(Self(requirements))
    }

    pub fn matches(&self, workflow: &Value) -> bool {
        let labels = &workflow["metadata"]["labels"];
        let label = |key: &str| labels.get(key).and_then(Value::as_str);
        self.0.iter().all(|requirement| match requirement {
            Requirement::Equals(key, value) => label(key) == Some(value.as_str()),
            Requirement::NotEquals(key, value) => label(key) != Some(value.as_str()),
            Requirement::Exists(key) => label(key).is_some(),
            Requirement::Absent(key) => label(key).is_none(),
        })
    }
}

/// Keeps only the dotted paths `fields` names, as Argo Server does for its list: `items.x.y`
/// applies `x.y` to each item. No `fields` (or an empty one) keeps everything.
pub fn project_fields(list: Value, fields: Option<&str>) -> Value {
    let Some(fields) = fields.filter(|f| !f.trim().is_empty()) else {
        return list;
    };
    let paths: Vec<Vec<&str>> = fields
        .split(',')
        .map(|f| f.trim().split('.').collect())
        .collect();
    keep(&list, &paths)
}

/// The parts of `value` the paths reach; an array applies the rest of a path to each element.
fn keep(value: &Value, paths: &[Vec<&str>]) -> Value {
    if paths.iter().any(Vec::is_empty) {
        return value.clone();
    }
    match value {
        Value::Array(items) => Value::Array(items.iter().map(|item| keep(item, paths)).collect()),
        Value::Object(object) => {
            let mut kept = Map::new();
            for (key, inner) in object {
                let rest: Vec<Vec<&str>> = paths
                    .iter()
                    .filter(|path| path[0] == key)
                    .map(|path| path[1..].to_vec())
                    .collect();
                if !rest.is_empty() {
                    kept.insert(key.clone(), keep(inner, &rest));
                }
            }
            Value::Object(kept)
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_selector_matches_on_equality_inequality_and_presence() {
        let workflow = json!({"metadata": {"labels": {"team": "data", "tier": "1"}}});
        for (selector, expected) in [
            ("team=data", true),
            ("team==data,tier=1", true),
            ("team!=data", false),
            ("owner!=x", true),
            ("tier", true),
            ("!tier", false),
            ("", true),
        ] {
            let parsed = LabelSelector::parse(selector).expect("parses");
            assert_eq!(parsed.matches(&workflow), expected, "{selector}");
        }
        assert!(LabelSelector::parse("team in (a,b)").is_err());
    }

    #[test]
    fn fields_keep_only_the_named_paths_of_each_item() {
        let list = json!({"metadata": {"resourceVersion": "1"}, "items": [
            {"metadata": {"name": "a", "uid": "u"}, "status": {"phase": "Running", "nodes": {}}},
        ]});
        let projected = project_fields(
            list,
            Some("metadata,items.metadata.name,items.status.phase"),
        );
        assert_eq!(
            projected,
            json!({"metadata": {"resourceVersion": "1"}, "items": [
                {"metadata": {"name": "a"}, "status": {"phase": "Running"}},
            ]})
        );
    }
}
