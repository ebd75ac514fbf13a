//! The list of projects the signed-in token reaches.

use crate::error::UiError;
use crate::layout::Page;
use crate::pages::project_name;
use crate::session::Session;
use crate::UiState;
use axum::extract::{Query, State};
use axum::response::Redirect;
use maud::{html, Markup};
use polyphemus_core::auth::ALL_PROJECTS;
use polyphemus_core::Principal;
use serde::Deserialize;

pub async fn list_projects(
    State(state): State<UiState>,
    session: Session,
) -> Result<Markup, UiError> {
    let projects = state.services.list_projects(&session.principal).await?;
    let (every, no_role) = match &session.principal {
        Principal::User { roles, .. } => (roles.get(ALL_PROJECTS).copied(), roles.is_empty()),
        Principal::Task { .. } => (None, false),
    };
    Ok(Page {
        title: "Projects".to_owned(),
        session: Some(&session),
        crumbs: Vec::new(),
        live: false,
    }
    .render(html! {
        h1 { "Projects" }
        @if let Some(role) = every {
            p { "Your token reaches every project as " strong { (role) } "." }
        }
        @if no_role {
            div.notice #no-project {
                p { "You are signed in as " strong { (session.name()) } "." }
                p { "You have no role in any project yet. Ask an administrator to add you to a \
                     project's group at your organisation's identity provider, then sign in again." }
            }
        } @else if projects.is_empty() {
            p.empty { "No projects yet." }
        } @else {
            ul.cards {
                @for project in &projects {
                    @let role = [polyphemus_model::Role::Admin, polyphemus_model::Role::Editor, polyphemus_model::Role::Viewer]
                        .into_iter()
                        .find(|r| session.can(project, *r));
                    li {
                        a href={ "/projects/" (project) } { (project) }
                        @if let Some(role) = role { " " span.muted { "(" (role) ")" } }
                    }
                }
            }
        }
        @if every.is_some() {
            // A new project exists once its first config is created.
            form.inline method="get" action="/projects" {
                div.field {
                    label for="project" { "Open a project by name" }
                    input #project name="name" required spellcheck="false" autocomplete="off";
                }
                button type="submit" { "Open" }
            }
        }
    }))
}

#[derive(Deserialize)]
pub struct OpenProject {
    name: String,
}

pub async fn open_project(
    _session: Session,
    Query(query): Query<OpenProject>,
) -> Result<Redirect, UiError> {
    let project = project_name(query.name.trim())?;
    Ok(Redirect::to(&format!("/projects/{project}")))
}
