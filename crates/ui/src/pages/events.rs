//! The project's event log: who did what, newest first.

use crate::error::UiError;
use crate::layout::{time, Page};
use crate::pages::{config_href, next_page_href, project_crumbs, project_name};
use crate::session::Session;
use crate::UiState;
use axum::extract::{Path, Query, State};
use maud::{html, Markup};
use polyphemus_core::services::PageRequest;
use serde::Deserialize;

const EVENTS_PER_PAGE: i64 = 50;

#[derive(Deserialize)]
pub struct EventsQuery {
    cursor: Option<String>,
}

pub async fn list_events(
    State(state): State<UiState>,
    session: Session,
    Path(project): Path<String>,
    Query(query): Query<EventsQuery>,
) -> Result<Markup, UiError> {
    let project = project_name(&project)?;
    let access = session.principal.access(&project);
    let page = PageRequest::parse(Some(EVENTS_PER_PAGE), query.cursor.as_deref())?;
    let events = state.services.list_events(&access, None, page).await?;
    let path = format!("/projects/{project}/events");
    Ok(Page {
        title: "Event log".to_owned(),
        session: Some(&session),
        crumbs: project_crumbs(&project),
        live: false,
    }
    .render(html! {
        h1 { "Event log" }
        @if events.items.is_empty() {
            p.empty { "Nothing has happened in this project yet." }
        } @else {
            div.table-wrap {
                table.events.stack {
                    caption { "Newest first" }
                    thead {
                        tr {
                            th scope="col" { "When" }
                            th scope="col" { "Who" }
                            th scope="col" { "What" }
                            th scope="col" { "Config" }
                            th scope="col" { "Run" }
                            th scope="col" { "Detail" }
                        }
                    }
                    tbody {
                        @for event in &events.items {
                            tr {
                                td data-label="When" { (time(Some(event.at))) }
                                td data-label="Who" { (event.actor) }
                                td data-label="What" { code { (event.action) } }
                                td data-label="Config" {
                                    @if let Some(config_id) = event.config_id {
                                        a href=(config_href(&project, config_id)) {
                                            "#" (config_id)
                                            @if let Some(v) = event.version_number { " v" (v) }
                                        }
                                    }
                                }
                                td data-label="Run" {
                                    @if let Some(run_id) = &event.run_id {
                                        a href={ "/projects/" (project) "/runs/" (run_id) } { code { (run_id.as_str().chars().take(8).collect::<String>()) } }
                                    }
                                }
                                td.detail data-label="Detail" { code { (event.detail) } }
                            }
                        }
                    }
                }
            }
            @if let Some(next) = next_page_href(&path, events.next_cursor.as_deref()) {
                p { a href=(next) { "Older events" } }
            }
        }
    }))
}
