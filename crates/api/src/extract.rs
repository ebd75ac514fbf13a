//! Extractors whose rejections are problem+json, and the caller's identity from its token.

use crate::error::ApiError;
use crate::AppState;
use axum::body::{Body, Bytes};
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::Json;
use polyphemus_core::{CoreError, Principal};
use polyphemus_model::{text, RunId};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// `axum::Json` with problem+json rejections (400 malformed, 413 too large, 415 not JSON), and
/// 400 naming the field for text the stores cannot hold (see `polyphemus_model::text`).
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let (parts, body) = request.into_parts();
        let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(JsonRejection::from)?;
        let request = Request::from_parts(parts, Body::from(bytes.clone()));
        let Json(value) = Json::<T>::from_request(request, state).await?;
        // A NUL reaches a string only through the `\u0000` escape (JSON forbids it raw), so
        // bodies without one skip the second parse.
        if bytes.windows(6).any(|window| window == b"\\u0000") {
            let tree: Value = serde_json::from_slice(&bytes)
                .map_err(|error| ApiError::new(StatusCode::BAD_REQUEST, error.to_string()))?;
            if let Some(pointer) = text::find_unstorable(&tree, "") {
                return Err(nul_refused("request body", pointer));
            }
        }
        Ok(Self(value))
    }
}

/// `axum::extract::Path` with problem+json rejections; a NUL in a segment is a 400 naming it.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let raw = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|rejection| ApiError::new(StatusCode::BAD_REQUEST, rejection.body_text()))?;
        if let Some((name, _)) = raw.iter().find(|(_, value)| !text::is_storable(value)) {
            return Err(nul_refused("path", format!("/{name}")));
        }
        let Path(value) = Path::<T>::from_request_parts(parts, state).await?;
        Ok(Self(value))
    }
}

/// `axum::extract::Query` with problem+json rejections; a NUL in a name or value is a 400
/// naming the parameter.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)?;
        if let Some((name, _)) = pairs
            .iter()
            .find(|(name, value)| !text::is_storable(name) || !text::is_storable(value))
        {
            return Err(nul_refused("query", format!("/{}", text::scrub(name))));
        }
        let Query(value) = Query::<T>::try_from_uri(&parts.uri)?;
        Ok(Self(value))
    }
}

/// 400 for a NUL at `pointer` of `part` (the body, the path or the query).
fn nul_refused(part: &str, pointer: String) -> ApiError {
    let field = pointer.trim_start_matches('/');
    let field = if field.is_empty() { part } else { field };
    ApiError::from(CoreError::BadRequest {
        detail: format!("{part}: {field} {}", text::NUL_REFUSED),
        errors: vec![text::nul_refused(&pointer)],
    })
}

/// The verified caller of a request (`Authorization: Bearer <token>`).
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "missing Authorization: Bearer <token> header",
                )
            })?
            .to_str()
            .map_err(|_| {
                ApiError::new(StatusCode::UNAUTHORIZED, "malformed Authorization header")
            })?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "the Authorization header must be: Bearer <token>",
                )
            })?;
        let principal = state.services.tokens.verify(token).await?;
        Ok(Caller(principal))
    }
}

/// A run id from the path; one that cannot exist is simply not found (as in the store).
pub fn run_id_in_path(raw: &str) -> Result<RunId, ApiError> {
    RunId::parse(raw)
        .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, format!("run {raw} not found")))
}
