//! One error type for every handler: each domain error and extractor rejection becomes an
//! RFC 9457 problem+json answer. Internal errors are logged in full; clients get a generic line.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use polyphemus_core::CoreError;
use polyphemus_model::{FieldError, Problem};

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    detail: String,
    errors: Vec<FieldError>,
}

impl ApiError {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The message, already scrubbed of secrets.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

impl From<CoreError> for ApiError {
    fn from(error: CoreError) -> Self {
        let (status, detail, errors) = match error {
            CoreError::NotFound(what) => {
                (StatusCode::NOT_FOUND, format!("{what} not found"), vec![])
            }
            CoreError::Unauthenticated(why) => (StatusCode::UNAUTHORIZED, why, vec![]),
            CoreError::Forbidden(why) => (StatusCode::FORBIDDEN, why, vec![]),
            CoreError::BadRequest { detail, errors } => (StatusCode::BAD_REQUEST, detail, errors),
            CoreError::Unprocessable { detail, errors } => {
                (StatusCode::UNPROCESSABLE_ENTITY, detail, errors)
            }
            CoreError::Conflict(why) | CoreError::AlreadyExists(why) | CoreError::Outdated(why) => {
                (StatusCode::CONFLICT, why, vec![])
            }
            CoreError::Unavailable(why) => (StatusCode::SERVICE_UNAVAILABLE, why, vec![]),
            CoreError::Internal(why) => {
                tracing::error!(error = %why, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error; the server log has the details".to_owned(),
                    vec![],
                )
            }
        };
        Self {
            status,
            detail,
            errors,
        }
    }
}

impl From<polyphemus_model::InvalidValue> for ApiError {
    fn from(error: polyphemus_model::InvalidValue) -> Self {
        CoreError::from(error).into()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let status = match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            _ => StatusCode::BAD_REQUEST,
        };
        let detail = match &rejection {
            JsonRejection::BytesRejection(_) if status == StatusCode::PAYLOAD_TOO_LARGE => {
                "request body is larger than the limit of 1 MiB".to_owned()
            }
            JsonRejection::MissingJsonContentType(_) => {
                "request body must be JSON with Content-Type: application/json".to_owned()
            }
            JsonRejection::JsonDataError(_) => without_quoted_values(&rejection.body_text()),
            other => other.body_text(),
        };
        Self::new(status, detail)
    }
}

/// serde quotes the offending value in backticks ("invalid type: integer `1234`"); that value
/// may be a secret, so it is dropped and only the field and the expected type remain.
fn without_quoted_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut quoted = false;
    for c in message.chars() {
        match c {
            '`' if !quoted => {
                quoted = true;
                out.push_str("a value");
            }
            '`' => quoted = false,
            _ if quoted => {}
            _ => out.push(c),
        }
    }
    out
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::new(StatusCode::BAD_REQUEST, rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::new(StatusCode::BAD_REQUEST, rejection.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        problem_response(self.status, self.detail, self.errors)
    }
}

/// A problem+json response.
pub fn problem_response(status: StatusCode, detail: String, errors: Vec<FieldError>) -> Response {
    let problem = Problem {
        problem_type: "about:blank".to_owned(),
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        status: status.as_u16(),
        detail,
        errors,
    };
    let mut response = (status, axum::Json(problem)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

/// The outermost rules of every answer: a request head over [`crate::MAX_HEADER_BYTES`] is a
/// 431, and an error answer without a body of its own (axum's 405, a layer's bare status) is
/// given a problem+json one, keeping its headers (`Allow` of a 405).
pub async fn problem_edge(request: Request, next: Next) -> Response {
    let head_bytes = request.uri().to_string().len()
        + request
            .headers()
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 4)
            .sum::<usize>();
    if head_bytes > crate::MAX_HEADER_BYTES {
        return ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            format!(
                "the request's target and headers are larger than the limit of {} KiB",
                crate::MAX_HEADER_BYTES / 1024
            ),
        )
        .into_response();
    }
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error())
        || response.headers().contains_key(header::CONTENT_TYPE)
    {
        return response;
    }
    let detail = match status {
        StatusCode::METHOD_NOT_ALLOWED => {
            let allowed = response
                .headers()
                .get(header::ALLOW)
                .and_then(|allow| allow.to_str().ok())
                .unwrap_or("");
            format!("{path} does not take {method}; it takes: {allowed}")
        }
        other => other.canonical_reason().unwrap_or("error").to_owned(),
    };
    let (parts, _) = response.into_parts();
    let mut problem = problem_response(status, detail, Vec::new());
    for (name, value) in &parts.headers {
        if name != header::CONTENT_LENGTH && !problem.headers().contains_key(name) {
            problem.headers_mut().insert(name.clone(), value.clone());
        }
    }
    problem
}
