//! The UI's sign-in with the provider: authorization code flow with PKCE (S256), `state` and
//! `nonce`. The code exchange is one form POST, so it uses the server's reqwest client rather
//! than an OAuth crate: the ID token it returns is verified by [`OidcVerifier`], which already
//! holds the provider's discovery document and keys.

use super::{refused, unavailable, Discovery, OidcVerifier, Person, ProviderError};
use crate::CoreError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// This server's secret at the provider (`serve --oidc-client-secret-file`); never printed.
#[derive(Clone)]
pub struct ClientSecret(String);

impl ClientSecret {
    pub fn new(secret: &str) -> Option<Self> {
        let secret = secret.trim();
        (!secret.is_empty()).then(|| Self(secret.to_owned()))
    }
}

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientSecret(***)")
    }
}

/// What one sign-in attempt must remember between the redirect and the callback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginAttempt {
    pub state: String,
    pub nonce: String,
    /// The PKCE code verifier; the provider saw only its S256 challenge.
    pub verifier: String,
}

fn random() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

impl LoginAttempt {
    pub fn new() -> Self {
        Self {
            state: random(),
            nonce: random(),
            verifier: random(),
        }
    }

    fn challenge(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.verifier.as_bytes()))
    }
}

impl Default for LoginAttempt {
    fn default() -> Self {
        Self::new()
    }
}

/// The person signed in, with the roles the mapping gives and the raw ID token (for the
/// provider's sign-out, `id_token_hint`).
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub person: Person,
    pub roles: std::collections::BTreeMap<String, polyphemus_model::Role>,
    pub id_token: String,
}

#[derive(Deserialize)]
struct TokenResponse {
    id_token: Option<String>,
}

#[derive(Deserialize)]
struct TokenError {
    error: String,
}

impl OidcVerifier {
    /// Where to send the browser to sign in.
    pub async fn authorization_url(
        &self,
        attempt: &LoginAttempt,
        redirect_uri: &str,
    ) -> Result<String, CoreError> {
        let discovery = self.discovery().await?;
        let mut url = parse_url(&discovery.authorization_endpoint)?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.settings.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", "openid email profile groups")
            .append_pair("state", &attempt.state)
            .append_pair("nonce", &attempt.nonce)
            .append_pair("code_challenge", &attempt.challenge())
            .append_pair("code_challenge_method", "S256");
        Ok(url.into())
    }

    /// Exchanges the callback's code and verifies the ID token it brings.
    pub async fn finish_sign_in(
        &self,
        code: &str,
        attempt: &LoginAttempt,
        redirect_uri: &str,
        secret: &ClientSecret,
    ) -> Result<SignedIn, CoreError> {
        let discovery = self.discovery().await?;
        let id_token = self
            .exchange(&discovery, code, attempt, redirect_uri, secret)
            .await?;
        let (person, claims) = self.verify_id_token(&id_token, &attempt.nonce).await?;
        Ok(SignedIn {
            person,
            roles: self.settings.roles.roles_for(&claims),
            id_token,
        })
    }

    async fn exchange(
        &self,
        discovery: &Discovery,
        code: &str,
        attempt: &LoginAttempt,
        redirect_uri: &str,
        secret: &ClientSecret,
    ) -> Result<String, CoreError> {
        let client_id = self.settings.client_id.as_str();
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", attempt.verifier.as_str()),
        ];
        let request = self.keys.http().post(&discovery.token_endpoint);
        // client_secret_basic is the default (RFC 8414); _post only when that is all it takes.
        let request = if discovery.prefers_secret_post() {
            form.extend([("client_id", client_id), ("client_secret", &secret.0)]);
            request
        } else {
            request.basic_auth(form_encode(client_id), Some(form_encode(&secret.0)))
        };
        let response = request.form(&form).send().await.map_err(|e| {
            unavailable(ProviderError::Unreachable {
                url: discovery.token_endpoint.clone(),
                reason: e.to_string(),
            })
        })?;
        let status = response.status();
        let body = response.bytes().await.unwrap_or_default();
        if !status.is_success() {
            // The provider's error code only (invalid_grant, …); its text may echo input.
            let code = serde_json::from_slice::<TokenError>(&body)
                .map(|e| e.error)
                .unwrap_or_else(|_| status.to_string());
            tracing::info!(%code, "the OpenID provider refused the sign-in code");
            return Err(refused(&format!(
                "the provider refused the sign-in code ({})",
                polyphemus_model::text::scrub(&code)
            )));
        }
        serde_json::from_slice::<TokenResponse>(&body)
            .ok()
            .and_then(|t| t.id_token)
            .ok_or_else(|| refused("the provider's answer holds no ID token"))
    }

    /// Where to end the provider's session, when it offers that.
    pub async fn end_session_url(
        &self,
        id_token: Option<&str>,
        post_logout_redirect_uri: &str,
    ) -> Result<Option<String>, CoreError> {
        let discovery = self.discovery().await?;
        let Some(endpoint) = discovery.end_session_endpoint.as_deref() else {
            return Ok(None);
        };
        let mut url = parse_url(endpoint)?;
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("client_id", &self.settings.client_id)
                .append_pair("post_logout_redirect_uri", post_logout_redirect_uri);
            if let Some(hint) = id_token {
                query.append_pair("id_token_hint", hint);
            }
        }
        Ok(Some(url.into()))
    }
}

/// RFC 6749 §2.3.1: the id and secret are form-encoded before Basic encoding.
fn form_encode(text: &str) -> String {
    reqwest::Url::parse_with_params("x:/", [("v", text)])
        .ok()
        .and_then(|url| url.query().map(|q| q.trim_start_matches("v=").to_owned()))
        .unwrap_or_else(|| text.to_owned())
}

fn parse_url(text: &str) -> Result<reqwest::Url, CoreError> {
    reqwest::Url::parse(text).map_err(|_| {
        CoreError::Unavailable(format!("the provider's discovery names a bad URL {text:?}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_is_the_s256_of_the_verifier() {
        // RFC 7636 appendix B.
        let attempt = LoginAttempt {
            state: String::new(),
            nonce: String::new(),
            verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into(),
        };
        assert_eq!(
            attempt.challenge(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert_ne!(LoginAttempt::new(), LoginAttempt::new());
    }

    #[test]
    fn secrets_are_form_encoded_for_basic_auth() {
        assert_eq!(form_encode("a b:c"), "a+b%3Ac");
        assert_eq!(
            format!("{:?}", ClientSecret::new("s3cret")),
            "Some(ClientSecret(***))"
        );
    }
}
