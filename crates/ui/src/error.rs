//! What a page answers when something goes wrong: the sign-in page for no session, otherwise an
//! HTML page with the status and a message the user can act on (never a secret).

use crate::layout;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use polyphemus_core::CoreError;

#[derive(Debug)]
pub enum UiError {
    /// No session, or its token is no longer valid.
    SignIn,
    Page {
        status: StatusCode,
        message: String,
    },
}

impl UiError {
    pub fn forbidden(message: impl Into<String>) -> Self {
        UiError::Page {
            status: StatusCode::FORBIDDEN,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        UiError::Page {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }
}

impl From<CoreError> for UiError {
    fn from(error: CoreError) -> Self {
        let status = match &error {
            CoreError::Unauthenticated(_) => return UiError::SignIn,
            CoreError::NotFound(_) => StatusCode::NOT_FOUND,
            CoreError::Forbidden(_) => StatusCode::FORBIDDEN,
            CoreError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            CoreError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            CoreError::Conflict(_) | CoreError::AlreadyExists(_) | CoreError::Outdated(_) => {
                StatusCode::CONFLICT
            }
            CoreError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            CoreError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let message = match error {
            CoreError::Internal(detail) => {
                tracing::error!(%detail, "internal error on a UI page");
                "something went wrong on the server; the details are in its log".to_owned()
            }
            other => with_fields(&other),
        };
        UiError::Page { status, message }
    }
}

/// The error's text, followed by each field it names (a refused launch names the fields).
fn with_fields(error: &CoreError) -> String {
    let fields: Vec<String> = error
        .field_errors()
        .iter()
        .map(|field| format!("{}: {}", field.pointer, field.message))
        .collect();
    if fields.is_empty() {
        return error.to_string();
    }
    format!("{} ({})", error, fields.join("; "))
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        match self {
            UiError::SignIn => Redirect::to("/signin").into_response(),
            UiError::Page { status, message } => {
                let reason = status.canonical_reason().unwrap_or("Error");
                let body = layout::error_page(status.as_u16(), reason, &message);
                (
                    status,
                    [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                    body.into_string(),
                )
                    .into_response()
            }
        }
    }
}
