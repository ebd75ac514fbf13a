//! A project's notification channels: what is told where, a test alert, removal, and a form
//! to add a Slack-compatible webhook, a signed webhook or email. Credentials are write-only.

use crate::error::UiError;
use crate::form::{self, Errors, Raw};
use crate::layout::{csrf_field, notice, time, Page};
use crate::pages::{project_crumbs, project_name};
use crate::session::{PostForm, Session};
use crate::UiState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use polyphemus_core::CoreError;
use polyphemus_model::{AlertEvent, Channel, ChannelSettings, NewChannel, ProjectName, Role};
use serde::Deserialize;

const EVENTS: [(AlertEvent, &str); 4] = [
    (AlertEvent::RunFailed, "A run failed"),
    (AlertEvent::SchedulePaused, "A schedule paused itself"),
    (AlertEvent::RunRecovered, "The first success after failures"),
    (
        AlertEvent::RunOverdue,
        "A run is taking longer than expected",
    ),
];

#[derive(Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
}

pub async fn show(
    State(state): State<UiState>,
    session: Session,
    Path(project): Path<String>,
    Query(query): Query<NoticeQuery>,
) -> Result<Markup, UiError> {
    let project = project_name(&project)?;
    let access = session.principal.access(&project);
    let channels = state.services.list_channels(&access).await?;
    render(
        &session,
        &project,
        &channels,
        &Raw::new(),
        &Errors::default(),
        query.notice.as_deref(),
        None,
    )
}

