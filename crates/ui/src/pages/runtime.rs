//! Runtime settings of a config (interval or cron in a time zone, disabled, runtime params),
//! the next few run times, and Launch.

use crate::error::UiError;
use crate::form::{self, Errors, Raw};
use crate::layout::{csrf_field, notice, time, Page};
use crate::pages::{config_crumbs, config_href, project_name};
use crate::session::{PostForm, Session};
use crate::UiState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use maud::{html, Markup};
use polyphemus_core::schedule::Schedule;
use polyphemus_core::CoreError;
use polyphemus_model::{
    Config, ConfigId, FieldError, ProjectName, PutRuntimeConfig, Role, RuntimeConfig,
};
use serde::Deserialize;
use serde_json::json;

/// How many coming run times are listed.
const NEXT_RUNS_SHOWN: usize = 5;

#[derive(Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
}

pub async fn show_runtime(
    State(state): State<UiState>,
    session: Session,
    Path((project, config_id)): Path<(String, ConfigId)>,
    Query(query): Query<NoticeQuery>,
) -> Result<Markup, UiError> {
    let project = project_name(&project)?;
    let access = session.principal.access(&project);
    let services = &state.services;
    let config = services.latest_config(&access, config_id).await?;
    let runtime = services.get_runtime(&access, config_id).await?;
    let raw = raw_from_runtime(&state, &config, &runtime)?;
    render(
        &state,
        &session,
        &project,
        &config,
        &runtime,
        raw,
        Errors::default(),
        query.notice.as_deref(),
    )
}

fn raw_from_runtime(
    state: &UiState,
    config: &Config,
    runtime: &RuntimeConfig,
) -> Result<Raw, UiError> {
    let manifest = super::manifest(state, &config.workflow_type)?;
    let manifest = &manifest.manifest;
    let mut raw = Raw::new();
    form::raw_from_value(
        &manifest.runtime_params_schema,
        "/config",
        Some(&runtime.config),
        false,
        &mut raw,
    );
    let kind = match (runtime.run_interval_s, &runtime.cron) {
        (Some(_), _) => "interval",
        (None, Some(_)) => "cron",
        (None, None) => "none",
    };
    raw.insert("schedule".into(), kind.into());
    if let Some(seconds) = runtime.run_interval_s {
        raw.insert("/run_interval_s".into(), seconds.to_string());
    }
    if let Some(cron) = &runtime.cron {
        raw.insert("/cron".into(), cron.to_string());
    }
    if let Some(timezone) = &runtime.timezone {
        raw.insert("/timezone".into(), timezone.clone());
    }
    raw.insert("/disabled".into(), runtime.disabled.to_string());
    raw.insert(
        "/concurrency_policy".into(),
        runtime.concurrency_policy.as_str().into(),
    );
    if let Some(seconds) = runtime.starting_deadline_s {
        raw.insert("/starting_deadline_s".into(), seconds.to_string());
    }
    if let Some(seconds) = runtime.expected_duration_s {
        raw.insert("/expected_duration_s".into(), seconds.to_string());
    }
    raw.insert(
        "/pause_after_failures".into(),
        runtime.pause_after_failures.to_string(),
    );
    Ok(raw)
}

/// The stored schedule's coming run times, from its next due time on.
fn next_runs(runtime: &RuntimeConfig) -> Vec<DateTime<Utc>> {
    let schedule = match (runtime.run_interval_s, runtime.cron.as_ref()) {
        (Some(seconds), _) => Schedule::every_seconds(seconds).ok(),
        (None, Some(cron)) => Schedule::cron(cron, runtime.timezone.as_deref()).ok(),
        (None, None) => None,
    };
    let (Some(schedule), Some(first)) = (schedule, runtime.next_run_at) else {
        return Vec::new();
    };
    let mut times = vec![first];
    while times.len() < NEXT_RUNS_SHOWN {
        match times.last().and_then(|last| schedule.next_after(*last)) {
            Some(next) => times.push(next),
            None => break,
        }
    }
    times
}

