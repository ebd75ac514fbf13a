//! Extractors whose rejections are problem+json, and the caller's identity from its token.

use crate::error::ApiError;
use crate::AppState;
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use polyphemus_core::Principal;
use polyphemus_model::RunId;

/// `axum::Json` with problem+json rejections (400 malformed, 413 too large, 415 not JSON).
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// `axum::extract::Path` with problem+json rejections.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// `axum::extract::Query` with problem+json rejections.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

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
