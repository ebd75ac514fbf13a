//! `serve`'s OpenID Connect options: the organisation's provider, whose JWT access tokens the
//! API accepts with roles from the mapping file, and with whom people sign in to the UI.

use anyhow::Context;
use clap::Args;
use polyphemus_core::auth::oidc::{ClientSecret, OidcSettings, RoleMapping};
use polyphemus_core::Services;
use polyphemus_ui::{OidcSignIn, UiSettings};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct OidcArgs {
    /// The OpenID provider's issuer URL, exactly as its tokens' `iss` (e.g.
    /// https://keycloak.example.org/realms/lab); its discovery document and keys are fetched
    /// from there. Needs --oidc-client-id and --oidc-roles.
    #[arg(long, env = "POLYPHEMUS_OIDC_ISSUER", requires_all = ["oidc_client_id", "oidc_roles"])]
    pub oidc_issuer: Option<String>,
    /// This server's client id at the provider.
    #[arg(long, env = "POLYPHEMUS_OIDC_CLIENT_ID", requires = "oidc_issuer")]
    pub oidc_client_id: Option<String>,
    /// The `aud` the provider's access tokens for this API carry (default: the client id).
    #[arg(long, env = "POLYPHEMUS_OIDC_AUDIENCE", requires = "oidc_issuer")]
    pub oidc_audience: Option<String>,
    /// YAML rules from claims (groups, email, …) to project roles; see docs/deploy.md.
    #[arg(long, env = "POLYPHEMUS_OIDC_ROLES", requires = "oidc_issuer")]
    pub oidc_roles: Option<PathBuf>,
    /// A file holding this server's client secret at the provider; with it the UI offers
    /// "Sign in with …" (redirect URI to register: <UI URL>/signin/oidc/callback).
    #[arg(
        long,
        env = "POLYPHEMUS_OIDC_CLIENT_SECRET_FILE",
        requires = "oidc_issuer"
    )]
    pub oidc_client_secret_file: Option<PathBuf>,
    /// How long a UI session from the provider lasts; roles are read again at each sign-in.
    #[arg(long, env = "POLYPHEMUS_OIDC_SESSION_HOURS", default_value_t = 8,
          value_parser = clap::value_parser!(u32).range(1..=720))]
    pub oidc_session_hours: u32,
    /// What the UI's button names after "Sign in with" (default: the issuer's host).
    #[arg(long, env = "POLYPHEMUS_OIDC_PROVIDER_NAME")]
    pub oidc_provider_name: Option<String>,
    /// Whether the UI's sign-in page accepts a pasted API token.
    #[arg(long, env = "POLYPHEMUS_UI_TOKEN_SIGNIN", default_value_t = true,
          action = clap::ArgAction::Set)]
    pub ui_token_signin: bool,
}

impl OidcArgs {
    /// `services`, accepting the provider's tokens when one is configured.
    pub fn apply(&self, services: Services) -> anyhow::Result<Services> {
        let Some(settings) = self.settings()? else {
            return Ok(services);
        };
        tracing::info!(issuer = %settings.issuer, "accepting the OpenID provider's access tokens");
        Ok(services.with_oidc(settings))
    }

    /// How people sign in to the UI; reads the client secret file.
    pub fn ui_settings(&self) -> anyhow::Result<UiSettings> {
        let oidc = match &self.oidc_client_secret_file {
            None => None,
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| {
                    format!("--oidc-client-secret-file {}: reading", path.display())
                })?;
                let secret = ClientSecret::new(&text).with_context(|| {
                    format!(
                        "--oidc-client-secret-file {}: the file is empty",
                        path.display()
                    )
                })?;
                Some(OidcSignIn {
                    secret,
                    session: chrono::Duration::hours(i64::from(self.oidc_session_hours)),
                    provider_name: self.oidc_provider_name.clone(),
                })
            }
        };
        Ok(UiSettings {
            token_signin: self.ui_token_signin,
            oidc,
        })
    }

    fn settings(&self) -> anyhow::Result<Option<OidcSettings>> {
        let (Some(issuer), Some(client_id), Some(roles)) =
            (&self.oidc_issuer, &self.oidc_client_id, &self.oidc_roles)
        else {
            return Ok(None);
        };
        if !(issuer.starts_with("https://") || issuer.starts_with("http://")) {
            anyhow::bail!("--oidc-issuer {issuer:?}: must be an http(s) URL");
        }
        let text = std::fs::read_to_string(roles)
            .with_context(|| format!("--oidc-roles {}: reading", roles.display()))?;
        let roles = RoleMapping::parse(&text)
            .with_context(|| format!("--oidc-roles {}", roles.display()))?;
        Ok(Some(OidcSettings {
            issuer: issuer.clone(),
            client_id: client_id.clone(),
            audience: self
                .oidc_audience
                .clone()
                .unwrap_or_else(|| client_id.clone()),
            roles,
        }))
    }
}
