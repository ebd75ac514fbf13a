//! A config's page: its last runs' durations as a chart, its values, whether each secret is
//! set, and the secrets form.

use super::{form_errors, secret_input, secret_pointer};
use crate::charts::{duration_bars, BAR_RUNS};
use crate::error::UiError;
use crate::form::{self, Errors};
use crate::layout::{csrf_field, notice, time, Page};
use crate::pages::{config_href, project_crumbs, project_name, run_list};
use crate::session::{PostForm, Session};
use crate::UiState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use polyphemus_core::services::PageRequest;
use polyphemus_core::Access;
use polyphemus_model::{
    Config, ConfigId, FieldError, Role, RunFilter, RunSummary, SecretsPatch, WorkflowManifest,
};
use serde::Deserialize;
use std::collections::BTreeMap;

/// How many of a config's runs its page lists (the chart shows more).
const RECENT_RUNS: usize = 5;

#[derive(Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
}

pub async fn show_config(
    State(state): State<UiState>,
    session: Session,
    Path((project, config_id)): Path<(String, ConfigId)>,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, UiError> {
    let project = project_name(&project)?;
    let access = session.principal.access(&project);
    config_page(
        &state,
        &session,
        &access,
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
    access: &Access,
    config_id: ConfigId,
    notice_key: Option<&str>,
    secret_errors: Errors,
) -> Result<Markup, UiError> {
    let project = access.project();
    let config = state.services.latest_config(access, config_id).await?;
    let registry = state.services.registry();
    let manifest = registry.get(&config.workflow_type).map(|m| &m.manifest);
    let editor = session.can(project, Role::Editor);
    let refused = state.services.refused_by_package(&config);
    let base = config_href(project, config_id);
    let runtime = state.services.get_runtime(access, config_id).await?;
    let archive = state.services.config_archive(access, config_id).await?;
    let recent = recent_runs(state, access, config_id).await?;
    let live = recent.iter().any(|run| !run.phase.is_final());
    Ok(Page {
        title: config.workflow_name.clone(),
        session: Some(session),
        crumbs: project_crumbs(project),
        live,
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
                a.button href={ (base) "/backfills" } { "Backfills" }
                @if editor {
                    form method="post" action={ (base) @if archive.archived { "/unarchive" } @else { "/archive" } } {
                        (csrf_field(session))
                        button type="submit" { @if archive.archived { "Unarchive" } @else { "Archive" } }
                    }
                }
                @if editor && !archive.archived {
                    form method="post" action={ (base) "/launch" } {
                        (csrf_field(session))
                        @if refused.is_empty() {
                            button.primary type="submit" { "Launch" }
                        } @else {
                            button.primary type="submit" disabled aria-describedby="package-changed" { "Launch" }
                        }
                    }
                }
            }
        }
        (notice(notice_key))
        @if let Some(at) = archive.archived_at {
            p.notice.bad role="note" { "Archived on " (time(Some(at))) ": hidden from the dashboard, its schedule is off and it is not launched." }
        }
        @if !refused.is_empty() {
            (package_changed(&config, &refused, editor.then(|| format!("{base}/edit"))))
        }
        (summary(&config, html! {
            dt { "Schedule" }
            dd {
                @if runtime.disabled { (crate::layout::badge("disabled")) " " }
                @match (runtime.run_interval_s, &runtime.cron) {
                    (Some(seconds), _) => { "every " (seconds) " s" }
                    (None, Some(cron)) => { "cron " code { (cron) } @if let Some(tz) = &runtime.timezone { " (" (tz) ")" } }
                    (None, None) => { "only when launched" }
                }
                @if let Some(next) = runtime.next_run_at.filter(|_| !runtime.disabled) { "; next " (time(Some(next))) }
            }
        }))
        h2 { "Recent runs" }
        (duration_bars(project, &recent))
        (run_list::runs_table(project, recent.get(..RECENT_RUNS).unwrap_or(&recent), None))
        @if recent.len() > RECENT_RUNS {
            p { a href={ (base) "/runs" } { "All runs" } }
        }
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

/// The config's last runs, newest first, for the chart and the table, in one query.
async fn recent_runs(
    state: &UiState,
    access: &Access,
    config_id: ConfigId,
) -> Result<Vec<RunSummary>, UiError> {
    let filter = RunFilter {
        config_id: Some(config_id),
        ..RunFilter::default()
    };
    let page = PageRequest::parse(Some(BAR_RUNS as i64), None)?;
    Ok(state
        .services
        .list_project_runs(access, &filter, page)
        .await?
        .items)
}

/// Why this config cannot be launched: its workflow package changed and the new config schema
/// refuses the latest version.
fn package_changed(config: &Config, errors: &[FieldError], edit: Option<String>) -> Markup {
    html! {
        div.error-summary #package-changed role="alert" {
            h2 { "This config no longer matches its workflow package" }
            p {
                "The " code { (config.workflow_type) } " package was changed and its config \
                 schema refuses version " (config.version_number) ". Launches (by hand or by the \
                 schedule) are refused until the config is changed."
            }
            ul {
                @for error in errors {
                    li { code { (error.pointer) } ": " (error.message) }
                }
            }
            @if let Some(edit) = edit {
                p { a href=(edit) { "Edit the config" } }
            }
        }
    }
}

fn summary(config: &Config, schedule: Markup) -> Markup {
    html! {
        dl.summary {
            dt { "Workflow type" } dd { (config.workflow_type) }
            dt { "Version" } dd { (config.version_number) }
            dt { "Comment" } dd { (config.comment.as_deref().unwrap_or("—")) }
            dt { "Created" } dd { (time(Some(config.created_at))) }
            dt { "Updated" } dd { (time(Some(config.updated_at))) }
            (schedule)
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
    for name in manifest.secret_names() {
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
                    @for name in manifest.secret_names() {
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
                    @for secret in &manifest.secrets {
                        @let name = &secret.name;
                        (secret_input(secret, errors))
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
    Path((project, config_id)): Path<(String, ConfigId)>,
    form: PostForm,
) -> Result<Response, UiError> {
    let project = project_name(&project)?;
    let access = form.session.principal.access(&project);
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
        match state.services.put_secrets(&access, config_id, patch).await {
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
            let page = config_page(&state, session, &access, config_id, None, errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}
