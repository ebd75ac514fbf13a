//! Signing in with an API token (kept in the session cookie) and signing out.

use crate::error::UiError;
use crate::layout::Page;
use crate::session::{check_same_origin, cleared_cookie, over_tls, session_cookie, PostForm};
use crate::UiState;
use axum::extract::{Form, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use polyphemus_core::Principal;
use serde::Deserialize;

pub async fn show_signin() -> Markup {
    signin_page(None)
}

fn signin_page(error: Option<&str>) -> Markup {
    Page {
        title: "Sign in".to_owned(),
        session: None,
        crumbs: Vec::new(),
        live: false,
    }
    .render(html! {
        h1 { "Sign in" }
        @if let Some(error) = error {
            div.error-summary role="alert" #error-summary {
                h2 { "Could not sign in" }
                p #token-error { (error) }
            }
        }
        form.narrow method="post" action="/signin" {
            div class={ "field" @if error.is_some() { " invalid" } } {
                label for="token" { "API token" }
                p.help #token-help {
                    "A token from your administrator (" code { "polyphemus token create" } "). "
                    "It is kept in a cookie this browser sends only to this server."
                }
                input #token type="password" name="token" required autocomplete="current-password"
                    spellcheck="false" aria-describedby="token-help"
                    aria-invalid=[error.map(|_| "true")] autofocus;
            }
            button.primary type="submit" { "Sign in" }
        }
    })
}

#[derive(Deserialize)]
pub struct SignInForm {
    token: String,
}

pub async fn sign_in(
    State(state): State<UiState>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Result<Response, UiError> {
    check_same_origin(&headers)?;
    let token = form.token.trim();
    let refused =
        |message: &str| (StatusCode::UNAUTHORIZED, signin_page(Some(message))).into_response();
    if token.is_empty() {
        return Ok(refused("Enter your API token."));
    }
    // Only characters a token has may reach the cookie header.
    if !token
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Ok(refused("That is not a Polyphemus token."));
    }
    match state.services.tokens.verify(token).await {
        Ok(Principal::User { .. }) => Ok((
            [(
                header::SET_COOKIE,
                session_cookie(token, over_tls(&headers)),
            )],
            Redirect::to("/"),
        )
            .into_response()),
        Ok(Principal::Task { .. }) => Ok(refused(
            "That is a task token of a run; sign in with a user token.",
        )),
        Err(error) => Ok(refused(&format!("The token was refused: {error}."))),
    }
}

/// Needs a valid session and CSRF token (PostForm), so another site cannot sign you out.
pub async fn sign_out(headers: HeaderMap, _form: PostForm) -> Response {
    (
        [(header::SET_COOKIE, cleared_cookie(over_tls(&headers)))],
        Redirect::to("/signin"),
    )
        .into_response()
}
