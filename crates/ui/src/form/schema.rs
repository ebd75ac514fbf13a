//! The JSON side of the forms: how each schema node is edited, and raw text ↔ JSON.

use super::Raw;
use polyphemus_model::FieldError;
use serde_json::{Map, Number, Value};
use std::collections::BTreeMap;

/// `/config/port` → `f-config-port`.
pub fn field_id(pointer: &str) -> String {
    let mut id = String::from("f");
    for c in pointer.chars() {
        id.push(if c.is_ascii_alphanumeric() || c == '_' {
            c
        } else {
            '-'
        });
    }
    id
}

pub(super) fn child_pointer(prefix: &str, key: &str) -> String {
    format!("{prefix}/{}", key.replace('~', "~0").replace('/', "~1"))
}

/// The properties of an object schema in the order a form shows them: the required ones in
/// the order `required` lists them, then the rest by name (a JSON object's own key order is
/// not kept by serde_json here).
pub(super) fn ordered(schema: &Value, properties: &Map<String, Value>) -> Vec<(String, Value)> {
    let required = required_names(schema);
    let mut out: Vec<(String, Value)> = required
        .iter()
        .filter_map(|name| properties.get(*name).map(|s| (name.to_string(), s.clone())))
        .collect();
    let mut rest: Vec<(&String, &Value)> = properties
        .iter()
        .filter(|(name, _)| !required.contains(&name.as_str()))
        .collect();
    rest.sort_by(|a, b| a.0.cmp(b.0));
    out.extend(rest.into_iter().map(|(n, s)| (n.clone(), s.clone())));
    out
}

/// How a schema node is edited.
pub(super) enum Kind<'a> {
    Object(&'a Map<String, Value>),
    Enum(&'a [Value]),
    Text,
    Integer,
    Number,
    Boolean,
    /// One item per line.
    List(&'a Value),
    /// Anything else, as JSON text.
    Json,
}

pub(super) fn kind(schema: &Value) -> Kind<'_> {
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        return Kind::Enum(options);
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("object") => match schema.get("properties").and_then(Value::as_object) {
            Some(properties) => Kind::Object(properties),
            None => Kind::Json,
        },
        Some("string") => Kind::Text,
        Some("integer") => Kind::Integer,
        Some("number") => Kind::Number,
        Some("boolean") => Kind::Boolean,
        Some("array") => match schema.get("items") {
            Some(items) if is_scalar(items) => Kind::List(items),
            _ => Kind::Json,
        },
        _ => Kind::Json,
    }
}

fn is_scalar(schema: &Value) -> bool {
    matches!(
        kind(schema),
        Kind::Enum(_) | Kind::Text | Kind::Integer | Kind::Number | Kind::Boolean
    )
}

pub(super) fn required_names(schema: &Value) -> Vec<&str> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// A scalar as the text a person types.
pub(super) fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Flattens a stored value into raw text; with `defaults`, absent values take the schema's
/// defaults (a new config's form).
pub fn raw_from_value(
    schema: &Value,
    pointer: &str,
    value: Option<&Value>,
    defaults: bool,
    raw: &mut Raw,
) {
    let value = value.or_else(|| schema.get("default").filter(|_| defaults));
    match kind(schema) {
        Kind::Object(properties) => {
            for (key, child) in properties {
                let child_value = value.and_then(|v| v.get(key));
                raw_from_value(
                    child,
                    &child_pointer(pointer, key),
                    child_value,
                    defaults,
                    raw,
                );
            }
        }
        Kind::List(_) => {
            if let Some(items) = value.and_then(Value::as_array) {
                let lines: Vec<String> = items.iter().map(scalar_text).collect();
                raw.insert(pointer.to_owned(), lines.join("\n"));
            }
        }
        Kind::Json => {
            if let Some(value) = value {
                let text = serde_json::to_string_pretty(value).unwrap_or_default();
                raw.insert(pointer.to_owned(), text);
            }
        }
        _ => {
            if let Some(value) = value {
                raw.insert(pointer.to_owned(), scalar_text(value));
            }
        }
    }
}

/// Reads a value back from raw text. Empty fields are left out (so a required one is reported
/// missing by the schema); text that is not the field's type is kept as text so the schema
/// names the mismatch at its pointer. Only JSON that does not parse is reported here.
pub fn value_from_raw(
    schema: &Value,
    pointer: &str,
    raw: &Raw,
    errors: &mut Vec<FieldError>,
) -> Option<Value> {
    match kind(schema) {
        Kind::Object(properties) => {
            let mut object = Map::new();
            for (key, child) in properties {
                let child_pointer = child_pointer(pointer, key);
                if let Some(value) = value_from_raw(child, &child_pointer, raw, errors) {
                    object.insert(key.clone(), value);
                }
            }
            // A nested object left wholly empty is absent, unless it is the form's root.
            (!object.is_empty() || pointer.matches('/').count() <= 1)
                .then_some(Value::Object(object))
        }
        Kind::List(items) => {
            let text = raw.get(pointer)?;
            let values: Vec<Value> = text
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .map(|line| scalar_from_text(items, line))
                .collect();
            (!values.is_empty()).then_some(Value::Array(values))
        }
        Kind::Json => {
            let text = raw.get(pointer)?.trim();
            if text.is_empty() {
                return None;
            }
            match serde_json::from_str(text) {
                Ok(value) => Some(value),
                Err(error) => {
                    errors.push(FieldError {
                        pointer: pointer.to_owned(),
                        message: format!("is not valid JSON: {error}"),
                    });
                    None
                }
            }
        }
        _ => {
            let text = raw.get(pointer)?;
            if text.trim().is_empty() {
                return None;
            }
            Some(scalar_from_text(schema, text))
        }
    }
}

fn scalar_from_text(schema: &Value, text: &str) -> Value {
    match kind(schema) {
        Kind::Enum(options) => options
            .iter()
            .find(|option| scalar_text(option) == text)
            .cloned()
            .unwrap_or_else(|| Value::String(text.to_owned())),
        Kind::Integer | Kind::Number => serde_json::from_str::<Number>(text.trim())
            .map(Value::Number)
            .unwrap_or_else(|_| Value::String(text.to_owned())),
        Kind::Boolean => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            other => Value::String(other.to_owned()),
        },
        _ => Value::String(text.to_owned()),
    }
}

/// Leaves out of `new` what `old` did not hold and `new` sets to the schema's default, so
/// saving an unchanged form (a checkbox always sends its state) makes no new version.
pub fn drop_added_defaults(schema: &Value, old: &Value, new: &mut Value) {
    let (Kind::Object(properties), Some(object)) = (kind(schema), new.as_object_mut()) else {
        return;
    };
    for (key, child) in properties {
        match (old.get(key), object.get_mut(key)) {
            (None, Some(value)) if child.get("default") == Some(value) => {
                object.remove(key);
            }
            (Some(old_child), Some(value)) => drop_added_defaults(child, old_child, value),
            _ => {}
        }
    }
}

/// Each field's label by pointer, for the error summary's links.
pub fn labels(schema: &Value, pointer: &str, title: &str, out: &mut BTreeMap<String, String>) {
    if let Kind::Object(properties) = kind(schema) {
        for (key, child) in properties {
            let label = child.get("title").and_then(Value::as_str).unwrap_or(key);
            labels(child, &child_pointer(pointer, key), label, out);
        }
    }
    out.insert(pointer.to_owned(), title.to_owned());
}
