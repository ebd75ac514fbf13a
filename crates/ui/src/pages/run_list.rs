//! A config's runs, newest first or sorted by a column, and the runs table the config page
//! shares. One query per page: the runs come with their phase and duration.

use crate::error::UiError;
use crate::layout::{badge, duration, time, Page};
use crate::pages::{config_crumbs, next_page_href, project_name};
use crate::session::Session;
use crate::sort::{self, Column, Links, Sort};
use crate::UiState;
use axum::extract::{Path, Query, State};
use maud::{html, Markup};
use polyphemus_core::services::PageRequest;
use polyphemus_model::{ConfigId, ProjectName, RunFilter, RunSummary};
use serde::Deserialize;
use std::cmp::Ordering;

const RUNS_PER_PAGE: i64 = 25;

#[derive(Deserialize)]
pub struct RunsQuery {
    cursor: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunColumn {
    Run,
    Version,
    Phase,
    Started,
    Duration,
}

impl Column for RunColumn {
    const ALL: &'static [Self] = &[
        Self::Run,
        Self::Version,
        Self::Phase,
        Self::Started,
        Self::Duration,
    ];

    fn key(self) -> &'static str {
        match self {
            Self::Run => "run",
            Self::Version => "version",
            Self::Phase => "phase",
            Self::Started => "started",
            Self::Duration => "duration",
        }
    }
}

/// When the run started, or else when it was registered (as the table shows it).
fn started(run: &RunSummary) -> chrono::DateTime<chrono::Utc> {
    run.started_at.unwrap_or(run.created_at)
}

fn compare(column: RunColumn, a: &RunSummary, b: &RunSummary) -> Ordering {
    match column {
        RunColumn::Run => a.name.cmp(&b.name),
        RunColumn::Version => a.version_number.cmp(&b.version_number),
        RunColumn::Phase => a.phase.as_str().cmp(b.phase.as_str()),
        RunColumn::Started => started(a).cmp(&started(b)),
        // No duration yet (still going) sorts before every duration.
        RunColumn::Duration => a
            .duration_s
            .partial_cmp(&b.duration_s)
            .unwrap_or(Ordering::Equal),
    }
}

pub async fn list_runs(
    State(state): State<UiState>,
    session: Session,
    Path((project, config_id)): Path<(String, ConfigId)>,
    Query(query): Query<RunsQuery>,
) -> Result<Markup, UiError> {
    let project = project_name(&project)?;
    let access = session.principal.access(&project);
    let services = &state.services;
    let config = services.latest_config(&access, config_id).await?;
    let page = PageRequest::parse(Some(RUNS_PER_PAGE), query.cursor.as_deref())?;
    let filter = RunFilter {
        config_id: Some(config_id),
        ..RunFilter::default()
    };
    let mut runs = services.list_project_runs(&access, &filter, page).await?;
    let live = runs.items.iter().any(|run| !run.phase.is_final());
    // Pages are cut newest first (the store's cursor is the run's seq), so another column
    // orders the runs of this page only; sorting across pages would need a cursor per column.
    let order = Sort::parse(query.sort.as_deref(), query.dir.as_deref());
    if let Some(order) = order {
        order.apply(&mut runs.items, compare);
    }
    let path = format!("/projects/{project}/configs/{config_id}/runs");
    let next = next_page_href(&path, runs.next_cursor.as_deref()).map(|href| match order {
        Some(order) => format!("{href}&{}", order.query()),
        None => href,
    });
    let links = Links {
        current: order,
        keep: query
            .cursor
            .as_deref()
            .map(|c| sort::keep_param("cursor", c))
            .unwrap_or_default(),
    };
    Ok(Page {
        title: "Runs".to_owned(),
        session: Some(&session),
        crumbs: config_crumbs(&project, config_id, &config.workflow_name),
        live,
    }
    .render(html! {
        h1 { "Runs of " (config.workflow_name) }
        (runs_table(&project, &runs.items, Some(&links)))
        @if let Some(next) = next {
            p { a href=(next) { "Older runs" } }
        }
    }))
}

fn caption(links: Option<&Links<RunColumn>>) -> String {
    match links.and_then(|l| l.current) {
        Some(order) => format!(
            "Sorted by {}, {} (within this page; pages go newest first)",
            order.column.key(),
            order.dir.aria()
        ),
        None => "Newest first".to_owned(),
    }
}

/// Runs with phase, start and duration, in the order given; with `links` the headers sort.
pub fn runs_table(
    project: &ProjectName,
    runs: &[RunSummary],
    links: Option<&Links<RunColumn>>,
) -> Markup {
    let th = |label: &str, column| sort::th(label, column, links);
    html! {
        @if runs.is_empty() {
            p.empty { "No runs yet." }
        } @else {
            div.table-wrap {
                table.runs.stack.sortable[links.is_some()] {
                    caption { (caption(links)) }
                    thead {
                        tr {
                            (th("Run", RunColumn::Run))
                            (th("Version", RunColumn::Version))
                            (th("Phase", RunColumn::Phase))
                            (th("Started", RunColumn::Started))
                            (th("Duration", RunColumn::Duration))
                        }
                    }
                    tbody {
                        @for run in runs {
                            tr data-run=(run.run_id) {
                                td data-label="Run" { a href={ "/projects/" (project) "/runs/" (run.run_id) } { (run.name) } }
                                td data-label="Version" { "v" (run.version_number) }
                                td data-label="Phase" { (badge(run.phase.as_str())) }
                                td data-label="Started" { (time(Some(started(run)))) }
                                td data-label="Duration" { (duration(run.duration_s)) }
                            }
                        }
                    }
                }
            }
        }
    }
}
