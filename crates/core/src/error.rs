//! Domain errors: what went wrong in terms a caller can act on; the API maps each to a status.

use polyphemus_model::{FieldError, InvalidValue};
use polyphemus_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// Unknown, or not visible to this token.
    #[error("{0} not found")]
    NotFound(String),
    /// No token, or a token that is malformed, expired or revoked.
    #[error("{0}")]
    Unauthenticated(String),
    /// The token is valid but lacks the role.
    #[error("{0}")]
    Forbidden(String),
    /// Malformed input (wrong types, bad ids, unknown names).
    #[error("{detail}")]
    BadRequest {
        detail: String,
        errors: Vec<FieldError>,
    },
    /// Input that fails a manifest's JSON Schema.
    #[error("{detail}")]
    Unprocessable {
        detail: String,
        errors: Vec<FieldError>,
    },
    #[error("{0}")]
    Conflict(String),
    /// A create under a name that is already taken.
    #[error("{0}")]
    AlreadyExists(String),
    /// An update based on a version older than the one stored (optimistic locking).
    #[error("{0}")]
    Outdated(String),
    /// Needs a part that is not configured here (e.g. no orchestrator).
    #[error("{0}")]
    Unavailable(String),
    /// A failure the caller cannot fix; logged in full, answered generically.
    #[error("internal error: {0}")]
    Internal(String),
}

impl CoreError {
    pub fn bad_field(pointer: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        CoreError::BadRequest {
            detail: format!("{}: {message}", pointer.trim_start_matches('/')),
            errors: vec![FieldError {
                pointer: pointer.to_owned(),
                message,
            }],
        }
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        CoreError::NotFound(what.into())
    }

    /// The fields the error names, if any.
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            CoreError::BadRequest { errors, .. } | CoreError::Unprocessable { errors, .. } => {
                errors
            }
            _ => &[],
        }
    }
}

impl From<InvalidValue> for CoreError {
    fn from(error: InvalidValue) -> Self {
        CoreError::bad_field(&format!("/{}", error.field), error.reason)
    }
}

impl From<StoreError> for CoreError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => CoreError::NotFound("resource".to_owned()),
            StoreError::Conflict(what) => CoreError::Conflict(what),
            ended @ StoreError::RunEnded(_) => CoreError::Conflict(ended.to_string()),
            StoreError::MissingReference(what) => {
                CoreError::NotFound(format!("referenced row ({what})"))
            }
            other => CoreError::Internal(other.to_string()),
        }
    }
}

/// Turns the store's `NotFound` into a precise one naming what was looked for.
pub(crate) trait OrNotFound<T> {
    fn or_not_found(self, what: impl FnOnce() -> String) -> Result<T, CoreError>;
}

impl<T> OrNotFound<T> for Result<T, StoreError> {
    fn or_not_found(self, what: impl FnOnce() -> String) -> Result<T, CoreError> {
        self.map_err(|error| match error {
            StoreError::NotFound => CoreError::NotFound(what()),
            other => other.into(),
        })
    }
}
