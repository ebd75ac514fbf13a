//! The engine's error type: everything that stops a workflow before (or instead of) running it.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum EngineError {
    #[error("invalid workflow YAML: {0}")]
    Yaml(String),
    #[error("unsupported field `{field}`: {reason}")]
    Unsupported { field: String, reason: String },
    #[error("invalid workflow: {0}")]
    Invalid(String),
    #[error("unknown template `{0}`")]
    UnknownTemplate(String),
    #[error("missing parameter `{0}`: no value, default or argument given")]
    MissingParameter(String),
    #[error("expression error: {0}")]
    Expr(String),
    #[error("I/O error on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("engine error: {0}")]
    Internal(String),
    /// `RunHandle::resume` of a run with nothing suspended (ended, or never suspended).
    #[error("the workflow is not suspended")]
    NotSuspended,
    /// `RunHandle::suspend` of a run that has ended.
    #[error("the workflow has ended")]
    Ended,
}

impl EngineError {
    pub(crate) fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        EngineError::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }

    pub(crate) fn unsupported(field: impl Into<String>, reason: impl Into<String>) -> Self {
        EngineError::Unsupported {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
