//! How to reach Argo Server: URL, namespace, bearer token, TLS, timeouts and retries.

use super::super::OrchestratorError;
use secrecy::SecretString;
use std::path::PathBuf;
use std::time::Duration;

/// Where the bearer token came from, named in errors instead of its value.
#[derive(Debug, Clone)]
pub struct ArgoToken {
    pub value: SecretString,
    /// e.g. `the file /var/run/secrets/argo/token` or `POLYPHEMUS_ARGO_TOKEN`.
    pub source: String,
}

impl ArgoToken {
    /// Reads a token file (as Kubernetes mounts a ServiceAccount token); a leading `Bearer `
    /// (as in `ARGO_TOKEN`) is accepted.
    pub fn from_file(path: &std::path::Path) -> Result<Self, OrchestratorError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            OrchestratorError::Unavailable(format!(
                "cannot read the Argo token file {}: {e}",
                path.display()
            ))
        })?;
        Self::from_text(&text, format!("the Argo token file {}", path.display()))
    }

    pub fn from_text(text: &str, source: String) -> Result<Self, OrchestratorError> {
        let trimmed = text.trim();
        let token = trimmed.strip_prefix("Bearer ").unwrap_or(trimmed).trim();
        if token.is_empty() {
            return Err(OrchestratorError::Unavailable(format!("{source} is empty")));
        }
        Ok(Self {
            value: SecretString::from(token.to_owned()),
            source,
        })
    }
}

#[derive(Debug, Clone)]
pub struct ArgoSettings {
    /// Argo Server base URL, e.g. `https://argo-server.argo:2746`.
    pub url: String,
    /// Namespace workflows are submitted to.
    pub namespace: String,
    pub token: Option<ArgoToken>,
    /// PEM file of a CA to trust in addition to the system's.
    pub ca_file: Option<PathBuf>,
    /// Accept any certificate (development clusters with self-signed certs only).
    pub insecure_skip_verify: bool,
    /// Per request.
    pub timeout: Duration,
    /// Extra attempts of idempotent calls after a 5xx or a connection error.
    pub retries: u32,
    /// First backoff; doubles per attempt.
    pub backoff: Duration,
    /// How often `wait_finished` looks at a running workflow.
    pub poll_interval: Duration,
    /// `spec.serviceAccountName` for workflows that set none.
    pub service_account: Option<String>,
    /// The image steps run (the workflow's `image` parameter), e.g. this server's own image.
    pub step_image: Option<String>,
}

impl ArgoSettings {
    pub fn new(url: impl Into<String>, namespace: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            namespace: namespace.into(),
            token: None,
            ca_file: None,
            insecure_skip_verify: false,
            timeout: Duration::from_secs(30),
            retries: 3,
            backoff: Duration::from_millis(500),
            poll_interval: Duration::from_secs(5),
            service_account: None,
            step_image: None,
        }
    }
}
