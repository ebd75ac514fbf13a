//! How `serve` and `scheduler` reach Argo Server: the `--argo-*` flags and their variables.

use anyhow::bail;
use clap::Args;
use polyphemus_core::orchestrators::argo::{ArgoSettings, ArgoToken};
use std::path::PathBuf;
use std::time::Duration;

/// How to reach Argo Server (with `--orchestrator argo`).
#[derive(Args)]
pub struct ArgoArgs {
    /// Argo Server URL, e.g. https://argo-server.argo.svc:2746.
    #[arg(long, env = "POLYPHEMUS_ARGO_URL")]
    pub argo_url: Option<String>,
    /// Namespace workflows are submitted to.
    #[arg(long, env = "POLYPHEMUS_ARGO_NAMESPACE", default_value = "argo")]
    pub argo_namespace: String,
    /// File holding Argo Server's bearer token (e.g. a mounted ServiceAccount token).
    #[arg(long, env = "POLYPHEMUS_ARGO_TOKEN_FILE")]
    pub argo_token_file: Option<PathBuf>,
    /// The bearer token itself; prefer --argo-token-file (a flag shows in `ps`).
    #[arg(long, env = "POLYPHEMUS_ARGO_TOKEN", hide_env_values = true)]
    pub argo_token: Option<String>,
    /// PEM file of the CA that signed Argo Server's certificate.
    #[arg(long, env = "POLYPHEMUS_ARGO_CA_FILE")]
    pub argo_ca_file: Option<PathBuf>,
    /// Do not verify Argo Server's certificate (development clusters only).
    #[arg(long, env = "POLYPHEMUS_ARGO_INSECURE_SKIP_VERIFY")]
    pub argo_insecure_skip_verify: bool,
    /// Seconds one request to Argo Server may take.
    #[arg(long, env = "POLYPHEMUS_ARGO_TIMEOUT_S", default_value_t = 30)]
    pub argo_timeout_s: u64,
    /// Extra attempts of a read or stop after a 5xx or a connection error.
    #[arg(long, env = "POLYPHEMUS_ARGO_RETRIES", default_value_t = 3)]
    pub argo_retries: u32,
    /// ServiceAccount of the workflows' pods, when a workflow names none.
    #[arg(long, env = "POLYPHEMUS_ARGO_SERVICE_ACCOUNT")]
    pub argo_service_account: Option<String>,
    /// Image of the workflow steps (the workflow's `image` parameter), e.g. this server's.
    #[arg(long, env = "POLYPHEMUS_ARGO_STEP_IMAGE")]
    pub argo_step_image: Option<String>,
}

impl std::fmt::Debug for ArgoArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArgoArgs")
            .field("argo_url", &self.argo_url)
            .field("argo_namespace", &self.argo_namespace)
            .field("argo_token_file", &self.argo_token_file)
            .field("argo_token", &self.argo_token.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

impl ArgoArgs {
    pub fn settings(&self) -> anyhow::Result<ArgoSettings> {
        let Some(url) = &self.argo_url else {
            bail!("--orchestrator argo needs --argo-url (or POLYPHEMUS_ARGO_URL)");
        };
        let mut settings = ArgoSettings::new(url.clone(), self.argo_namespace.clone());
        settings.token = match (&self.argo_token_file, &self.argo_token) {
            (Some(_), Some(_)) => bail!(
                "give Argo's token once: --argo-token-file or POLYPHEMUS_ARGO_TOKEN, not both"
            ),
            (Some(path), None) => Some(ArgoToken::from_file(path)?),
            (None, Some(text)) => Some(ArgoToken::from_text(
                text,
                "POLYPHEMUS_ARGO_TOKEN (--argo-token)".into(),
            )?),
            (None, None) => None,
        };
        settings.ca_file = self.argo_ca_file.clone();
        settings.insecure_skip_verify = self.argo_insecure_skip_verify;
        settings.timeout = Duration::from_secs(self.argo_timeout_s.max(1));
        settings.retries = self.argo_retries;
        settings.service_account = self.argo_service_account.clone();
        settings.step_image = self.argo_step_image.clone();
        Ok(settings)
    }
}
