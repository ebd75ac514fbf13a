//! One module per page group; handlers are thin: read the session, call a service, render.

pub mod backfills;
pub mod configs;
pub mod dashboard;
pub mod events;
pub mod history;
pub mod lifecycle;
pub mod notifications;
pub mod oidc;
pub mod paused;
pub mod projects;
pub mod retention;
pub mod run_list;
pub mod run_logs;
pub mod runs;
pub mod runtime;
pub mod signin;
pub mod tokens;

use crate::error::UiError;
use crate::UiState;
use axum::http::StatusCode;
use polyphemus_core::manifests::Manifest;
use polyphemus_core::CoreError;
use polyphemus_model::{ConfigId, ProjectName, RunId, WorkflowType};
use std::sync::Arc;

/// A project name from the URL; one that cannot exist is simply not found.
pub fn project_name(text: &str) -> Result<ProjectName, UiError> {
    ProjectName::parse(text).map_err(|_| UiError::Page {
        status: StatusCode::NOT_FOUND,
        message: format!("project {text} not found"),
    })
}

/// A run id from the URL; one that cannot exist is simply not found.
pub fn run_id(text: &str) -> Result<RunId, UiError> {
    RunId::parse(text).map_err(|_| UiError::Page {
        status: StatusCode::NOT_FOUND,
        message: format!("run {text} not found"),
    })
}

pub fn project_href(project: &ProjectName) -> String {
    format!("/projects/{project}")
}

pub fn config_href(project: &ProjectName, config_id: ConfigId) -> String {
    format!("/projects/{project}/configs/{config_id}")
}

/// Breadcrumbs: projects › project.
pub fn project_crumbs(project: &ProjectName) -> Vec<(String, String)> {
    vec![
        ("/".to_owned(), "Projects".to_owned()),
        (project_href(project), project.to_string()),
    ]
}

/// Breadcrumbs: projects › project › config.
pub fn config_crumbs(
    project: &ProjectName,
    config_id: ConfigId,
    name: &str,
) -> Vec<(String, String)> {
    let mut crumbs = project_crumbs(project);
    crumbs.push((config_href(project, config_id), name.to_owned()));
    crumbs
}

/// A `?cursor=` link target for the next page, keeping the path.
pub fn next_page_href(path: &str, cursor: Option<&str>) -> Option<String> {
    cursor.map(|cursor| format!("{path}?cursor={cursor}"))
}

/// The manifest of a stored config's workflow type.
pub fn manifest(state: &UiState, name: &WorkflowType) -> Result<Arc<Manifest>, UiError> {
    state
        .services
        .registry()
        .get(name)
        .cloned()
        .ok_or_else(|| CoreError::Internal(format!("no manifest for workflow type {name}")).into())
}