fn render(
    session: &Session,
    project: &ProjectName,
    channels: &[Channel],
    raw: &Raw,
    errors: &Errors,
    notice_key: Option<&str>,
    failure: Option<&str>,
) -> Result<Markup, UiError> {
    let admin = session.can(project, Role::Admin);
    let base = format!("/projects/{project}/notifications");
    Ok(Page {
        title: "Notifications".to_owned(),
        session: Some(session),
        crumbs: project_crumbs(project),
        live: false,
    }
    .render(html! {
        h1 { "Notifications" }
        (notice(notice_key))
        @if let Some(why) = failure {
            p.notice.bad role="alert" { "The test alert was not delivered: " (why) }
        }
        @if channels.is_empty() {
            p.muted { "No channels: nobody is told when a run fails." }
        } @else {
            div.table-wrap {
                table.stack {
                    caption.visually-hidden { "Where this project's alerts go" }
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Where" } th scope="col" { "Told about" } th scope="col" { "Added" } @if admin { th scope="col" { "Actions" } } } }
                    tbody {
                        @for channel in channels {
                            tr {
                                td { (channel.name) }
                                td { (channel.target) }
                                td { (told_about(&channel.events)) }
                                td { (time(Some(channel.created_at))) }
                                @if admin {
                                    td.actions {
                                        form.inline method="post" action={ (base) "/" (channel.id) "/test" } {
                                            (csrf_field(session))
                                            button type="submit" { "Send a test alert" }
                                        }
                                        form.inline method="post" action={ (base) "/" (channel.id) "/delete" } {
                                            (csrf_field(session))
                                            button.danger type="submit" { "Remove" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if admin { (add_form(session, &base, raw, errors)) }
    }))
}

fn told_about(events: &[AlertEvent]) -> String {
    EVENTS
        .iter()
        .filter(|(event, _)| events.contains(event))
        .map(|(_, label)| *label)
        .collect::<Vec<_>>()
        .join("; ")
}

fn add_form(session: &Session, base: &str, raw: &Raw, errors: &Errors) -> Markup {
    let kind = raw.get("kind").map(String::as_str).unwrap_or("slack");
    let secret = |pointer: &str, title: &str| {
        let id = format!("f-{}", pointer.trim_start_matches('/').replace('/', "-"));
        html! {
            div.field {
                label for=(id) { (title) }
                input #(id) type="password" name=(pointer) autocomplete="new-password";
                @for message in errors.at(pointer) { p.error role="alert" { (message) } }
            }
        }
    };
    html! {
        h2 { "Add a channel" }
        (errors.summary(&std::collections::BTreeMap::new()))
        form.channel method="post" action=(base) novalidate {
            (csrf_field(session))
            (form::text_field("/name", "Name", Some("Letters, digits, '.', '_' or '-'; unique in the project."), true, raw, errors))
            fieldset.group {
                legend { "Tell it when" }
                @for (event, label) in EVENTS {
                    div.check {
                        input type="checkbox" name={ "event-" (event.as_str()) } id={ "event-" (event.as_str()) } value="on" checked[raw.contains_key(&format!("event-{}", event.as_str())) || raw.is_empty()];
                        label for={ "event-" (event.as_str()) } { (label) }
                    }
                }
                @for message in errors.at("/events") { p.error role="alert" { (message) } }
            }
            fieldset.group {
                legend { "Deliver by" }
                @for (value, label) in [("slack", "Slack-compatible incoming webhook"), ("webhook", "Signed JSON webhook"), ("email", "Email")] {
                    div.check {
                        input type="radio" name="kind" value=(value) id={ "kind-" (value) } checked[kind == value];
                        label for={ "kind-" (value) } { (label) }
                    }
                }
                (secret("/settings/url", "Webhook URL (Slack or signed webhook)"))
                (secret("/settings/secret", "Signing secret (signed webhook; at least 16 characters)"))
                (form::text_field("/settings/smtp_host", "SMTP server (email)", None, false, raw, errors))
                (form::text_field("/settings/smtp_port", "SMTP port (email; default 587)", None, false, raw, errors))
                (form::text_field("/settings/username", "SMTP user name (email, optional)", None, false, raw, errors))
                (secret("/settings/password", "SMTP password (email, optional)"))
                (form::text_field("/settings/from", "From address (email)", None, false, raw, errors))
                (form::text_field("/settings/to", "To addresses (email; comma-separated)", None, false, raw, errors))
            }
            button.primary type="submit" { "Add channel" }
        }
    }
}

/// The channel the form describes; the settings of the kinds not chosen are ignored.
fn channel_from(form: &PostForm) -> Result<NewChannel, CoreError> {
    let text = |pointer: &str| {
        form.get(pointer)
            .map(str::trim)
            .unwrap_or_default()
            .to_owned()
    };
    let optional = |pointer: &str| Some(text(pointer)).filter(|t| !t.is_empty());
    let settings = match form.get("kind").unwrap_or("slack") {
        "webhook" => ChannelSettings::Webhook {
            url: text("/settings/url"),
            secret: text("/settings/secret"),
        },
        "email" => ChannelSettings::Email {
            smtp_host: text("/settings/smtp_host"),
            smtp_port: match optional("/settings/smtp_port") {
                None => 587,
                Some(port) => port.parse().map_err(|_| {
                    CoreError::bad_field("/settings/smtp_port", "must be a port number")
                })?,
            },
            username: optional("/settings/username"),
            password: optional("/settings/password"),
            from: text("/settings/from"),
            to: text("/settings/to")
                .split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(str::to_owned)
                .collect(),
        },
        _ => ChannelSettings::Slack {
            url: text("/settings/url"),
        },
    };
    let events = EVENTS
        .iter()
        .filter(|(event, _)| form.get(&format!("event-{}", event.as_str())) == Some("on"))
        .map(|(event, _)| *event)
        .collect();
    Ok(NewChannel {
        name: text("/name"),
        events,
        settings,
    })
}

pub async fn create(
    State(state): State<UiState>,
    Path(project): Path<String>,
    form: PostForm,
) -> Result<Response, UiError> {
    let project = project_name(&project)?;
    let access = form.session.principal.access(&project);
    let result = match channel_from(&form) {
        Ok(channel) => state.services.create_channel(&access, channel).await,
        Err(error) => Err(error),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!(
            "/projects/{project}/notifications?notice=channel-added"
        ))
        .into_response()),
        Err(CoreError::Unprocessable { errors, .. } | CoreError::BadRequest { errors, .. }) => {
            // Credentials are never sent back into the form.
            let raw: Raw = form
                .fields
                .iter()
                .filter(|(key, _)| {
                    !matches!(
                        key.as_str(),
                        "/settings/url" | "/settings/secret" | "/settings/password"
                    )
                })
                .cloned()
                .collect();
            let channels = state.services.list_channels(&access).await?;
            let page = render(
                &form.session,
                &project,
                &channels,
                &raw,
                &Errors::from_fields(errors),
                None,
                None,
            )?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn delete(
    State(state): State<UiState>,
    Path((project, id)): Path<(String, i64)>,
    form: PostForm,
) -> Result<Redirect, UiError> {
    let project = project_name(&project)?;
    let access = form.session.principal.access(&project);
    state.services.delete_channel(&access, id).await?;
    Ok(Redirect::to(&format!(
        "/projects/{project}/notifications?notice=channel-removed"
    )))
}

pub async fn test(
    State(state): State<UiState>,
    Path((project, id)): Path<(String, i64)>,
    form: PostForm,
) -> Result<Response, UiError> {
    let project = project_name(&project)?;
    let access = form.session.principal.access(&project);
    let outcome = state.services.test_channel(&access, id).await?;
    match outcome.error {
        None => Ok(Redirect::to(&format!(
            "/projects/{project}/notifications?notice=test-delivered"
        ))
        .into_response()),
        Some(why) => {
            let channels = state.services.list_channels(&access).await?;
            let page = render(
                &form.session,
                &project,
                &channels,
                &Raw::new(),
                &Errors::default(),
                None,
                Some(&why),
            )?;
            Ok((StatusCode::BAD_GATEWAY, page).into_response())
        }
    }
}
