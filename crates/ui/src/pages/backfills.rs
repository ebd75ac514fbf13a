//! A config's backfills: the list with progress and state, Stop and Resume, and a form that
//! starts one (editors); errors shown at their field.

use crate::error::UiError;
use crate::form::{self, Errors, Raw};
use crate::layout::{badge, csrf_field, notice, time, Page};
use crate::pages::{config_crumbs, config_href, project_name};
use crate::session::{PostForm, Session};
use crate::UiState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use polyphemus_core::CoreError;
use polyphemus_model::{
    Backfill, BackfillId, BackfillState, ConfigId, ProjectName, Role, StartBackfill,
};
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;

/// The form's fields: pointer, label, help.
const FIELDS: [(&str, &str, &str); 3] = [
    (
        "/from",
        "From",
        "Start of the first window: 2026-11-01 or 2026-11-01T06:00:00Z.",
    ),
    ("/to", "To", "End of the last window (not included)."),
    ("/every", "Every", "Window length: 90s, 30m, 6h, 1d."),
];

#[derive(Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
}

fn config_id(text: &str) -> Result<ConfigId, UiError> {
    text.parse().map_err(|_| not_found(text))
}

fn not_found(what: &str) -> UiError {
    UiError::from(CoreError::not_found(format!("{what:?}")))
}

pub async fn list_backfills(
    State(state): State<UiState>,
    session: Session,
    Path((project, id)): Path<(String, String)>,
    Query(query): Query<NoticeQuery>,
) -> Result<Markup, UiError> {
    let project = project_name(&project)?;
    let id = config_id(&id)?;
    let access = session.principal.access(&project);
    let backfills = state.services.list_backfills(&access, id).await?;
    let view = View {
        session: &session,
        project: &project,
        config_id: id,
        backfills: &backfills,
    };
    Ok(view.render(&Raw::default(), &Errors::default(), query.notice.as_deref()))
}

pub async fn start_backfill(
    State(state): State<UiState>,
    Path((project, id)): Path<(String, String)>,
    form: PostForm,
) -> Result<Response, UiError> {
    let project = project_name(&project)?;
    let id = config_id(&id)?;
    let access = form.session.principal.access(&project);
    let raw: Raw = form.fields.iter().cloned().collect();
    let value = |pointer: &str| raw.get(pointer).cloned().unwrap_or_default();
    let request = StartBackfill {
        from: value("/from"),
        to: value("/to"),
        every: value("/every"),
    };
    match state.services.start_backfill(&access, id, request).await {
        Ok(_) => Ok(Redirect::to(&format!(
            "{}/backfills?notice=backfill-started",
            config_href(&project, id)
        ))
        .into_response()),
        Err(CoreError::Unprocessable { errors, .. }) => {
            let backfills = state.services.list_backfills(&access, id).await?;
            let view = View {
                session: &form.session,
                project: &project,
                config_id: id,
                backfills: &backfills,
            };
            let page = view.render(&raw, &Errors::from_fields(errors), None);
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(other) => Err(other.into()),
    }
}

/// `POST …/backfills/{id}/stop` and `…/resume` from the list's buttons.
pub async fn act_on_backfill(
    State(state): State<UiState>,
    Path((project, config, backfill, action)): Path<(String, String, String, String)>,
    form: PostForm,
) -> Result<Response, UiError> {
    let project = project_name(&project)?;
    let config = config_id(&config)?;
    let backfill: BackfillId = backfill.parse().map_err(|_| not_found(&backfill))?;
    let access = form.session.principal.access(&project);
    match action.as_str() {
        "stop" => state.services.stop_backfill(&access, backfill).await?,
        "resume" => state.services.resume_backfill(&access, backfill).await?,
        _ => return Err(not_found(&action)),
    };
    let href = format!(
        "{}/backfills?notice=backfill-{action}",
        config_href(&project, config)
    );
    Ok(Redirect::to(&href).into_response())
}

struct View<'a> {
    session: &'a Session,
    project: &'a ProjectName,
    config_id: ConfigId,
    backfills: &'a [Backfill],
}

impl View<'_> {
    fn render(&self, raw: &Raw, errors: &Errors, notice_key: Option<&str>) -> Markup {
        let base = format!("{}/backfills", config_href(self.project, self.config_id));
        let editor = self.session.can(self.project, Role::Editor);
        let labels: BTreeMap<String, String> = FIELDS
            .iter()
            .map(|(pointer, label, _)| (pointer.to_string(), label.to_string()))
            .collect();
        Page {
            title: format!("Backfills of config {}", self.config_id),
            session: Some(self.session),
            crumbs: config_crumbs(self.project, self.config_id, &format!("config {}", self.config_id)),
            live: false,
        }
        .render(html! {
            h1 { "Backfills" }
            (notice(notice_key))
            p { "A backfill runs this config once per window of its span, one after another; each run gets its window as the run params start_time and end_time." }
            @if self.backfills.is_empty() { p { "No backfills yet." } }
            @else { (self.table(&base, editor)) }
            @if editor {
                h2 { "Start a backfill" }
                (errors.summary(&labels))
                form.backfill method="post" action=(base) novalidate {
                    (csrf_field(self.session))
                    @for (pointer, label, help) in FIELDS {
                        (form::single_field(&json!({"type": "string", "description": help}), pointer, label, true, raw, errors))
                    }
                    button.primary type="submit" { "Start backfill" }
                }
            }
        })
    }

    fn table(&self, base: &str, editor: bool) -> Markup {
        html! {
            table.backfills {
                thead { tr { th { "Id" } th { "State" } th { "Progress" } th { "Span" } th { "Current run" } th { "Started" } @if editor { th { "" } } } }
                tbody {
                    @for backfill in self.backfills {
                        tr {
                            td { (backfill.id) }
                            td { (badge(backfill.state.as_str())) @if let Some(reason) = &backfill.reason { " " (reason) } }
                            td {
                                progress max=(backfill.windows) value=(backfill.done_windows) { }
                                " " (backfill.done_windows) "/" (backfill.windows)
                            }
                            td { (time(Some(backfill.from))) " to " (time(Some(backfill.to))) " every " (backfill.every) }
                            td { @if let Some(run_id) = &backfill.current_run_id { a href={ "../../runs/" (run_id) } { (run_id) } } }
                            td { (time(Some(backfill.created_at))) " by " (backfill.created_by) }
                            @if editor { td { (self.button(base, backfill)) } }
                        }
                    }
                }
            }
        }
    }

    fn button(&self, base: &str, backfill: &Backfill) -> Markup {
        let action = match backfill.state {
            BackfillState::Running => "stop",
            BackfillState::Stopped | BackfillState::Failed => "resume",
            BackfillState::Done => return html! {},
        };
        html! {
            form method="post" action={ (base) "/" (backfill.id) "/" (action) } {
                (csrf_field(self.session))
                button type="submit" { @if action == "stop" { "Stop" } @else { "Resume" } }
            }
        }
    }
}
