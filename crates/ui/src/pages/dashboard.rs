//! The project dashboard: every config's pipeline state at a glance, filterable by workflow type.

use crate::error::UiError;
use crate::layout::{badge, notice, time, Page};
use crate::pages::{config_href, project_name};
use crate::session::Session;
use crate::UiState;
use axum::extract::{Path, Query, State};
use maud::{html, Markup};
use polyphemus_core::CoreError;
use polyphemus_model::{PipelineState, Role, RunPhase};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct DashboardQuery {
    workflow_type: Option<String>,
    notice: Option<String>,
}

pub async fn show_dashboard(
    State(state): State<UiState>,
    session: Session,
    Path(project): Path<String>,
    Query(query): Query<DashboardQuery>,
) -> Result<Markup, UiError> {
    let project = project_name(&project)?;
    let access = session.principal.access(&project);
    let services = &state.services;
    // A project with no configs yet is empty, not unknown, to those who may see it.
    let rows = match services.project_status(&access, false).await {
        Ok(rows) => rows,
        Err(CoreError::NotFound(_)) if session.can(&project, Role::Viewer) => Vec::new(),
        Err(other) => return Err(other.into()),
    };
    let filter = query.workflow_type.filter(|t| !t.is_empty());
    let shown: Vec<_> = rows
        .iter()
        .filter(|row| {
            filter
                .as_deref()
                .is_none_or(|t| row.workflow_type.as_str() == t)
        })
        .collect();
    let live = rows
        .iter()
        .any(|row| row.pipeline_state == PipelineState::Running);
    let registry = services.registry();
    let types: Vec<&str> = registry.names();
    let editor = session.can(&project, Role::Editor);
    let crumbs = vec![("/".to_owned(), "Projects".to_owned())];
    Ok(Page {
        title: project.to_string(),
        session: Some(&session),
        crumbs,
        live,
    }
    .render(html! {
        div.title-row {
            h1 { "Project " (project) }
            div.actions {
                @if editor {
                    a.button.primary href={ "/projects/" (project) "/configs/new" } { "New config" }
                }
                a.button href={ "/projects/" (project) "/events" } { "Event log" }
                a.button href={ "/projects/" (project) "/notifications" } { "Notifications" }
                a.button href={ "/projects/" (project) "/retention" } { "Retention" }
            }
        }
        (notice(query.notice.as_deref()))
        form.inline.filter method="get" {
            div.field {
                label for="workflow_type" { "Workflow type" }
                select #workflow_type name="workflow_type" data-autosubmit {
                    option value="" selected[filter.is_none()] { "All types" }
                    @for name in &types {
                        option value=(name) selected[filter.as_deref() == Some(*name)] { (name) }
                    }
                }
            }
            button type="submit" { "Filter" }
        }
        @if live {
            p.muted.live-note { "Runs are active; this page refreshes itself." }
        }
        @if shown.is_empty() {
            p.empty { "No configs here yet." }
        } @else {
            div.table-wrap {
                table.status.stack {
                    caption { (shown.len()) " config" @if shown.len() != 1 { "s" } }
                    thead {
                        tr {
                            th scope="col" { "Config" }
                            th scope="col" { "Type" }
                            th scope="col" { "State" }
                            th scope="col" { "Last run" }
                            th scope="col" { "Last success" }
                            th scope="col" { "Next run" }
                        }
                    }
                    tbody {
                        @for row in &shown {
                            tr data-state=(row.pipeline_state.as_str()) {
                                td data-label="Config" {
                                    a href=(config_href(&project, row.config_id)) { (row.workflow_name) }
                                    " " span.muted { "v" (row.version_number) }
                                }
                                td data-label="Type" { (row.workflow_type) }
                                td data-label="State" { (badge(row.pipeline_state.as_str())) }
                                td data-label="Last run" {
                                    @if let Some(run) = &row.last_run {
                                        a href={ "/projects/" (project) "/runs/" (run.run_id) } {
                                            (time(run.started_at.or(run.finished_at)))
                                        }
                                        " " (badge(run.phase.unwrap_or(RunPhase::Pending).as_str()))
                                    } @else {
                                        span.muted { "never" }
                                    }
                                }
                                td data-label="Last success" { (time(row.last_success_at)) }
                                td data-label="Next run" { (time(row.next_run_at)) }
                            }
                        }
                    }
                }
            }
        }
    }))
}
