//! The HTML side of the forms: one labelled control per schema field, with help and errors.

use super::schema::{child_pointer, kind, ordered, required_names, scalar_text, Kind};
use super::{field_id, labels, raw_from_value, Errors, Raw};
use maud::{html, Markup};
use serde_json::Value;
use std::collections::BTreeMap;

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
