//! Signing in with the organisation's OpenID provider: `/signin/oidc` sends the browser to the
//! provider (code flow, PKCE, state, nonce), `/signin/oidc/callback` takes the code back.
//!
//! The session is an ordinary Polyphemus user token issued for the person (kind `session`,
//! their mapped roles, the session lifetime) and kept in the existing cookie: every check a
//! pasted token passes through applies unchanged, roles are read again at each sign-in, and
//! sign-out revokes the token so a copied cookie stops working.

use crate::attempt;
use crate::error::UiError;
use crate::session::{cookie, over_tls, session_cookie};
use crate::settings::OidcSignIn;
use crate::UiState;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use maud::{html, DOCTYPE};
use polyphemus_core::auth::OidcVerifier;
use polyphemus_core::CoreError;
use polyphemus_model::text;
use serde::Deserialize;

/// Holds the ID token for the provider's sign-out (`id_token_hint`); only this server reads it.
pub const ID_TOKEN_COOKIE: &str = "polyphemus_oidc_id";
const CALLBACK_PATH: &str = "/signin/oidc/callback";

/// The provider and this server's client settings, when sign-in with it is on.
pub fn configured(state: &UiState) -> Option<(&OidcVerifier, &OidcSignIn)> {
    Some((state.services.tokens.oidc()?, state.settings.oidc.as_ref()?))
}

/// What the sign-in button names: the configured name, else the issuer's host.
pub fn provider_label(verifier: &OidcVerifier, client: &OidcSignIn) -> String {
    if let Some(name) = &client.provider_name {
        return name.clone();
    }
    let issuer = verifier.settings().issuer.as_str();
    let rest = issuer.split_once("://").map_or(issuer, |(_, rest)| rest);
    rest.split('/').next().unwrap_or(rest).to_owned()
}

/// This server's address as the browser sees it. The provider only redirects to URIs
/// registered for this client, so a forged Host cannot send the code elsewhere.
pub fn own_url(headers: &HeaderMap, path: &str) -> String {
    let scheme = if over_tls(headers) { "https" } else { "http" };
    let host = ["x-forwarded-host", header::HOST.as_str()]
        .into_iter()
        .find_map(|name| headers.get(name).and_then(|v| v.to_str().ok()))
        .map(|host| host.split(',').next().unwrap_or(host).trim())
        .unwrap_or("localhost");
    format!("{scheme}://{host}{path}")
}

fn not_offered() -> UiError {
    UiError::Page {
        status: StatusCode::NOT_FOUND,
        message: "sign-in with an identity provider is not set up on this server".to_owned(),
    }
}

pub async fn start(State(state): State<UiState>, headers: HeaderMap) -> Result<Response, UiError> {
    let (verifier, _) = configured(&state).ok_or_else(not_offered)?;
    let attempt = polyphemus_core::auth::oidc::LoginAttempt::new();
    let url = verifier
        .authorization_url(&attempt, &own_url(&headers, CALLBACK_PATH))
        .await?;
    let sealed = attempt::seal(state.services.keys.ui_forms_key(), &attempt);
    Ok((
        [(
            header::SET_COOKIE,
            attempt::set_cookie(&sealed, over_tls(&headers)),
        )],
        Redirect::to(&url),
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

pub async fn callback(
    State(state): State<UiState>,
    headers: HeaderMap,
    Query(query): Query<Callback>,
) -> Result<Response, UiError> {
    let (verifier, client) = configured(&state).ok_or_else(not_offered)?;
    if let Some(error) = &query.error {
        return Err(UiError::bad_request(format!(
            "the identity provider did not sign you in ({}); try again",
            text::scrub(error)
        )));
    }
    let attempt = cookie(&headers, attempt::ATTEMPT_COOKIE)
        .and_then(|value| attempt::open(state.services.keys.ui_forms_key(), &value))
        .filter(|attempt| query.state.as_deref() == Some(attempt.state.as_str()))
        .ok_or_else(|| {
            UiError::bad_request(
                "state: this sign-in was not started in this browser or has expired; \
                 start again from the sign-in page",
            )
        })?;
    let code = query
        .code
        .as_deref()
        .filter(|code| !code.is_empty())
        .ok_or_else(|| UiError::bad_request("code: the provider sent no sign-in code"))?;
    let redirect_uri = own_url(&headers, CALLBACK_PATH);
    let signed_in = verifier
        .finish_sign_in(code, &attempt, &redirect_uri, &client.secret)
        .await
        .map_err(refused)?;
    let issued = state
        .services
        .tokens
        .issue_session(&signed_in.person.display(), signed_in.roles, client.session)
        .await?;
    tracing::info!(person = %signed_in.person.display(), "signed in with the OpenID provider");
    let secure = over_tls(&headers);
    Ok((
        AppendHeaders([
            (header::SET_COOKIE, session_cookie(&issued.token, secure)),
            (
                header::SET_COOKIE,
                id_token_cookie(&signed_in.id_token, secure),
            ),
            (header::SET_COOKIE, attempt::cleared_cookie(secure)),
        ]),
        navigate_page("Signed in", "/"),
    )
        .into_response())
}

/// A refused code or ID token is the sign-in's failure (401 with the reason), not a
/// missing session.
fn refused(error: CoreError) -> UiError {
    match error {
        CoreError::Unauthenticated(reason) => UiError::Page {
            status: StatusCode::UNAUTHORIZED,
            message: format!("the sign-in was refused: {reason}"),
        },
        other => other.into(),
    }
}

fn id_token_cookie(id_token: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{ID_TOKEN_COOKIE}={id_token}; Path=/signout; HttpOnly; SameSite=Strict{secure}")
}

pub fn cleared_id_token_cookie(secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{ID_TOKEN_COOKIE}=; Path=/signout; HttpOnly; SameSite=Strict; Max-Age=0{secure}")
}

/// Opens `url` from a page of ours. After the callback (reached by a cross-site redirect)
/// this makes the next request same-site, so the SameSite=Strict session cookie goes with
/// it; after sign-out it reaches the provider, where a redirect would break the pages'
/// `form-action 'self'`.
pub fn navigate_page(title: &str, url: &str) -> maud::Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="refresh" content={ "0;url=" (url) };
                title { (title) " · Polyphemus" }
                link rel="stylesheet" href="/assets/ui.css";
            }
            body { main #main { p { (title) ". " a href=(url) { "Continue" } } } }
        }
    }
}
