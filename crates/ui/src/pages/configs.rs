//! Config pages: create and edit forms rendered from the manifest's JSON Schema, the config's
//! current values, and its secrets (write-only: only whether each is set is shown).

use crate::error::UiError;
use crate::form::{self, Errors, Raw};
use crate::layout::{csrf_field, notice, time, Page};
use crate::pages::{config_crumbs, config_href, project_crumbs, project_name};
use crate::session::{PostForm, Session};
use crate::UiState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use polyphemus_core::CoreError;
use polyphemus_model::{
    Config, CreateConfig, PatchConfig, ProjectName, Role, SecretsPatch, WorkflowManifest,
};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Field errors the services report on a form's own fields; anything else is a page error.
fn form_errors(error: CoreError) -> Result<Errors, UiError> {
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

fn raw_fields(form: &PostForm) -> Raw {
    form.fields.iter().cloned().collect()
}

fn secret_pointer(name: &str) -> String {
    format!("/secrets/{name}")
}

struct ConfigForm<'a> {
    manifest: &'a WorkflowManifest,
    action: String,
    raw: Raw,
    errors: Errors,
    /// Editing this version (None: a new config).
    editing: Option<i32>,
}

fn config_form(session: &Session, form: &ConfigForm) -> Markup {
    let schema = &form.manifest.config_schema;
    let mut labels = BTreeMap::new();
    form::labels(schema, "/config", "Settings", &mut labels);
    labels.insert("/workflow_name".into(), "Name".into());
    labels.insert("/comment".into(), "Comment".into());
    for name in &form.manifest.secrets {
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
                    @for name in &form.manifest.secrets {
                        (secret_input(name, &form.errors))
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

fn secret_input(name: &str, errors: &Errors) -> Markup {
    let pointer = secret_pointer(name);
    let id = form::field_id(&pointer);
    let messages = form::errors_at(errors, &pointer);
    html! {
        div class={ "field" @if !messages.is_empty() { " invalid" } } {
            label for=(id) { (name) }
            @if !messages.is_empty() {
                p.error id={ (id) "-error" } { @for m in &messages { (m) " " } }
            }
            @if multiline_secret(name) {
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

/// Secrets that span lines (keys, certificates) cannot go in a password input, which drops
/// line breaks; they get a text area, still never filled from the store.
fn multiline_secret(name: &str) -> bool {
    ["private_key", "pem", "certificate"]
        .iter()
        .any(|part| name.contains(part))
}

#[derive(Deserialize)]
pub struct NewQuery {
    workflow_type: Option<String>,
}

pub async fn new_config(
    State(state): State<UiState>,
    session: Session,
    Path(project): Path<String>,
    Query(query): Query<NewQuery>,
) -> Result<Response, UiError> {
    let project = project_name(&project)?;
    session
        .principal
        .require(&project, Role::Editor)
        .map_err(UiError::from)?;
    let registry = &state.services.registry;
    let chosen =
        match query.workflow_type.as_deref() {
            Some(name) => Some(registry.get(name).ok_or_else(|| {
                UiError::from(CoreError::not_found(format!("workflow type {name}")))
            })?),
            None if registry.names().len() == 1 => registry.all().next(),
            None => None,
        };
    let page = Page {
        title: "New config".to_owned(),
        session: Some(&session),
        crumbs: project_crumbs(&project),
        live: false,
    };
    let Some(manifest) = chosen else {
        return Ok(page
            .render(html! {
                h1 { "New config" }
                p { "Choose the workflow type:" }
                ul.cards {
                    @for manifest in registry.all() {
                        li {
                            a href={ "?workflow_type=" (manifest.name()) } { (manifest.name()) }
                            p.muted { (manifest.manifest.description) }
                        }
                    }
                }
            })
            .into_response());
    };
    let mut raw = Raw::new();
    form::raw_from_value(
        &manifest.manifest.config_schema,
        "/config",
        None,
        true,
        &mut raw,
    );
    Ok(render_new(
        &session,
        &project,
        &manifest.manifest,
        raw,
        Errors::default(),
    )
    .into_response())
}

fn render_new(
    session: &Session,
    project: &ProjectName,
    manifest: &WorkflowManifest,
    raw: Raw,
    errors: Errors,
) -> Markup {
    let form = ConfigForm {
        manifest,
        action: format!("/projects/{project}/configs"),
        raw,
        errors,
        editing: None,
    };
    Page {
        title: format!("New {} config", manifest.name),
        session: Some(session),
        crumbs: project_crumbs(project),
        live: false,
    }
    .render(html! {
        h1 { "New " (manifest.name) " config" }
        p.muted { (manifest.description) }
        (config_form(session, &form))
    })
}

pub async fn create_config(
    State(state): State<UiState>,
    Path(project): Path<String>,
    form: PostForm,
) -> Result<Response, UiError> {
    let project = project_name(&project)?;
    let workflow_type = form.get("workflow_type").unwrap_or_default().to_owned();
    let manifest =
        state.services.registry.get(&workflow_type).ok_or_else(|| {
            UiError::bad_request(format!("unknown workflow type {workflow_type:?}"))
        })?;
    let manifest = &manifest.manifest;
    let mut raw = raw_fields(&form);
    let mut errors = Vec::new();
    let config = form::value_from_raw(&manifest.config_schema, "/config", &raw, &mut errors)
        .unwrap_or_else(|| json!({}));
    let secrets: BTreeMap<String, String> = manifest
        .secrets
        .iter()
        .filter_map(|name| {
            let value = raw.get(&secret_pointer(name))?;
            (!value.is_empty()).then(|| (name.clone(), value.clone()))
        })
        .collect();
    // Secret values are never sent back to the browser, not even in a refused form.
    raw.retain(|pointer, _| !pointer.starts_with("/secrets/"));
    let session = &form.session;
    if !errors.is_empty() {
        let page = render_new(
            session,
            &project,
            manifest,
            raw,
            Errors::from_fields(errors),
        );
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let request = CreateConfig {
        workflow_type,
        workflow_name: raw.get("/workflow_name").cloned().unwrap_or_default(),
        config,
        secrets,
        comment: raw
            .get("/comment")
            .filter(|c| !c.trim().is_empty())
            .cloned(),
    };
    match state
        .services
        .create_config(&session.principal, &project, request)
        .await
    {
        Ok(created) => Ok(Redirect::to(&format!(
            "{}?notice=created",
            config_href(&project, created.config_id)
        ))
        .into_response()),
        Err(error) => {
            let errors = form_errors(error)?;
            let page = render_new(session, &project, manifest, raw, errors);
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

#[derive(Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
}

pub async fn show_config(
    State(state): State<UiState>,
    session: Session,
    Path((project, config_id)): Path<(String, i64)>,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, UiError> {
    let project = project_name(&project)?;
    config_page(
        &state,
        &session,
        &project,
        config_id,
        query.notice.as_deref(),
        Errors::default(),
    )
    .await
    .map(|page| page.into_response())
}

async fn config_page(
    state: &UiState,
    session: &Session,
    project: &ProjectName,
    config_id: i64,
    notice_key: Option<&str>,
    secret_errors: Errors,
) -> Result<Markup, UiError> {
    let config = state
        .services
        .latest_config(&session.principal, project, config_id)
        .await?;
    let manifest = state
        .services
        .registry
        .get(&config.workflow_type)
        .map(|m| &m.manifest);
    let editor = session.can(project, Role::Editor);
    let base = config_href(project, config_id);
    Ok(Page {
        title: config.workflow_name.clone(),
        session: Some(session),
        crumbs: project_crumbs(project),
        live: false,
    }
    .render(html! {
        div.title-row {
            h1 { (config.workflow_name) }
            div.actions {
                @if editor {
                    a.button href={ (base) "/edit" } { "Edit" }
                }
                a.button href={ (base) "/versions" } { "History" }
                a.button href={ (base) "/runtime" } { "Schedule" }
                a.button href={ (base) "/runs" } { "Runs" }
                @if editor {
                    form method="post" action={ (base) "/launch" } {
                        (csrf_field(session))
                        button.primary type="submit" { "Launch" }
                    }
                }
            }
        }
        (notice(notice_key))
        (summary(&config))
        h2 { "Settings" }
        @match manifest {
            Some(manifest) => (form::values_table(&manifest.config_schema, &config.config)),
            None => (crate::layout::json_block(&config.config, "Config")),
        }
        @if let Some(manifest) = manifest {
            (secrets_section(session, &base, manifest, &config, editor, &secret_errors))
        }
    }))
}

fn summary(config: &Config) -> Markup {
    html! {
        dl.summary {
            dt { "Workflow type" } dd { (config.workflow_type) }
            dt { "Version" } dd { (config.version_number) }
            dt { "Comment" } dd { (config.comment.as_deref().unwrap_or("—")) }
            dt { "Created" } dd { (time(Some(config.created_at))) }
            dt { "Updated" } dd { (time(Some(config.updated_at))) }
        }
    }
}

fn secrets_section(
    session: &Session,
    base: &str,
    manifest: &WorkflowManifest,
    config: &Config,
    editor: bool,
    errors: &Errors,
) -> Markup {
    let mut labels = BTreeMap::new();
    for name in &manifest.secrets {
        labels.insert(secret_pointer(name), format!("Secret {name}"));
    }
    html! {
        section aria-labelledby="secrets-heading" {
            h2 #secrets-heading { "Secrets" }
            @if manifest.secrets.is_empty() {
                p.muted { "This workflow type takes no secrets." }
            }
            table.values {
                caption.visually-hidden { "Whether each secret is set" }
                tbody {
                    @for name in &manifest.secrets {
                        tr {
                            th scope="row" { (name) }
                            td data-secret=(name) {
                                @if config.secrets.contains_key(name) {
                                    span.badge.ok { "set" } " " span.masked aria-label="value hidden" { "••••••" }
                                } @else {
                                    span.badge.idle { "not set" }
                                }
                            }
                        }
                    }
                }
            }
            @if editor && !manifest.secrets.is_empty() {
                (errors.summary(&labels))
                form.secrets method="post" action={ (base) "/secrets" } novalidate {
                    (csrf_field(session))
                    p.help { "Type a new value to set or replace a secret. Values are write-only: \
                              they are encrypted and never shown again." }
                    @for name in &manifest.secrets {
                        (secret_input(name, errors))
                        @if config.secrets.contains_key(name) {
                            div.check {
                                input type="checkbox" name="remove" value=(name) id={ "remove-" (name) };
                                label for={ "remove-" (name) } { "Remove " (name) }
                            }
                        }
                    }
                    button type="submit" { "Update secrets" }
                }
            }
        }
    }
}

pub async fn update_secrets(
    State(state): State<UiState>,
    Path((project, config_id)): Path<(String, i64)>,
    form: PostForm,
) -> Result<Response, UiError> {
    let project = project_name(&project)?;
    let mut patch = SecretsPatch::new();
    for (name, value) in &form.fields {
        if let Some(secret) = name.strip_prefix("/secrets/") {
            if !value.is_empty() {
                patch.insert(secret.to_owned(), Some(value.clone()));
            }
        } else if name == "remove" {
            patch.entry(value.clone()).or_insert(None);
        }
    }
    let session = &form.session;
    let result = if patch.is_empty() {
        Err(Errors::general(
            "Type a new value or tick Remove for at least one secret.",
        ))
    } else {
        match state
            .services
            .put_secrets(&session.principal, &project, config_id, patch)
            .await
        {
            Ok(_) => Ok(()),
            Err(error) => Err(form_errors(error)?),
        }
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!(
            "{}?notice=secrets",
            config_href(&project, config_id)
        ))
        .into_response()),
        Err(errors) => {
            let page = config_page(&state, session, &project, config_id, None, errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

pub async fn edit_config(
    State(state): State<UiState>,
    session: Session,
    Path((project, config_id)): Path<(String, i64)>,
) -> Result<Response, UiError> {
    let project = project_name(&project)?;
    session
        .principal
        .require(&project, Role::Editor)
        .map_err(UiError::from)?;
    let config = state
        .services
        .latest_config(&session.principal, &project, config_id)
        .await?;
    let manifest = super::manifest(&state, &config.workflow_type)?;
    let mut raw = Raw::new();
    form::raw_from_value(
        &manifest.config_schema,
        "/config",
        Some(&config.config),
        false,
        &mut raw,
    );
    raw.insert("/workflow_name".into(), config.workflow_name.clone());
    Ok(render_edit(
        &session,
        &project,
        &config,
        manifest,
        raw,
        Errors::default(),
    )
    .into_response())
}

fn render_edit(
    session: &Session,
    project: &ProjectName,
    config: &Config,
    manifest: &WorkflowManifest,
    raw: Raw,
    errors: Errors,
) -> Markup {
    let form = ConfigForm {
        manifest,
        action: config_href(project, config.config_id),
        raw,
        errors,
        editing: Some(config.version_number),
    };
    Page {
        title: format!("Edit {}", config.workflow_name),
        session: Some(session),
        crumbs: config_crumbs(project, config.config_id, &config.workflow_name),
        live: false,
    }
    .render(html! {
        h1 { "Edit " (config.workflow_name) }
        p.muted {
            "Changing a setting saves version " (config.version_number + 1)
            "; earlier versions are kept. Changing only the name or comment updates version "
            (config.version_number) "."
        }
        (config_form(session, &form))
    })
}

pub async fn update_config(
    State(state): State<UiState>,
    Path((project, config_id)): Path<(String, i64)>,
    form: PostForm,
) -> Result<Response, UiError> {
    let project = project_name(&project)?;
    let session = &form.session;
    let latest = state
        .services
        .latest_config(&session.principal, &project, config_id)
        .await?;
    let manifest = super::manifest(&state, &latest.workflow_type)?;
    let raw = raw_fields(&form);
    let mut errors = Vec::new();
    let mut config = form::value_from_raw(&manifest.config_schema, "/config", &raw, &mut errors)
        .unwrap_or_else(|| json!({}));
    form::drop_added_defaults(&manifest.config_schema, &latest.config, &mut config);
    if !errors.is_empty() {
        let page = render_edit(
            session,
            &project,
            &latest,
            manifest,
            raw,
            Errors::from_fields(errors),
        );
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let name = raw.get("/workflow_name").cloned().unwrap_or_default();
    let expected_version = match form.get("expected_version").map(str::parse::<i32>) {
        Some(Ok(version)) => Some(version),
        Some(Err(_)) => return Err(UiError::bad_request("expected_version must be a number")),
        None => None,
    };
    let patch = PatchConfig {
        config: (config != latest.config).then_some(config),
        workflow_name: (name != latest.workflow_name).then_some(name),
        comment: raw
            .get("/comment")
            .filter(|c| !c.trim().is_empty())
            .cloned(),
        expected_version,
    };
    let href = config_href(&project, config_id);
    if patch.config.is_none() && patch.workflow_name.is_none() && patch.comment.is_none() {
        return Ok(Redirect::to(&format!("{href}?notice=unchanged")).into_response());
    }
    match state
        .services
        .patch_config(&session.principal, &project, config_id, patch)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("{href}?notice=saved")).into_response()),
        Err(error) => {
            let errors = form_errors(error)?;
            let page = render_edit(session, &project, &latest, manifest, raw, errors);
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}
