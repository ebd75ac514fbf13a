//! A new config: choose the workflow type, fill the form, see errors at their fields.

use super::{config_form, form_errors, raw_fields, secret_pointer, ConfigForm};
use crate::error::UiError;
use crate::form::{self, Errors, Raw};
use crate::layout::Page;
use crate::pages::{config_href, project_crumbs, project_name};
use crate::session::{PostForm, Session};
use crate::UiState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use polyphemus_core::CoreError;
use polyphemus_model::{CreateConfig, ProjectName, Role, WorkflowManifest, WorkflowType};
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;

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
    let access = session.principal.access(&project);
    access.require(Role::Editor).map_err(UiError::from)?;
    let registry = state.services.registry();
    let chosen = match query.workflow_type.as_deref() {
        Some(name) => Some(
            WorkflowType::parse(name)
                .ok()
                .and_then(|name| registry.get(&name))
                .ok_or_else(|| {
                    UiError::from(CoreError::not_found(format!("workflow type {name}")))
                })?,
        ),
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
    let access = form.session.principal.access(&project);
    let raw_type = form.get("workflow_type").unwrap_or_default();
    let unknown = || UiError::bad_request(format!("unknown workflow type {raw_type:?}"));
    let workflow_type = WorkflowType::parse(raw_type).map_err(|_| unknown())?;
    let registry = state.services.registry();
    let manifest = registry.get(&workflow_type).ok_or_else(unknown)?;
    let manifest = &manifest.manifest;
    let mut raw = raw_fields(&form);
    let mut errors = Vec::new();
    let config = form::value_from_raw(&manifest.config_schema, "/config", &raw, &mut errors)
        .unwrap_or_else(|| json!({}));
    let secrets: BTreeMap<String, String> = manifest
        .secret_names()
        .filter_map(|name| {
            let value = raw.get(&secret_pointer(name))?;
            (!value.is_empty()).then(|| (name.to_string(), value.clone()))
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
    match state.services.create_config(&access, request).await {
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
