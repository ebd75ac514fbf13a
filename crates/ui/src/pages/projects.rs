//! The list of projects the signed-in token reaches.

use crate::error::UiError;
use crate::layout::Page;
use crate::pages::project_name;
use crate::session::Session;
use axum::extract::Query;
use axum::response::Redirect;
use maud::{html, Markup};
use polyphemus_core::auth::ALL_PROJECTS;
use polyphemus_core::Principal;
use serde::Deserialize;

pub async fn list_projects(session: Session) -> Markup {
    let roles = match &session.principal {
        Principal::User { roles, .. } => roles.clone(),
        Principal::Task { .. } => Default::default(),
    };
    let every = roles.get(ALL_PROJECTS).copied();
    Page {
        title: "Projects".to_owned(),
        session: Some(&session),
        crumbs: Vec::new(),
        live: false,
    }
    .render(html! {
        h1 { "Projects" }
        @let named: Vec<_> = roles.iter().filter(|(p, _)| p.as_str() != ALL_PROJECTS).collect();
        @if !named.is_empty() {
            ul.cards {
                @for (project, role) in &named {
                    li {
                        a href={ "/projects/" (project) } { (project) }
                        " " span.muted { "(" (role) ")" }
                    }
                }
            }
        }
        @if let Some(role) = every {
            p { "Your token reaches every project as " strong { (role) } "." }
        }
        form.inline method="get" action="/projects" {
            div.field {
                label for="project" { "Open a project by name" }
                input #project name="name" required spellcheck="false" autocomplete="off"
                    value=[named.is_empty().then_some("default")];
            }
            button type="submit" { "Open" }
        }
    })
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
