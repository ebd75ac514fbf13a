//! Forms rendered from a manifest's JSON Schema, and the JSON read back from what was posted.
//!
//! Every field's name is its JSON Pointer in the request body the API takes (`/config/port`),
//! so the services' 422 pointers land on the field they name. Values travel as raw text
//! (pointer → text) both ways: stored JSON is flattened into it to fill a form, a posted form
//! is read from it, and a refused form is shown again exactly as it was typed.

mod render;
mod schema;

pub use render::{errors_at, fields, single_field, text_field, values_table};
pub use schema::{drop_added_defaults, field_id, labels, raw_from_value, value_from_raw};

use maud::{html, Markup};
use polyphemus_model::FieldError;
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

    pub(crate) fn at(&self, pointer: &str) -> &[String] {
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
