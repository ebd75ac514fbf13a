//! The project dashboard: every config's pipeline state and last outcomes at a glance,
//! filterable by workflow type and sortable by column.

use crate::charts::{outcome_strip, STRIP_RUNS};
use crate::error::UiError;
use crate::layout::{badge, notice, time, Page};
use crate::pages::{config_href, project_name};
use crate::session::Session;
use crate::sort::{self, Column, Links, Sort};
use crate::UiState;
use axum::extract::{Path, Query, State};
use maud::{html, Markup};
use polyphemus_core::CoreError;
use polyphemus_model::{
    ConfigId, PipelineState, PipelineStatus, ProjectName, Role, RunPhase, RunSummary,
};
use serde::Deserialize;
use std::cmp::Ordering;
use std::collections::BTreeMap;

#[derive(Deserialize)]
pub struct DashboardQuery {
    workflow_type: Option<String>,
    notice: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StatusColumn {
    Config,
    Type,
    State,
    LastRun,
    LastSuccess,
    NextRun,
}

impl Column for StatusColumn {
    const ALL: &'static [Self] = &[
        Self::Config,
        Self::Type,
        Self::State,
        Self::LastRun,
        Self::LastSuccess,
        Self::NextRun,
    ];

    fn key(self) -> &'static str {
        match self {
            Self::Config => "config",
            Self::Type => "type",
            Self::State => "state",
            Self::LastRun => "last_run",
            Self::LastSuccess => "last_success",
            Self::NextRun => "next_run",
        }
    }
}

/// Names compare without case; a config never run or never scheduled sorts before the others.
fn compare(column: StatusColumn, a: &PipelineStatus, b: &PipelineStatus) -> Ordering {
    let last_run = |row: &PipelineStatus| {
        row.last_run
            .as_ref()
            .and_then(|run| run.started_at.or(run.finished_at))
    };
    match column {
        StatusColumn::Config => a
            .workflow_name
            .to_lowercase()
            .cmp(&b.workflow_name.to_lowercase()),
        StatusColumn::Type => a.workflow_type.as_str().cmp(b.workflow_type.as_str()),
        StatusColumn::State => a.pipeline_state.as_str().cmp(b.pipeline_state.as_str()),
        StatusColumn::LastRun => last_run(a).cmp(&last_run(b)),
        StatusColumn::LastSuccess => a.last_success_at.cmp(&b.last_success_at),
        StatusColumn::NextRun => a.next_run_at.cmp(&b.next_run_at),
    }
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
    let recent = services
        .recent_runs_by_config(&access, STRIP_RUNS as i64)
        .await?;
    let ad_hoc = match services.ad_hoc_config_id(&access).await {
        Ok(found) => found,
        Err(CoreError::NotFound(_)) => None,
        Err(other) => return Err(other.into()),
    };
    let filter = query.workflow_type.filter(|t| !t.is_empty());
    let mut shown: Vec<_> = rows
        .iter()
        .filter(|row| {
            filter
                .as_deref()
                .is_none_or(|t| row.workflow_type.as_str() == t)
        })
        .collect();
    let order = Sort::parse(query.sort.as_deref(), query.dir.as_deref());
    if let Some(order) = order {
        order.apply(&mut shown, |column, a, b| compare(column, a, b));
    }
    let links = Links {
        current: order,
        keep: filter
            .as_deref()
            .map(|t| sort::keep_param("workflow_type", t))
            .unwrap_or_default(),
    };
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
            @if let Some(order) = order {
                // Filtering keeps the order chosen.
                input type="hidden" name="sort" value=(order.column.key());
                input type="hidden" name="dir" value=(order.dir.key());
            }
            button type="submit" { "Filter" }
        }
        @if live {
            p.muted.live-note { "Runs are active; this page refreshes itself." }
        }
        @if shown.is_empty() {
            p.empty { "No configs here yet." }
        } @else {
            (status_table(&project, &shown, &recent, &links))
        }
        @if let Some(config_id) = ad_hoc {
            (ad_hoc_section(&project, config_id, recent.get(&config_id).map_or(&[][..], Vec::as_slice)))
        }
    }))
}

/// Runs of workflows submitted without a config (the Argo Server API), apart from the configs.
fn ad_hoc_section(project: &ProjectName, config_id: ConfigId, runs: &[RunSummary]) -> Markup {
    html! {
        section.ad-hoc-runs {
            h2 { "Ad-hoc runs" }
            p.muted { "Workflows submitted through the Argo API without a config." }
            (super::run_list::runs_table(project, runs, None))
            p { a href={ "/projects/" (project) "/configs/" (config_id) "/runs" } { "All ad-hoc runs" } }
        }
    }
}

fn status_table(
    project: &ProjectName,
    rows: &[&PipelineStatus],
    recent: &BTreeMap<ConfigId, Vec<RunSummary>>,
    links: &Links<StatusColumn>,
) -> Markup {
    let th = |label: &str, column| sort::th(label, column, Some(links));
    html! {
        div.table-wrap {
            table.status.stack.sortable {
                caption { (rows.len()) " config" @if rows.len() != 1 { "s" } }
                thead {
                    tr {
                        (th("Config", StatusColumn::Config))
                        (th("Type", StatusColumn::Type))
                        (th("State", StatusColumn::State))
                        th scope="col" { "Last " (STRIP_RUNS) }
                        (th("Last run", StatusColumn::LastRun))
                        (th("Last success", StatusColumn::LastSuccess))
                        (th("Next run", StatusColumn::NextRun))
                    }
                }
                tbody {
                    @for row in rows {
                        (status_row(project, row, recent.get(&row.config_id).map_or(&[][..], Vec::as_slice)))
                    }
                }
            }
        }
    }
}

fn status_row(project: &ProjectName, row: &PipelineStatus, recent: &[RunSummary]) -> Markup {
    html! {
        tr data-state=(row.pipeline_state.as_str()) data-config=(row.config_id) {
            td data-label="Config" {
                a href=(config_href(project, row.config_id)) { (row.workflow_name) }
                " " span.muted { "v" (row.version_number) }
            }
            td data-label="Type" { (row.workflow_type) }
            td data-label="State" { (badge(row.pipeline_state.as_str())) }
            td.outcomes data-label={ "Last " (STRIP_RUNS) } { (outcome_strip(project, recent)) }
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
