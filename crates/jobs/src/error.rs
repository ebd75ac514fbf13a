//! How a job fails, and whether trying the same step again can help. Every error is built at
//! its source as permanent or transient; `polyphemus run_job` turns the kind into its exit
//! code, which the workflow's `retryStrategy.expression` reads to retry only what may pass.

use std::fmt;

/// The exit code of `polyphemus run_job` (and of a Python job's `polyphemus.main`) when the
/// job failed permanently; the built-in workflows retry every other failure with
/// `expression: "asInt(lastRetry.exitCode) != 78"`.
///
/// 78 is `EX_CONFIG` of sysexits.h ("something was found in an unconfigured or misconfigured
/// state"), the closest conventional meaning: nothing passes until someone changes the config,
/// a secret or the remote side. It is clear of the codes a step exits with for other reasons:
/// 1 (a transient failure, and any other error of the binary), 2 (a usage error: clap and
/// argparse), 126/127 (the shell: not executable, not found) and 128+N (killed by signal N:
/// 137 for an OOM kill, 143 for SIGTERM), which all stay retryable. sdk/python/polyphemus
/// /errors.py holds the same number (a unit test compares them).
pub const PERMANENT_EXIT_CODE: u8 = 78;

/// The exit code of a transient failure: the generic one, so that an error the binary did not
/// foresee is retried too.
pub const TRANSIENT_EXIT_CODE: u8 = 1;

/// Whether another attempt of the same step can succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// No: a bad or missing config value or secret, credentials or a host key refused,
    /// permission denied, a 4xx answer other than 408/429, a file that changed since it was
    /// listed. Someone has to change something first.
    Permanent,
    /// Maybe: a timeout, a refused, reset or dropped connection, a name that did not resolve,
    /// a 5xx, 408 or 429 answer, an interrupted read or write, SIGTERM.
    Transient,
}

impl FailureKind {
    /// The exit code `run_job` ends with.
    pub fn exit_code(self) -> u8 {
        match self {
            FailureKind::Permanent => PERMANENT_EXIT_CODE,
            FailureKind::Transient => TRANSIENT_EXIT_CODE,
        }
    }

    /// Of an HTTP answer that is an error: a 4xx is the request's fault, except 408 Request
    /// Timeout and 429 Too Many Requests; 5xx and anything unexpected may pass later.
    pub fn of_http_status(status: u16) -> Self {
        match status {
            408 | 429 => FailureKind::Transient,
            400..=499 => FailureKind::Permanent,
            _ => FailureKind::Transient,
        }
    }

    /// Of an error of the Polyphemus client (after its own retries): an answer by its status,
    /// no connection or a broken exchange transient, a client set up wrong permanent.
    pub fn of_client(error: &polyphemus_client::Error) -> Self {
        use polyphemus_client::Error;
        match error {
            Error::Api { status, .. } | Error::Decode { status, .. } => {
                FailureKind::of_http_status(*status)
            }
            Error::Connect { .. } | Error::Transport { .. } => FailureKind::Transient,
            Error::InvalidUrl { .. } | Error::InvalidToken | Error::Encode(_) => {
                FailureKind::Permanent
            }
        }
    }

