//! How people sign in to this UI (`serve --ui-token-signin`, `--oidc-client-secret-file`, …).

use polyphemus_core::auth::oidc::ClientSecret;

/// The sign-in methods the UI offers.
#[derive(Debug, Clone)]
pub struct UiSettings {
    /// Whether a person may paste an API token (`--ui-token-signin`, on by default).
    pub token_signin: bool,
    /// Sign-in with the OpenID provider the services trust, when its client secret is given.
    pub oidc: Option<OidcSignIn>,
}

impl Default for UiSettings {
    fn default() -> Self {
        Self {
            token_signin: true,
            oidc: None,
        }
    }
}

/// This server as a client of the OpenID provider.
#[derive(Debug, Clone)]
pub struct OidcSignIn {
    pub secret: ClientSecret,
    /// How long a session lasts; the person's roles are read again at the next sign-in.
    pub session: chrono::Duration,
    /// What the button says after "Sign in with" (default: the issuer's host).
    pub provider_name: Option<String>,
}
