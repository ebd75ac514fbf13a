//! The sign-in page (an API token, kept in the session cookie, and/or the organisation's
//! identity provider, see [`super::oidc`]) and signing out.

use super::oidc;
use crate::error::UiError;
use crate::layout::Page;
use crate::session::{
    check_same_origin, cleared_cookie, cookie, over_tls, session_cookie, PostForm,
};
use crate::UiState;
use axum::extract::{Form, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use maud::{html, Markup};
use polyphemus_core::Principal;
use serde::Deserialize;

pub async fn show_signin(State(state): State<UiState>) -> Markup {
    signin_page(&state, None)
}

fn signin_page(state: &UiState, error: Option<&str>) -> Markup {
    let provider = oidc::configured(state).map(|(v, c)| oidc::provider_label(v, c));
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
        @if let Some(provider) = &provider {
            p { a.button.primary #oidc-signin href="/signin/oidc" { "Sign in with " (provider) } }
        }
        @if state.settings.token_signin {
            @if provider.is_some() { h2 { "Or with an API token" } }
            (token_form(error))
        }
    })
}

fn token_form(error: Option<&str>) -> Markup {
    html! {
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
    }
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
    if !state.settings.token_signin {
        return Err(UiError::Page {
            status: StatusCode::NOT_FOUND,
            message: "signing in with an API token is turned off on this server".to_owned(),
        });
    }
    check_same_origin(&headers)?;
    let token = form.token.trim();
    let refused = |message: &str| {
        (StatusCode::UNAUTHORIZED, signin_page(&state, Some(message))).into_response()
    };
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
/// A session from the identity provider is revoked here (a copied cookie stops working), and
/// the provider's own session ends too when it offers `end_session_endpoint`.
pub async fn sign_out(
    State(state): State<UiState>,
    headers: HeaderMap,
    form: PostForm,
) -> Result<Response, UiError> {
    let ended = match &form.session.principal {
        Principal::User { token_id, .. } => state.services.tokens.end_session(token_id).await?,
        Principal::Task { .. } => false,
    };
    let secure = over_tls(&headers);
    let mut next = None;
    if let (true, Some((verifier, _))) = (ended, oidc::configured(&state)) {
        let hint = cookie(&headers, oidc::ID_TOKEN_COOKIE);
        let back = oidc::own_url(&headers, "/signin");
        match verifier.end_session_url(hint.as_deref(), &back).await {
            Ok(Some(url)) => next = Some(url),
            Ok(None) => {}
            // The session here is over either way; the provider's may outlive it.
            Err(error) => tracing::warn!(%error, "could not end the provider's session"),
        }
    }
    Ok((
        AppendHeaders([
            (header::SET_COOKIE, cleared_cookie(secure)),
            (header::SET_COOKIE, oidc::cleared_id_token_cookie(secure)),
        ]),
        match next {
            Some(url) => oidc::navigate_page("Signed out", &url).into_response(),
            None => Redirect::to("/signin").into_response(),
        },
    )
        .into_response())
}
