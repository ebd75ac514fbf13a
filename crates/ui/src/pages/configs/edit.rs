//! Editing a config: a changed setting saves the next version.

use super::{config_form, form_errors, raw_fields, ConfigForm};
use crate::error::UiError;
use crate::form::{self, Errors, Raw};
use crate::layout::Page;
use crate::pages::{config_crumbs, config_href, project_name};
use crate::session::{PostForm, Session};
use crate::UiState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use polyphemus_model::{
    Config, ConfigId, PatchConfig, ProjectName, Role, VersionNumber, WorkflowManifest,
};
use serde_json::json;

pub async fn edit_config(
    State(state): State<UiState>,
    session: Session,
    Path((project, config_id)): Path<(String, ConfigId)>,
) -> Result<Response, UiError> {
    let project = project_name(&project)?;
    let access = session.principal.access(&project);
    access.require(Role::Editor).map_err(UiError::from)?;
    let config = state.services.latest_config(&access, config_id).await?;
    let manifest = crate::pages::manifest(&state, &config.workflow_type)?;
    let manifest = &manifest.manifest;
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
            "Changing a setting saves version " (config.version_number.next())
            "; earlier versions are kept. Changing only the name or comment updates version "
            (config.version_number) "."
        }
        (config_form(session, &form))
    })
}

pub async fn update_config(
    State(state): State<UiState>,
    Path((project, config_id)): Path<(String, ConfigId)>,
    form: PostForm,
) -> Result<Response, UiError> {
    let project = project_name(&project)?;
    let access = form.session.principal.access(&project);
    let session = &form.session;
    let latest = state.services.latest_config(&access, config_id).await?;
    let manifest = crate::pages::manifest(&state, &latest.workflow_type)?;
    let manifest = &manifest.manifest;
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
    let expected_version = match form
        .get("expected_version")
        .map(str::parse::<VersionNumber>)
    {
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
    match state.services.patch_config(&access, config_id, patch).await {
        Ok(_) => Ok(Redirect::to(&format!("{href}?notice=saved")).into_response()),
        Err(error) => {
            let errors = form_errors(error)?;
            let page = render_edit(session, &project, &latest, manifest, raw, errors);
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}
