//! Forms rendered from a manifest's JSON Schema, and the JSON read back from what was posted.
//!
//! Every field's name is its JSON Pointer in the request body the API takes (`/config/port`),
//! so the services' 422 pointers land on the field they name. Values travel as raw text
//! (pointer → text) both ways: stored JSON is flattened into it to fill a form, a posted form
//! is read from it, and a refused form is shown again exactly as it was typed.

use maud::{html, Markup};
use polyphemus_model::FieldError;
use serde_json::{Map, Number, Value};
use std::collections::BTreeMap;

/// Raw field text by pointer.
pub type Raw = BTreeMap<String, String>;

/// Error messages by pointer; those no field shows go to the summary at the top.
#[derive(Debug, Default)]
pub struct Errors {
    pub by_pointer: BTreeMap<String, Vec<String>>,
    /// A message about the whole form (a conflict, nothing to change).
    pub general: Vec<String>,
}

impl Errors {
    pub fn from_fields(errors: Vec<FieldError>) -> Self {
        let mut by_pointer: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for error in errors {
            by_pointer
                .entry(error.pointer)
                .or_default()
                .push(error.message);
        }
        Errors {
            by_pointer,
            general: Vec::new(),
        }
    }

    pub fn general(message: impl Into<String>) -> Self {
        Errors {
            by_pointer: BTreeMap::new(),
            general: vec![message.into()],
        }
    }

    pub fn is_empty(&self) -> bool {
        self.by_pointer.is_empty() && self.general.is_empty()
    }

