//! How to reach Argo Server: URL, namespace, bearer token, TLS, timeouts and retries.

use super::super::OrchestratorError;
use secrecy::SecretString;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Argo Server's bearer token. A token file is read again for every request, because
/// Kubernetes rotates the ServiceAccount tokens it mounts.
#[derive(Debug, Clone)]
pub struct ArgoToken {
    value: Option<SecretString>,
    file: Option<PathBuf>,
    /// e.g. `the Argo token file /var/run/…/token` or `POLYPHEMUS_ARGO_TOKEN`, named in errors
    /// instead of the value.
    pub source: String,
}

impl ArgoToken {
    /// A token file (as Kubernetes mounts a ServiceAccount token); read now to fail early.
    pub fn from_file(path: &Path) -> Result<Self, OrchestratorError> {
        let token = Self {
            value: None,
            file: Some(path.to_owned()),
            source: format!("the Argo token file {}", path.display()),
        };
        token.current()?;
        Ok(token)
    }

    pub fn from_text(text: &str, source: String) -> Result<Self, OrchestratorError> {
        let value = Some(parse(text, &source)?);
        Ok(Self {
            value,
            file: None,
            source,
        })
    }

    /// The token to send now; a leading `Bearer ` (as in `ARGO_TOKEN`) is accepted.
    pub fn current(&self) -> Result<SecretString, OrchestratorError> {
        match (&self.value, &self.file) {
            (Some(value), _) => Ok(value.clone()),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    OrchestratorError::Unavailable(format!("cannot read {}: {e}", self.source))
                })?;
                parse(&text, &self.source)
            }
            (None, None) => Err(OrchestratorError::Unavailable(format!(
                "{} is empty",
                self.source
            ))),
        }
    }
}

fn parse(text: &str, source: &str) -> Result<SecretString, OrchestratorError> {
    let trimmed = text.trim();
    let token = trimmed.strip_prefix("Bearer ").unwrap_or(trimmed).trim();
    if token.is_empty() {
        return Err(OrchestratorError::Unavailable(format!("{source} is empty")));
    }
    Ok(SecretString::from(token.to_owned()))
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
    /// How often a running workflow is looked at: its status recorded as it changes, its end
    /// noticed.
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
