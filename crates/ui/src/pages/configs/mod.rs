//! Config pages: create and edit forms rendered from the manifest's JSON Schema, the config's
//! current values, and its secrets (write-only: only whether each is set is shown).

mod create;
mod edit;
mod show;

pub use create::{create_config, new_config};
pub use edit::{edit_config, update_config};
pub use show::{show_config, update_secrets};

use crate::error::UiError;
use crate::form::{self, Errors, Raw};
use crate::layout::csrf_field;
use crate::session::{PostForm, Session};
use maud::{html, Markup};
use polyphemus_core::CoreError;
use polyphemus_model::{SecretName, SecretSpec, VersionNumber, WorkflowManifest};
use serde_json::Value;
use std::collections::BTreeMap;

/// Field errors the services report on a form's own fields; anything else is a page error.
pub(super) fn form_errors(error: CoreError) -> Result<Errors, UiError> {
    match error {
        CoreError::Unprocessable { detail, errors } | CoreError::BadRequest { detail, errors } => {
            let mut shown = Errors::from_fields(errors);
            if shown.by_pointer.is_empty() {
                shown.general.push(detail);
            }
            Ok(shown)
        }
        CoreError::Conflict(message) => Ok(Errors::general(format!(
            "{message}. Someone saved a newer version while you were editing; \
             open the config again to see it."
        ))),
        other => Err(other.into()),
    }
}

pub(super) fn raw_fields(form: &PostForm) -> Raw {
    form.fields.iter().cloned().collect()
}

pub(super) fn secret_pointer(name: &SecretName) -> String {
    format!("/secrets/{name}")
}

pub(super) struct ConfigForm<'a> {
    pub manifest: &'a WorkflowManifest,
    pub action: String,
    pub raw: Raw,
    pub errors: Errors,
    /// Editing this version (None: a new config).
    pub editing: Option<VersionNumber>,
}

pub(super) fn config_form(session: &Session, form: &ConfigForm) -> Markup {
    let schema = &form.manifest.config_schema;
    let mut labels = BTreeMap::new();
    form::labels(schema, "/config", "Settings", &mut labels);
    labels.insert("/workflow_name".into(), "Name".into());
    labels.insert("/comment".into(), "Comment".into());
    for name in form.manifest.secret_names() {
        labels.insert(secret_pointer(name), format!("Secret {name}"));
    }
    html! {
        (form.errors.summary(&labels))
        form.config method="post" action=(form.action) novalidate {
            (csrf_field(session))
            @if let Some(version) = form.editing {
                input type="hidden" name="expected_version" value=(version);
            } @else {
                input type="hidden" name="workflow_type" value=(form.manifest.name);
            }
            (form::text_field("/workflow_name", "Name", Some("A label for this pipeline, e.g. nightly CAT ingest."), true, &form.raw, &form.errors))
            fieldset.group {
                legend { "Settings" }
                @if let Some(title) = schema.get("title").and_then(Value::as_str) {
                    p.help { (title) }
                }
                (form::fields(schema, "/config", &form.raw, &form.errors))
            }
            @if form.editing.is_none() && !form.manifest.secrets.is_empty() {
                fieldset.group {
                    legend { "Secrets" }
                    p.help { "Stored encrypted and never shown again; leave empty to set later. \
                              If the form comes back with errors, type them again." }
                    @for secret in &form.manifest.secrets {
                        (secret_input(secret, &form.errors))
                    }
                }
            }
            (form::text_field("/comment", "Comment", Some("Why this change? Shown in the version history."), false, &form.raw, &form.errors))
            div.actions {
                button.primary type="submit" {
                    @if form.editing.is_some() { "Save" } @else { "Create config" }
                }
            }
        }
    }
}

pub(super) fn secret_input(secret: &SecretSpec, errors: &Errors) -> Markup {
    let name = &secret.name;
    let pointer = secret_pointer(name);
    let id = form::field_id(&pointer);
    let messages = form::errors_at(errors, &pointer);
    html! {
        div class={ "field" @if !messages.is_empty() { " invalid" } } {
            label for=(id) { (name) }
            @if let Some(description) = &secret.description {
                p.help id={ (id) "-help" } { (description) }
            }
            @if !messages.is_empty() {
                p.error id={ (id) "-error" } { @for m in &messages { (m) " " } }
            }
            // Keys and certificates span lines, which a password input would drop.
            @if secret.multiline {
                textarea.secret #(id) name=(pointer) rows="3" autocomplete="off"
                    spellcheck="false" aria-invalid=[(!messages.is_empty()).then_some("true")]
                    aria-describedby=[(!messages.is_empty()).then(|| format!("{id}-error"))] {}
            } @else {
                input #(id) type="password" name=(pointer) autocomplete="new-password"
                    spellcheck="false" aria-invalid=[(!messages.is_empty()).then_some("true")]
                    aria-describedby=[(!messages.is_empty()).then(|| format!("{id}-error"))];
            }
        }
    }
}