    /// Of a local or network I/O error: refused permissions and invalid input stay so;
    /// connections refused, reset, timed out or unresolved may pass.
    pub fn of_io(error: &std::io::Error) -> Self {
        use std::io::ErrorKind;
        match error.kind() {
            ErrorKind::PermissionDenied
            | ErrorKind::InvalidInput
            | ErrorKind::Unsupported
            | ErrorKind::ReadOnlyFilesystem => FailureKind::Permanent,
            _ => FailureKind::Transient,
        }
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The job cannot know whether its workflow retries it, or has attempts left.
        f.write_str(match self {
            FailureKind::Permanent => "permanent",
            FailureKind::Transient => "transient, may be retried",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The Polyphemus API answered with an error or could not be reached.
    #[error("{message}")]
    Api { message: String, kind: FailureKind },
    /// The config lacks something the job needs, or a value or secret is unusable.
    #[error("config: {0}")]
    Config(String),
    /// The work failed in a way another attempt cannot mend ([`FailureKind::Permanent`]).
    #[error("{0}")]
    Permanent(String),
    /// The work failed in a way another attempt may not hit ([`FailureKind::Transient`]).
    #[error("{0}")]
    Transient(String),
    #[error("cancelled (SIGTERM)")]
    Cancelled,
}

impl JobError {
    /// A failure of the work, of the given kind.
    pub fn of_kind(kind: FailureKind, message: String) -> Self {
        match kind {
            FailureKind::Permanent => JobError::Permanent(message),
            FailureKind::Transient => JobError::Transient(message),
        }
    }

    pub fn kind(&self) -> FailureKind {
        match self {
            JobError::Api { kind, .. } => *kind,
            JobError::Config(_) | JobError::Permanent(_) => FailureKind::Permanent,
            // SIGTERM also comes from a drained node or an evicted pod: worth another attempt.
            // A stopped workflow retries nothing (Argo and the local engine alike).
            JobError::Transient(_) | JobError::Cancelled => FailureKind::Transient,
        }
    }
}

impl From<polyphemus_client::Error> for JobError {
    fn from(error: polyphemus_client::Error) -> Self {
        JobError::Api {
            kind: FailureKind::of_client(&error),
            message: error.to_string(),
        }
    }
}

/// Why a job failed, and whether that was for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFailure {
    pub kind: FailureKind,
    pub message: String,
}

impl JobFailure {
    /// The failure of `error` in the job's `pre` or `post`, named in the message.
    pub fn in_phase(phase: &str, error: &JobError) -> Self {
        Self {
            kind: error.kind(),
            message: format!("{phase}: {error}"),
        }
    }
}

impl From<&JobError> for JobFailure {
    fn from(error: &JobError) -> Self {
        Self {
            kind: error.kind(),
            message: error.to_string(),
        }
    }
}

/// `permanent: …` or `transient, may be retried: …`: the line a run's output shows.
impl fmt::Display for JobFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use polyphemus_model::Problem;

    fn api_error(status: u16) -> JobError {
        JobError::from(polyphemus_client::Error::Api {
            status,
            problem: Problem {
                problem_type: "about:blank".into(),
                title: String::new(),
                status,
                detail: "nope".into(),
                errors: Vec::new(),
            },
        })
    }

    #[test]
    fn api_client_errors_are_permanent_but_timeouts_throttling_and_server_errors() {
        for status in [400, 401, 403, 404, 409, 422] {
            assert_eq!(api_error(status).kind(), FailureKind::Permanent, "{status}");
        }
        for status in [408, 429, 500, 502, 503, 504] {
            assert_eq!(api_error(status).kind(), FailureKind::Transient, "{status}");
        }
        let invalid = polyphemus_client::Error::InvalidToken;
        assert_eq!(JobError::from(invalid).kind(), FailureKind::Permanent);
    }

    #[test]
    fn config_errors_are_permanent_and_cancellation_transient() {
        assert_eq!(
            JobError::Config("host is not set".into()).kind(),
            FailureKind::Permanent
        );
        assert_eq!(JobError::Cancelled.kind(), FailureKind::Transient);
        let error = JobError::of_kind(FailureKind::Permanent, "refused".into());
        assert!(matches!(error, JobError::Permanent(_)));
    }

    #[test]
    fn io_errors_are_transient_unless_refused_for_good() {
        use std::io::{Error, ErrorKind};
        for kind in [
            ErrorKind::ConnectionRefused,
            ErrorKind::ConnectionReset,
            ErrorKind::TimedOut,
            ErrorKind::UnexpectedEof,
            ErrorKind::Other,
        ] {
            let error = Error::new(kind, "x");
            assert_eq!(FailureKind::of_io(&error), FailureKind::Transient, "{kind}");
        }
        let denied = Error::new(ErrorKind::PermissionDenied, "x");
        assert_eq!(FailureKind::of_io(&denied), FailureKind::Permanent);
    }

    #[test]
    fn the_failure_line_says_which_kind_and_the_exit_code_follows() {
        let failure = JobFailure::in_phase("pre", &JobError::Config("root is not set".into()));
        assert_eq!(
            failure.to_string(),
            "permanent: pre: config: root is not set"
        );
        assert_eq!(failure.kind.exit_code(), 78);
        let failure = JobFailure::from(&JobError::Transient("reset".into()));
        assert_eq!(failure.to_string(), "transient, may be retried: reset");
        assert_eq!(failure.kind.exit_code(), 1);
    }

    #[test]
    fn the_python_sdk_documents_the_same_permanent_exit_code() {
        let sdk = include_str!("../../../sdk/python/polyphemus/errors.py");
        let line = format!("PERMANENT_EXIT_CODE = {PERMANENT_EXIT_CODE}\n");
        assert!(
            sdk.contains(&line),
            "sdk/python/polyphemus/errors.py lacks {line:?}"
        );
    }
}