#[expect(clippy::too_many_arguments, reason = "one page's parts, passed once")]
fn render(
    state: &UiState,
    session: &Session,
    project: &ProjectName,
    config: &Config,
    runtime: &RuntimeConfig,
    raw: Raw,
    errors: Errors,
    notice_key: Option<&str>,
) -> Result<Markup, UiError> {
    let manifest = super::manifest(state, &config.workflow_type)?;
    let manifest = &manifest.manifest;
    let editor = session.can(project, Role::Editor);
    let base = config_href(project, config.config_id);
    let kind = raw.get("schedule").map(String::as_str).unwrap_or("none");
    let mut labels = std::collections::BTreeMap::new();
    form::labels(
        &manifest.runtime_params_schema,
        "/config",
        "Runtime params",
        &mut labels,
    );
    labels.insert("/run_interval_s".into(), "Interval".into());
    labels.insert("/cron".into(), "Cron expression".into());
    labels.insert("/timezone".into(), "Time zone".into());
    labels.insert("/concurrency_policy".into(), "Concurrency policy".into());
    labels.insert("/starting_deadline_s".into(), "Starting deadline".into());
    labels.insert(
        "/pause_after_failures".into(),
        "Pause after failures".into(),
    );
    let next = next_runs(runtime);
    Ok(Page {
        title: "Schedule".to_owned(),
        session: Some(session),
        crumbs: config_crumbs(project, config.config_id, &config.workflow_name),
        live: false,
    }
    .render(html! {
        div.title-row {
            h1 { "Schedule and runtime" }
            @if editor {
                div.actions {
                    form method="post" action={ (base) "/launch" } {
                        (csrf_field(session))
                        button.primary type="submit" { "Launch now" }
                    }
                }
            }
        }
        (notice(notice_key))
        @if let Some(pause) = &runtime.paused {
            (super::paused::paused_notice(session, &base, pause, editor))
        }
        section aria-labelledby="next-heading" {
            h2 #next-heading { "Next runs" }
            @if runtime.disabled {
                p { (crate::layout::badge("disabled")) " Scheduled runs are off." }
            } @else if next.is_empty() {
                p.muted { "No schedule: runs start only when launched." }
            } @else {
                ol.next-runs {
                    @for at in &next { li { (time(Some(*at))) } }
                }
                @if let Some(timezone) = &runtime.timezone {
                    p.help { "The cron expression is read in " (timezone) "." }
                }
            }
        }
        @if editor {
            (errors.summary(&labels))
            form.runtime method="post" action={ (base) "/runtime" } novalidate {
                (csrf_field(session))
                fieldset.group {
                    legend { "When to run" }
                    @for (value, label) in [("none", "Only when launched"), ("interval", "Every fixed interval"), ("cron", "On a cron schedule")] {
                        div.check {
                            input type="radio" name="schedule" value=(value) id={ "schedule-" (value) } checked[kind == value];
                            label for={ "schedule-" (value) } { (label) }
                        }
                    }
                    (number_field("/run_interval_s", "Interval (seconds)", "Used with \"Every fixed interval\"; e.g. 3600 for hourly.", &raw, &errors))
                    (form::text_field("/cron", "Cron expression", Some("Used with \"On a cron schedule\": minute hour day-of-month month day-of-week, e.g. 30 2 * * *."), false, &raw, &errors))
                    (form::text_field("/timezone", "Time zone", Some("IANA name such as Europe/Berlin; empty means UTC."), false, &raw, &errors))
                }
                (form::single_field(&json!({"type": "boolean", "description": "Pause scheduled runs; Launch still works."}), "/disabled", "Disabled", false, &raw, &errors))
                (super::paused::policy_fields(&raw, &errors))
                fieldset.group {
                    legend { "Runtime params" }
                    (form::fields(&manifest.runtime_params_schema, "/config", &raw, &errors))
                }
                button.primary type="submit" { "Save runtime settings" }
            }
        } @else {
            dl.summary {
                dt { "Runtime params" }
                dd { (crate::layout::json_block(&runtime.config, "Runtime params")) }
            }
        }
    }))
}

pub(super) fn number_field(
    pointer: &str,
    title: &str,
    help: &str,
    raw: &Raw,
    errors: &Errors,
) -> Markup {
    let schema = json!({"type": "integer", "minimum": 1, "description": help});
    form::single_field(&schema, pointer, title, false, raw, errors)
}

pub async fn update_runtime(
    State(state): State<UiState>,
    Path((project, config_id)): Path<(String, ConfigId)>,
    form: PostForm,
) -> Result<Response, UiError> {
    let project = project_name(&project)?;
    let access = form.session.principal.access(&project);
    let session = &form.session;
    let services = &state.services;
    let config = services.latest_config(&access, config_id).await?;
    let manifest = super::manifest(&state, &config.workflow_type)?;
    let manifest = &manifest.manifest;
    let raw: Raw = form.fields.iter().cloned().collect();
    let mut errors: Vec<FieldError> = Vec::new();
    let params = form::value_from_raw(
        &manifest.runtime_params_schema,
        "/config",
        &raw,
        &mut errors,
    )
    .unwrap_or_else(|| json!({}));
    let text = |pointer: &str| {
        raw.get(pointer)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let mut request = PutRuntimeConfig {
        run_interval_s: Some(None),
        cron: Some(None),
        timezone: Some(text("/timezone")),
        disabled: Some(form.get("/disabled") == Some("true")),
        config: Some(params),
        concurrency_policy: None,
        starting_deadline_s: None,
        pause_after_failures: None,
        expected_duration_s: None,
    };
    super::paused::read_policies(&raw, &mut request, &mut errors);
    match form.get("schedule").unwrap_or("none") {
        "interval" => match text("/run_interval_s").map(|t| t.parse::<i64>()) {
            Some(Ok(seconds)) => request.run_interval_s = Some(Some(seconds)),
            _ => errors.push(FieldError {
                pointer: "/run_interval_s".into(),
                message: "must be a whole number of seconds".into(),
            }),
        },
        "cron" => match text("/cron") {
            Some(cron) => request.cron = Some(Some(cron)),
            None => errors.push(FieldError {
                pointer: "/cron".into(),
                message: "give a cron expression, e.g. 30 2 * * *".into(),
            }),
        },
        _ => {}
    }
    let result = if errors.is_empty() {
        services.put_runtime(&access, config_id, request).await
    } else {
        Err(CoreError::Unprocessable {
            detail: "the runtime settings are not valid".into(),
            errors,
        })
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!(
            "{}/runtime?notice=runtime",
            config_href(&project, config_id)
        ))
        .into_response()),
        Err(CoreError::Unprocessable { errors, .. } | CoreError::BadRequest { errors, .. }) => {
            let runtime = services.get_runtime(&access, config_id).await?;
            let page = render(
                &state,
                session,
                &project,
                &config,
                &runtime,
                raw,
                Errors::from_fields(errors),
                None,
            )?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn launch_run(
    State(state): State<UiState>,
    Path((project, config_id)): Path<(String, ConfigId)>,
    form: PostForm,
) -> Result<Redirect, UiError> {
    let project = project_name(&project)?;
    let access = form.session.principal.access(&project);
    let run = state
        .services
        .launch(&access, config_id, None, false)
        .await?;
    Ok(Redirect::to(&format!(
        "/projects/{project}/runs/{}",
        run.run_id
    )))
}
