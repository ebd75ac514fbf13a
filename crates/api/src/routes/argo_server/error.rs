//! Errors as Argo Server gives them: `{"code": <gRPC code>, "message": …}` with the HTTP status
//! grpc-gateway maps that code to, so Argo's clients read them as they read Argo's own.

use crate::error::ApiError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use polyphemus_core::CoreError;
use serde_json::json;

/// The gRPC codes this API answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrpcCode {
    InvalidArgument = 3,
    NotFound = 5,
    AlreadyExists = 6,
    PermissionDenied = 7,
    FailedPrecondition = 9,
    Aborted = 10,
    Unimplemented = 12,
    Internal = 13,
    Unavailable = 14,
    Unauthenticated = 16,
}

impl GrpcCode {
    fn status(self) -> StatusCode {
        match self {
            Self::InvalidArgument | Self::FailedPrecondition => StatusCode::BAD_REQUEST,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::AlreadyExists | Self::Aborted => StatusCode::CONFLICT,
            Self::PermissionDenied => StatusCode::FORBIDDEN,
            Self::Unimplemented => StatusCode::NOT_IMPLEMENTED,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
        }
    }
}

#[derive(Debug)]
pub struct ArgoError {
    code: GrpcCode,
    message: String,
}

impl ArgoError {
    pub fn new(code: GrpcCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(GrpcCode::InvalidArgument, message)
    }
}

impl From<CoreError> for ArgoError {
    fn from(error: CoreError) -> Self {
        let code = match &error {
            CoreError::NotFound(_) => GrpcCode::NotFound,
            CoreError::Unauthenticated(_) => GrpcCode::Unauthenticated,
            CoreError::Forbidden(_) => GrpcCode::PermissionDenied,
            CoreError::BadRequest { .. } | CoreError::Unprocessable { .. } => {
                GrpcCode::InvalidArgument
            }
            CoreError::Conflict(_) => GrpcCode::FailedPrecondition,
            CoreError::AlreadyExists(_) => GrpcCode::AlreadyExists,
            // Kubernetes' 409 Conflict on a stale resourceVersion, as Argo Server passes it on.
            CoreError::Outdated(_) => GrpcCode::Aborted,
            CoreError::Unavailable(_) => GrpcCode::Unavailable,
            CoreError::Internal(why) => {
                tracing::error!(error = %why, "internal error");
                return Self::new(
                    GrpcCode::Internal,
                    "internal error; the server log has the details",
                );
            }
        };
        Self::new(code, error.to_string())
    }
}

/// A rejection of the shared extractors (token, path, query) in Argo's shape.
impl From<ApiError> for ArgoError {
    fn from(error: ApiError) -> Self {
        let code = match error.status() {
            StatusCode::UNAUTHORIZED => GrpcCode::Unauthenticated,
            StatusCode::FORBIDDEN => GrpcCode::PermissionDenied,
            StatusCode::NOT_FOUND => GrpcCode::NotFound,
            StatusCode::CONFLICT => GrpcCode::AlreadyExists,
            StatusCode::SERVICE_UNAVAILABLE => GrpcCode::Unavailable,
            StatusCode::INTERNAL_SERVER_ERROR => GrpcCode::Internal,
            _ => GrpcCode::InvalidArgument,
        };
        Self::new(code, error.detail().to_owned())
    }
}

impl IntoResponse for ArgoError {
    fn into_response(self) -> Response {
        let body = json!({"code": self.code as i32, "message": self.message});
        (self.code.status(), Json(body)).into_response()
    }
}