    fn at(&self, pointer: &str) -> &[String] {
        self.by_pointer
            .get(pointer)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The list of every problem at the top of the form, each linking to its field.
    pub fn summary(&self, labels: &BTreeMap<String, String>) -> Markup {
        if self.is_empty() {
            return html! {};
        }
        html! {
            div.error-summary role="alert" tabindex="-1" #error-summary {
                h2 { "Please correct the following" }
                ul {
                    @for message in &self.general { li { (message) } }
                    @for (pointer, messages) in &self.by_pointer {
                        @for message in messages {
                            li {
                                @if let Some(label) = labels.get(pointer) {
                                    a href={ "#" (field_id(pointer)) } { (label) } ": " (message)
                                } @else {
                                    code { (pointer) } ": " (message)
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

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

fn child_pointer(prefix: &str, key: &str) -> String {
    format!("{prefix}/{}", key.replace('~', "~0").replace('/', "~1"))
}

/// The properties of an object schema in the order a form shows them: the required ones in
/// the order `required` lists them, then the rest by name (a JSON object's own key order is
/// not kept by serde_json here).
fn ordered(schema: &Value, properties: &Map<String, Value>) -> Vec<(String, Value)> {
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
enum Kind<'a> {
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

fn kind(schema: &Value) -> Kind<'_> {
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

fn required_names(schema: &Value) -> Vec<&str> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// A scalar as the text a person types.
fn scalar_text(value: &Value) -> String {
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

/// The input fields of an object schema, filled from `raw`, with each error at its field.
pub fn fields(schema: &Value, pointer: &str, raw: &Raw, errors: &Errors) -> Markup {
    let Kind::Object(properties) = kind(schema) else {
        return field(schema, pointer, "Value", true, raw, errors);
    };
    let required = required_names(schema);
    html! {
        @for message in errors.at(pointer) {
            p.error role="alert" { (message) }
        }
        @for (key, child) in ordered(schema, properties) {
            @let title = child.get("title").and_then(Value::as_str).unwrap_or(&key);
            (field(&child, &child_pointer(pointer, &key), title, required.contains(&key.as_str()), raw, errors))
        }
    }
}

fn help_text(schema: &Value) -> Vec<String> {
    let mut help = Vec::new();
    if let Some(description) = schema.get("description").and_then(Value::as_str) {
        let description = description.trim();
        if description.ends_with(['.', '!', '?', ')']) {
            help.push(description.to_owned());
        } else {
            help.push(format!("{description}."));
        }
    }
    let mut limits = Vec::new();
    if let Some(min) = schema.get("minimum") {
        limits.push(format!("at least {min}"));
    }
    if let Some(max) = schema.get("maximum") {
        limits.push(format!("at most {max}"));
    }
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
        limits.push(format!("must match the pattern {pattern}"));
    }
    match schema.get("format").and_then(Value::as_str) {
        Some("uri") => limits.push("a URL".to_owned()),
        Some("regex") => limits.push("a regular expression".to_owned()),
        Some("date-time") => limits.push("a time like 2026-01-31T23:00:00Z".to_owned()),
        Some("email") => limits.push("an e-mail address".to_owned()),
        _ => {}
    }
    if !limits.is_empty() {
        let mut text = limits.join(", ");
        if let Some(first) = text.get(..1) {
            text = first.to_uppercase() + &text[1..];
        }
        help.push(format!("{text}."));
    }
    if let Some(default) = schema.get("default") {
        let shown = match default {
            Value::String(text) if text.is_empty() => "empty".to_owned(),
            other => scalar_text(other),
        };
        help.push(format!("Default: {shown}."));
    }
    help
}

fn field(
    schema: &Value,
    pointer: &str,
    title: &str,
    required: bool,
    raw: &Raw,
    errors: &Errors,
) -> Markup {
    let id = field_id(pointer);
    let help = help_text(schema);
    let messages = errors.at(pointer);
    let help_id = format!("{id}-help");
    let error_id = format!("{id}-error");
    let mut described = Vec::new();
    if !messages.is_empty() {
        described.push(error_id.clone());
    }
    if !help.is_empty() {
        described.push(help_id.clone());
    }
    let described = (!described.is_empty()).then(|| described.join(" "));
    let invalid = (!messages.is_empty()).then_some("true");
    let value = raw.get(pointer).cloned().unwrap_or_default();
    let class = if messages.is_empty() {
        "field"
    } else {
        "field invalid"
    };
    let label = html! {
        (title)
        @if required { " " span.req { "(required)" } }
    };
    let help_and_errors = html! {
        @if !help.is_empty() {
            p.help id=(help_id) { @for line in &help { (line) " " } }
        }
        @if !messages.is_empty() {
            p.error id=(error_id) {
                @for message in messages { (message) " " }
            }
        }
    };
    match kind(schema) {
        Kind::Object(_) => html! {
            fieldset.group #(id) aria-describedby=[described] {
                legend { (label) }
                (help_and_errors)
                (fields(schema, pointer, raw, errors))
            }
        },
        Kind::Boolean => html! {
            div class=(class) {
                input type="hidden" name=(pointer) value="false";
                div.check {
                    input type="checkbox" #(id) name=(pointer) value="true"
                        checked[value == "true" || (value.is_empty() && schema.get("default") == Some(&Value::Bool(true)))] aria-describedby=[described.clone()]
                        aria-invalid=[invalid];
                    label for=(id) { (label) }
                }
                (help_and_errors)
            }
        },
        Kind::Enum(options) => html! {
            div class=(class) {
                label for=(id) { (label) }
                (help_and_errors)
                select #(id) name=(pointer) aria-describedby=[described.clone()]
                    aria-invalid=[invalid] aria-required=[required.then_some("true")] {
                    @if !required || value.is_empty() {
                        option value="" selected[value.is_empty()] { "(none)" }
                    }
                    @for option in options {
                        @let text = scalar_text(option);
                        option value=(text) selected[text == value] { (text) }
                    }
                }
            }
        },
        Kind::List(_) | Kind::Json => {
            let hint = if matches!(kind(schema), Kind::List(_)) {
                "One item per line."
            } else {
                "As JSON."
            };
            html! {
                div class=(class) {
                    label for=(id) { (label) " " span.muted { (hint) } }
                    (help_and_errors)
                    textarea #(id) name=(pointer) rows="4" aria-describedby=[described.clone()]
                        aria-invalid=[invalid] aria-required=[required.then_some("true")] { (value) }
                }
            }
        }
        Kind::Text | Kind::Integer | Kind::Number => {
            let (input_type, inputmode, step) = match kind(schema) {
                Kind::Integer => ("number", Some("numeric"), Some("1")),
                Kind::Number => ("number", Some("decimal"), Some("any")),
                _ => match schema.get("format").and_then(Value::as_str) {
                    Some("uri") => ("url", None, None),
                    Some("email") => ("email", None, None),
                    _ => ("text", None, None),
                },
            };
            html! {
                div class=(class) {
                    label for=(id) { (label) }
                    (help_and_errors)
                    input #(id) type=(input_type) name=(pointer) value=(value)
                        inputmode=[inputmode] step=[step]
                        min=[schema.get("minimum").map(scalar_text)]
                        max=[schema.get("maximum").map(scalar_text)]
                        aria-describedby=[described.clone()] aria-invalid=[invalid]
                        aria-required=[required.then_some("true")] spellcheck="false"
                        autocomplete="off";
                }
            }
        }
    }
}

/// One field of the given schema outside an object form.
pub fn single_field(
    schema: &Value,
    pointer: &str,
    title: &str,
    required: bool,
    raw: &Raw,
    errors: &Errors,
) -> Markup {
    field(schema, pointer, title, required, raw, errors)
}

/// A plain text field that is not from a schema (name, comment, schedule).
pub fn text_field(
    pointer: &str,
    title: &str,
    help: Option<&str>,
    required: bool,
    raw: &Raw,
    errors: &Errors,
) -> Markup {
    let mut schema = serde_json::json!({"type": "string"});
    if let Some(help) = help {
        schema["description"] = Value::String(help.to_owned());
    }
    field(&schema, pointer, title, required, raw, errors)
}

/// A field's errors alone (for fields drawn by hand, like secrets).
pub fn errors_at(errors: &Errors, pointer: &str) -> Vec<String> {
    errors.at(pointer).to_vec()
}

/// The stored values as a table of label and value, for people who may not edit them.
pub fn values_table(schema: &Value, config: &Value) -> Markup {
    let mut raw = Raw::new();
    raw_from_value(schema, "", Some(config), false, &mut raw);
    let mut names = BTreeMap::new();
    labels(schema, "", "", &mut names);
    let mut order = Vec::new();
    walk_order(schema, "", &mut order);
    html! {
        table.values {
            caption.visually-hidden { "Config values" }
            tbody {
                @for pointer in &order {
                    @if let Some(value) = raw.get(pointer).filter(|v| !v.is_empty()) {
                        tr {
                            th scope="row" { (names.get(pointer).cloned().unwrap_or_default()) }
                            td { code { (value) } }
                        }
                    }
                }
            }
        }
    }
}

fn walk_order(schema: &Value, pointer: &str, out: &mut Vec<String>) {
    if let Kind::Object(properties) = kind(schema) {
        for (key, child) in ordered(schema, properties) {
            walk_order(&child, &child_pointer(pointer, &key), out);
        }
    } else {
        out.push(pointer.to_owned());
    }
}
