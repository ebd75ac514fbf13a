//! "Your API tokens": a signed-in person's personal tokens for scripts — listed, made with at
//! most their own roles (the token authority checks this, not only the form), shown once, and
//! revocable.

use crate::error::UiError;
use crate::layout::{csrf_field, time, Page};
use crate::session::{PostForm, Session};
use crate::UiState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use polyphemus_core::{PersonalToken, Principal, PERSONAL_MAX_DAYS};
use polyphemus_model::Role;
use std::collections::BTreeMap;

const DEFAULT_DAYS: i64 = 90;
/// The form's role field of a project: `role:<project>`.
const ROLE_PREFIX: &str = "role:";

pub async fn show(State(state): State<UiState>, session: Session) -> Result<Markup, UiError> {
    let tokens = state
        .services
        .tokens
        .list_personal(&session.principal)
        .await?;
    Ok(render(&session, &tokens, None))
}

pub async fn create(State(state): State<UiState>, form: PostForm) -> Result<Response, UiError> {
    let label = form.get("name").unwrap_or_default().to_owned();
    let days = parse_days(form.get("days"))?;
    let roles = parse_roles(&form.fields)?;
    let session = &form.session;
    let issued = state
        .services
        .tokens
        .issue_personal(&session.principal, &label, roles, days)
        .await?;
    let tokens = state
        .services
        .tokens
        .list_personal(&session.principal)
        .await?;
    let shown = html! {
        div.notice.good role="status" #new-token {
            h2 { "Your new token “" (label.trim()) "”" }
            p { "Copy it now: it is shown only this once and cannot be shown again." }
            input #new-token-value type="text" readonly value=(issued.token)
                aria-label="The new token" spellcheck="false";
            p.help { "Use it as " code { "Authorization: Bearer …" } " on the API." }
        }
    };
    Ok((StatusCode::CREATED, render(session, &tokens, Some(shown))).into_response())
}

pub async fn revoke(
    State(state): State<UiState>,
    Path(id): Path<String>,
    form: PostForm,
) -> Result<Response, UiError> {
    state
        .services
        .tokens
        .revoke_personal(&form.session.principal, &id)
        .await?;
    Ok(Redirect::to("/tokens").into_response())
}

fn parse_days(given: Option<&str>) -> Result<i64, UiError> {
    let text = given.map(str::trim).filter(|t| !t.is_empty());
    match text {
        None => Ok(DEFAULT_DAYS),
        Some(text) => text.parse().map_err(|_| {
            UiError::bad_request(format!(
                "days: must be a whole number from 1 to {PERSONAL_MAX_DAYS}"
            ))
        }),
    }
}

/// The chosen role per project; a project left at "no access" is not in the token.
fn parse_roles(fields: &[(String, String)]) -> Result<BTreeMap<String, Role>, UiError> {
    let mut roles = BTreeMap::new();
    for (name, value) in fields {
        let Some(project) = name.strip_prefix(ROLE_PREFIX) else {
            continue;
        };
        if value.is_empty() {
            continue;
        }
        let role = value
            .parse::<Role>()
            .map_err(|_| UiError::bad_request(format!("role of project {project}: not a role")))?;
        roles.insert(project.to_owned(), role);
    }
    Ok(roles)
}

/// The roles the person holds, which the form offers (a token may have at most these).
fn held_roles(principal: &Principal) -> BTreeMap<String, Role> {
    match principal {
        Principal::User { roles, .. } => roles.clone(),
        Principal::Task { .. } => BTreeMap::new(),
    }
}

fn render(session: &Session, tokens: &[PersonalToken], shown: Option<Markup>) -> Markup {
    Page {
        title: "Your API tokens".to_owned(),
        session: Some(session),
        crumbs: vec![("/".to_owned(), "Projects".to_owned())],
        live: false,
    }
    .render(html! {
        h1 { "Your API tokens" }
        @if let Some(shown) = shown { (shown) }
        (token_table(session, tokens))
        (create_form(session))
    })
}

fn roles_text(roles: &BTreeMap<String, Role>) -> String {
    roles
        .iter()
        .map(|(project, role)| format!("{project}: {role}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn token_table(session: &Session, tokens: &[PersonalToken]) -> Markup {
    html! {
        @if tokens.is_empty() {
            p.muted #no-tokens { "You have no personal tokens." }
        } @else {
            div.table-wrap {
                table.stack #tokens {
                    thead { tr {
                        th { "Name" } th { "Roles" } th { "Created" } th { "Expires" } th { "" }
                    } }
                    tbody {
                        @for token in tokens {
                            tr data-token-id=(token.id) {
                                td { (token.label) }
                                td { (roles_text(&token.roles)) }
                                td { (time(Some(token.created_at))) }
                                td { (time(token.expires_at)) }
                                td {
                                    form method="post" action={ "/tokens/" (token.id) "/revoke" } {
                                        (csrf_field(session))
                                        button.danger type="submit" { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn create_form(session: &Session) -> Markup {
    let held = held_roles(&session.principal);
    html! {
        h2 { "Make a token" }
        @if held.is_empty() {
            p.muted { "You hold no role in any project, so a token of yours could do nothing." }
        } @else {
            form.narrow method="post" action="/tokens" #create-token {
                (csrf_field(session))
                div.field {
                    label for="token-name" { "Name" }
                    p.help #token-name-help { "What the token is for, e.g. the script using it." }
                    input #token-name name="name" required maxlength="100"
                        aria-describedby="token-name-help";
                }
                @for (project, own) in &held {
                    div.field {
                        label for={ "role-" (project) } { "Role on " (project) }
                        select id={ "role-" (project) } name={ (ROLE_PREFIX) (project) } {
                            option value="" { "No access" }
                            @for role in [Role::Viewer, Role::Editor, Role::Admin] {
                                @if role <= *own { option value=(role) { (role) } }
                            }
                        }
                    }
                }
                div.field {
                    label for="token-days" { "Expires after (days)" }
                    input #token-days name="days" type="number" min="1"
                        max=(PERSONAL_MAX_DAYS) value=(DEFAULT_DAYS);
                }
                button.primary type="submit" { "Make token" }
            }
        }
    }
}
