//! A project's retention policy: what it keeps and for how long; project admins change it.

use crate::error::UiError;
use crate::form::{self, Errors, Raw};
use crate::layout::{csrf_field, notice, time, Page};
use crate::pages::{project_crumbs, project_href, project_name};
use crate::session::{PostForm, Session};
use crate::UiState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use polyphemus_core::CoreError;
use polyphemus_model::{FieldError, PutRetentionPolicy, RetentionPolicy, Role};
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;

/// The policy's fields: pointer, label, unit, help.
const FIELDS: [(&str, &str, &str, &str); 4] = [
    (
        "/keep_runs_days",
        "Keep runs",
        "days",
        "Ended runs are deleted this many days after they ended (their metadata stays).",
    ),
    (
        "/keep_output_days",
        "Keep output",
        "days",
        "Outputs and run directories are removed this many days after their run ended.",
    ),
    (
        "/successful_runs_history_limit",
        "Succeeded runs kept",
        "per config",
        "Each config keeps this many succeeded runs, newest first.",
    ),
    (
        "/failed_runs_history_limit",
        "Failed runs kept",
        "per config",
        "Each config keeps this many failed runs, newest first.",
    ),
];

#[derive(Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
}

pub async fn show_retention(
    State(state): State<UiState>,
    session: Session,
    Path(project): Path<String>,
    Query(query): Query<NoticeQuery>,
) -> Result<Markup, UiError> {
    let project = project_name(&project)?;
    let access = session.principal.access(&project);
    let policy = state.services.get_retention(&access).await?;
    let raw = raw_from_policy(&policy);
    Ok(render(
        &session,
        &policy,
        &raw,
        &Errors::default(),
        query.notice.as_deref(),
    ))
}

pub async fn update_retention(
    State(state): State<UiState>,
    Path(project): Path<String>,
    form: PostForm,
) -> Result<Response, UiError> {
    let project = project_name(&project)?;
    let access = form.session.principal.access(&project);
    let raw: Raw = form.fields.iter().cloned().collect();
    let mut errors = Vec::new();
    let mut given = |pointer: &str| read_count(&raw, pointer, &mut errors);
    let request = PutRetentionPolicy {
        keep_runs_days: given("/keep_runs_days"),
        keep_output_days: given("/keep_output_days"),
        successful_runs_history_limit: given("/successful_runs_history_limit"),
        failed_runs_history_limit: given("/failed_runs_history_limit"),
    };
    let result = if errors.is_empty() {
        state.services.put_retention(&access, request).await
    } else {
        Err(CoreError::Unprocessable {
            detail: "the retention policy is not valid".into(),
            errors,
        })
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!(
            "{}/retention?notice=retention",
            project_href(&project)
        ))
        .into_response()),
        Err(CoreError::Unprocessable { errors, .. }) => {
            let policy = state.services.get_retention(&access).await?;
            let errors = Errors::from_fields(errors);
            let page = render(&form.session, &policy, &raw, &errors, None);
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(other) => Err(other.into()),
    }
}

/// A posted count: empty keeps forever (`null`), a whole number is sent as it is (the service
/// checks its range), anything else is an error at its field.
fn read_count(raw: &Raw, pointer: &str, errors: &mut Vec<FieldError>) -> Option<Option<i64>> {
    let text = raw.get(pointer).map(|v| v.trim()).unwrap_or_default();
    if text.is_empty() {
        return Some(None);
    }
    match text.parse::<i64>() {
        Ok(number) => Some(Some(number)),
        Err(_) => {
            errors.push(FieldError {
                pointer: pointer.to_owned(),
                message: "must be a whole number, or empty to keep forever".into(),
            });
            None
        }
    }
}

fn raw_from_policy(policy: &RetentionPolicy) -> Raw {
    let values = [
        policy.keep_runs_days.map(|d| d.get()),
        policy.keep_output_days.map(|d| d.get()),
        policy.successful_runs_history_limit.map(|l| l.get()),
        policy.failed_runs_history_limit.map(|l| l.get()),
    ];
    FIELDS
        .iter()
        .zip(values)
        .filter_map(|((pointer, ..), value)| Some((pointer.to_string(), value?.to_string())))
        .collect()
}

fn render(
    session: &Session,
    policy: &RetentionPolicy,
    raw: &Raw,
    errors: &Errors,
    notice_key: Option<&str>,
) -> Markup {
    let project = &policy.project_name;
    let admin = session.can(project, Role::Admin);
    let stored = raw_from_policy(policy);
    let labels: BTreeMap<String, String> = FIELDS
        .iter()
        .map(|(pointer, label, ..)| (pointer.to_string(), label.to_string()))
        .collect();
    Page {
        title: "Retention".to_owned(),
        session: Some(session),
        crumbs: project_crumbs(project),
        live: false,
    }
    .render(html! {
        h1 { "Retention" }
        (notice(notice_key))
        p {
            "Unfinished runs, run metadata and, for each config and state key, the run holding \
             its latest value are always kept. Empty keeps that part forever."
        }
        dl.summary {
            @for (pointer, label, unit, _) in FIELDS {
                dt { (label) }
                dd {
                    @match stored.get(pointer) {
                        Some(value) => { (value) " " (unit) }
                        None => { "forever" }
                    }
                }
            }
            dt { "Updated" }
            dd { (time(policy.updated_at)) }
        }
        @if admin {
            (errors.summary(&labels))
            form.retention method="post" action={ (project_href(project)) "/retention" } novalidate {
                (csrf_field(session))
                @for (pointer, label, unit, help) in FIELDS {
                    (form::single_field(
                        &json!({"type": "integer", "minimum": 0, "description": help}),
                        pointer,
                        &format!("{label} ({unit})"),
                        false,
                        raw,
                        errors,
                    ))
                }
                button.primary type="submit" { "Save retention policy" }
            }
        }
    })
}
