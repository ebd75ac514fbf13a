//! What can go wrong talking to the server, each variant readable as one line.

use polyphemus_model::{FieldError, Problem};
use std::fmt;

/// An error of the client. Its `Display` is one readable line and never holds the token.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server answered with a 4xx/5xx problem.
    #[error("{}", ProblemLine { status: *status, problem })]
    Api { status: u16, problem: Problem },
    /// No connection could be made (nothing listening, DNS, TLS handshake).
    #[error("cannot reach the Polyphemus server at {url} — is `polyphemus serve` running?")]
    Connect {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// The connection was made but the exchange failed (timeout, reset, protocol error).
    #[error("request to {url} failed")]
    Transport {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with a body that is not what the API promises.
    #[error("unexpected answer from {url} (HTTP {status})")]
    Decode {
        url: String,
        status: u16,
        #[source]
        source: serde_json::Error,
    },
    /// The server URL given to the client is not usable.
    #[error("invalid server URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// The token cannot be sent in an HTTP header (its value is never shown).
    #[error("the API token contains characters not allowed in an HTTP header")]
    InvalidToken,
    /// A request body could not be serialised.
    #[error("cannot encode the request body")]
    Encode(#[source] serde_json::Error),
}

impl Error {
    /// The HTTP status of an API error.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => Some(*status),
            Error::Decode { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The problem details of an API error.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Error::Api { problem, .. } => Some(problem),
            _ => None,
        }
    }

    /// True for a 404 answer.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }
}

/// `404 Not Found: config 7 not found (/config/host: "host" is a required property)`.
struct ProblemLine<'a> {
    status: u16,
    problem: &'a Problem,
}

impl fmt::Display for ProblemLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let title = if self.problem.title.trim().is_empty() {
            reqwest::StatusCode::from_u16(self.status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("Error")
        } else {
            self.problem.title.trim()
        };
        write!(f, "{} {}", self.status, join_lines(title))?;
        let detail = self.problem.detail.trim();
        if !detail.is_empty() {
            write!(f, ": {}", join_lines(detail))?;
        }
        if !self.problem.errors.is_empty() {
            let fields: Vec<String> = self.problem.errors.iter().map(format_field_error).collect();
            write!(f, " ({})", fields.join("; "))?;
        }
        Ok(())
    }
}

fn format_field_error(error: &FieldError) -> String {
    let pointer = if error.pointer.is_empty() {
        "/"
    } else {
        error.pointer.as_str()
    };
    format!("{pointer}: {}", join_lines(&error.message))
}

fn join_lines(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A problem for an error answer whose body is not problem+json (e.g. from a proxy).
pub(crate) fn parse_problem(status: u16, body: &[u8]) -> Problem {
    if let Ok(problem) = serde_json::from_slice::<Problem>(body) {
        return problem;
    }
    let text = String::from_utf8_lossy(body);
    let mut detail = join_lines(&text);
    if detail.chars().count() > 200 {
        detail = detail.chars().take(200).collect::<String>() + "…";
    }
    let title = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error")
        .to_owned();
    Problem {
        problem_type: "about:blank".to_owned(),
        title,
        status,
        detail,
        errors: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(status: u16, title: &str, detail: &str, errors: Vec<FieldError>) -> Problem {
        Problem {
            problem_type: "about:blank".to_owned(),
            title: title.to_owned(),
            status,
            detail: detail.to_owned(),
            errors,
        }
    }

    #[test]
    fn api_errors_read_as_one_line() {
        let error = Error::Api {
            status: 404,
            problem: problem(404, "Not Found", "config 7 not found", vec![]),
        };
        assert_eq!(error.to_string(), "404 Not Found: config 7 not found");
        assert!(error.is_not_found());
    }

    #[test]
    fn field_errors_follow_the_detail() {
        let error = Error::Api {
            status: 422,
            problem: problem(
                422,
                "Unprocessable Entity",
                "config does not match the schema\nof workflow sftp-to-storage",
                vec![
                    FieldError {
                        pointer: "/config/host".to_owned(),
                        message: "\"host\" is a required property".to_owned(),
                    },
                    FieldError {
                        pointer: "/config/port".to_owned(),
                        message: "70000 is greater than the maximum of 65535".to_owned(),
                    },
                ],
            ),
        };
        assert_eq!(
            error.to_string(),
            "422 Unprocessable Entity: config does not match the schema of workflow \
             sftp-to-storage (/config/host: \"host\" is a required property; \
             /config/port: 70000 is greater than the maximum of 65535)"
        );
    }

    #[test]
    fn a_missing_title_uses_the_status_reason() {
        let error = Error::Api {
            status: 401,
            problem: problem(401, "", "", vec![]),
        };
        assert_eq!(error.to_string(), "401 Unauthorized");
    }

    #[test]
    fn non_json_error_bodies_become_problems() {
        let problem = parse_problem(502, b"<html>\n  Bad   gateway\n</html>");
        assert_eq!(problem.title, "Bad Gateway");
        assert_eq!(problem.detail, "<html> Bad gateway </html>");
        let json = br#"{"type":"about:blank","title":"Conflict","status":409,"detail":"stale"}"#;
        assert_eq!(parse_problem(409, json).detail, "stale");
        let long = "x".repeat(500);
        assert_eq!(
            parse_problem(500, long.as_bytes()).detail.chars().count(),
            201
        );
    }
}
