//! A schedule's policies on its runtime page: concurrency, starting deadline, the pause after
//! failures, and the Resume button of a paused schedule.

use super::runtime::number_field;
use crate::error::UiError;
use crate::form::{self, Errors, Raw};
use crate::layout::{csrf_field, time};
use crate::pages::{config_href, project_name};
use crate::session::{PostForm, Session};
use crate::UiState;
use axum::extract::{Path, State};
use axum::response::Redirect;
use maud::{html, Markup};
use polyphemus_model::{ConcurrencyPolicy, ConfigId, FieldError, PutRuntimeConfig, SchedulePause};
use serde_json::json;

/// The paused schedule: since when, why, which runs, and Resume for editors.
pub fn paused_notice(session: &Session, base: &str, pause: &SchedulePause, editor: bool) -> Markup {
    html! {
        section.notice.bad role="status" aria-labelledby="paused-heading" {
            h2 #paused-heading { (crate::layout::badge("paused")) " Scheduled runs are paused" }
            p { (pause.reason) " — since " (time(Some(pause.at))) "." }
            @if !pause.run_ids.is_empty() {
                p { "Failed runs: "
                    @for (n, run_id) in pause.run_ids.iter().enumerate() {
                        @if n > 0 { ", " }
                        a href={ "../../runs/" (run_id) } { (run_id) }
                    }
                }
            }
            @if editor {
                form method="post" action={ (base) "/runtime/resume" } {
                    (csrf_field(session))
                    button.primary type="submit" { "Resume" }
                }
            }
        }
    }
}

/// The policy fields of the runtime form.
pub fn policy_fields(raw: &Raw, errors: &Errors) -> Markup {
    let policy = json!({
        "type": "string",
        "enum": ["Forbid", "Allow", "Replace"],
        "description": "While a run is active, a due time is skipped (Forbid), runs anyway (Allow), \
                        or stops the active run first (Replace)."
    });
    html! {
        fieldset.group {
            legend { "When runs overlap or fail" }
            (form::single_field(&policy, "/concurrency_policy", "Concurrency policy", true, raw, errors))
            (number_field("/starting_deadline_s", "Starting deadline (seconds)", "Skip a due time missed by more than this instead of running it late; empty runs it however late.", raw, errors))
            (number_field("/expected_duration_s", "Expected duration (seconds)", "A run still going after this long is overdue: channels told about overdue runs hear of it once. Empty: no limit.", raw, errors))
            (form::single_field(&json!({"type": "integer", "minimum": 0, "maximum": 1000, "description": "Pause the schedule after this many failed runs in a row; 0 never pauses."}), "/pause_after_failures", "Pause after failures", false, raw, errors))
        }
    }
}

/// Reads the policy fields into `request`; a field that is not a number is an error.
pub fn read_policies(raw: &Raw, request: &mut PutRuntimeConfig, errors: &mut Vec<FieldError>) {
    let text = |pointer: &str| {
        raw.get(pointer)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let mut bad = |pointer: &str, message: &str| {
        errors.push(FieldError {
            pointer: pointer.into(),
            message: message.into(),
        })
    };
    match text("/concurrency_policy").map(|t| t.parse::<ConcurrencyPolicy>()) {
        Some(Ok(policy)) => request.concurrency_policy = Some(policy),
        Some(Err(error)) => bad("/concurrency_policy", &error.reason),
        None => {}
    }
    match text("/starting_deadline_s").map(|t| t.parse::<i64>()) {
        Some(Ok(seconds)) => request.starting_deadline_s = Some(Some(seconds)),
        Some(Err(_)) => bad("/starting_deadline_s", "must be a whole number of seconds"),
        None => request.starting_deadline_s = Some(None),
    }
    match text("/expected_duration_s").map(|t| t.parse::<i64>()) {
        Some(Ok(seconds)) => request.expected_duration_s = Some(Some(seconds)),
        Some(Err(_)) => bad("/expected_duration_s", "must be a whole number of seconds"),
        None => request.expected_duration_s = Some(None),
    }
    match text("/pause_after_failures").map(|t| t.parse::<i32>()) {
        Some(Ok(count)) => request.pause_after_failures = Some(count),
        Some(Err(_)) => bad("/pause_after_failures", "must be a whole number"),
        None => {}
    }
}

pub async fn resume(
    State(state): State<UiState>,
    Path((project, config_id)): Path<(String, ConfigId)>,
    form: PostForm,
) -> Result<Redirect, UiError> {
    let project = project_name(&project)?;
    let access = form.session.principal.access(&project);
    state.services.resume_schedule(&access, config_id).await?;
    Ok(Redirect::to(&format!(
        "{}/runtime?notice=resumed",
        config_href(&project, config_id)
    )))
}
