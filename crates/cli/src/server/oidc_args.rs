//! `serve`'s OpenID Connect options: the organisation's provider, whose JWT access tokens the
//! API accepts with roles from the mapping file.

use anyhow::Context;
use clap::Args;
use polyphemus_core::auth::oidc::{OidcSettings, RoleMapping};
use polyphemus_core::Services;
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
