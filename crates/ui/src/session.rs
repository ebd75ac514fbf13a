//! Who is signed in: the session cookie holds the user's API token, verified on every request
//! exactly as a bearer token is. Every form carries a CSRF token (HMAC of the session token),
//! and every POST is checked for it and for a same-origin `Origin`.

use crate::error::UiError;
use crate::UiState;
use axum::extract::{Form, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use polyphemus_core::Principal;
use polyphemus_model::{text, ProjectName, Role};
use sha2::Sha256;

pub const SESSION_COOKIE: &str = "polyphemus_session";
/// The hidden field every form carries.
pub const CSRF_FIELD: &str = "_csrf";

/// The CSRF token of a session: base64url(HMAC-SHA256(key, session token)).
pub fn csrf_token(key: &[u8; 32], session_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(mac(key, session_token).finalize().into_bytes())
}

fn mac(key: &[u8; 32], session_token: &str) -> Hmac<Sha256> {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC-SHA256 takes keys of any length");
    mac.update(session_token.as_bytes());
    mac
}

/// Compares in constant time.
fn csrf_matches(key: &[u8; 32], session_token: &str, given: &str) -> bool {
    URL_SAFE_NO_PAD
        .decode(given)
        .is_ok_and(|bytes| mac(key, session_token).verify_slice(&bytes).is_ok())
}

/// The signed-in caller of a page.
#[derive(Debug, Clone)]
pub struct Session {
    pub principal: Principal,
    /// Goes into every form's hidden `_csrf` field.
    pub csrf: String,
}

impl Session {
    pub fn name(&self) -> String {
        self.principal.actor()
    }

    /// Whether to show edit controls; the services refuse edits regardless.
    pub fn can(&self, project: &ProjectName, role: Role) -> bool {
        self.principal.access(project).require(role).is_ok()
    }
}

fn session_token(headers: &HeaderMap) -> Option<String> {
    cookie(headers, SESSION_COOKIE)
}

/// The value of the cookie `wanted`, when set and not empty.
pub fn cookie(headers: &HeaderMap, wanted: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == wanted)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

impl FromRequestParts<UiState> for Session {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, state: &UiState) -> Result<Self, UiError> {
        let token = session_token(&parts.headers).ok_or(UiError::SignIn)?;
        let principal = state
            .services
            .tokens
            .verify(&token)
            .await
            .map_err(|_| UiError::SignIn)?;
        if matches!(principal, Principal::Task { .. }) {
            // Task tokens belong to a run's steps, never to a person's browser.
            return Err(UiError::SignIn);
        }
        let csrf = csrf_token(state.services.keys.ui_forms_key(), &token);
        Ok(Session { principal, csrf })
    }
}

/// Refuses a POST whose `Origin` (or `Sec-Fetch-Site`) says it came from another site.
pub fn check_same_origin(headers: &HeaderMap) -> Result<(), UiError> {
    let forbidden = || UiError::forbidden("this form was sent from another site");
    if headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|site| site == "cross-site" || site == "same-site")
    {
        return Err(forbidden());
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        // Browsers send Origin on every POST; tools without it still need the CSRF token.
        return Ok(());
    };
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, rest)| rest)
        .ok_or_else(forbidden)?;
    // Behind a reverse proxy the browser's host arrives as X-Forwarded-Host.
    let same = [header::HOST.as_str(), "x-forwarded-host"]
        .into_iter()
        .filter_map(|name| headers.get(name).and_then(|v| v.to_str().ok()))
        .any(|host| host.trim().eq_ignore_ascii_case(origin_host));
    if same {
        Ok(())
    } else {
        Err(forbidden())
    }
}

/// The fields of a POSTed form from a signed-in session whose CSRF token and origin were
/// checked (403 otherwise). Fields keep their order; a name may repeat.
#[derive(Debug)]
pub struct PostForm {
    pub session: Session,
    pub fields: Vec<(String, String)>,
}

impl PostForm {
    /// The last value given for a name (a checkbox follows its hidden default).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl FromRequest<UiState> for PostForm {
    type Rejection = UiError;

    async fn from_request(request: Request, state: &UiState) -> Result<Self, UiError> {
        let (mut parts, body) = request.into_parts();
        check_same_origin(&parts.headers)?;
        let token = session_token(&parts.headers).ok_or(UiError::SignIn)?;
        let session = Session::from_request_parts(&mut parts, state).await?;
        let request = Request::from_parts(parts, body);
        let Form(fields) = Form::<Vec<(String, String)>>::from_request(request, state)
            .await
            .map_err(|rejection| UiError::bad_request(rejection.body_text()))?;
        let given = fields
            .iter()
            .find(|(name, _)| name == CSRF_FIELD)
            .map(|(_, value)| value.as_str())
            .unwrap_or_default();
        if !csrf_matches(state.services.keys.ui_forms_key(), &token, given) {
            return Err(UiError::forbidden(
                "this form has expired or was not sent by this site; reload the page and try again",
            ));
        }
        // The same rule as the API's: text the stores cannot hold never reaches a service.
        if let Some((name, _)) = fields
            .iter()
            .find(|(name, value)| !text::is_storable(name) || !text::is_storable(value))
        {
            return Err(UiError::bad_request(format!(
                "field {} {}",
                text::scrub(name),
                text::NUL_REFUSED
            )));
        }
        Ok(PostForm { session, fields })
    }
}

/// Whether the browser reached us over TLS (directly or through a proxy that says so).
pub fn over_tls(headers: &HeaderMap) -> bool {
    let forwarded_https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"));
    let forwarded = headers
        .get(header::FORWARDED)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|f| f.to_ascii_lowercase().contains("proto=https"));
    forwarded_https || forwarded
}

/// `Set-Cookie` for a new session (no Max-Age: it ends with the browser session).
pub fn session_cookie(token: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{secure}")
}

/// `Set-Cookie` that removes the session.
pub fn cleared_cookie(secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}")
}
