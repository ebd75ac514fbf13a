//! Signing in with the organisation's OpenID Connect provider: its ID tokens (UI sign-in) and
//! JWT access tokens (scripts) are verified against its discovery document and keys, and the
//! person's claims become project roles through a [`RoleMapping`].

mod keys;
mod login;
mod roles;

pub use keys::{Discovery, ProviderError};
pub use login::{ClientSecret, LoginAttempt, SignedIn};
pub use roles::{RoleMapping, RoleMappingError};

use super::Principal;
use crate::CoreError;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::Value;
use std::sync::Arc;

/// Clock skew allowed between the provider and this server when checking `exp`.
const LEEWAY_SECONDS: u64 = 2;

/// The provider this server trusts and how its people map to roles.
#[derive(Debug, Clone)]
pub struct OidcSettings {
    /// Exactly as the provider writes it in `iss`.
    pub issuer: String,
    pub client_id: String,
    /// The `aud` access tokens for this API carry (the client id unless set otherwise).
    pub audience: String,
    pub roles: RoleMapping,
}

/// A person proven by the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub subject: String,
    pub email: Option<String>,
}

impl Person {
    /// How events and pages name the person: `email (subject)`.
    pub fn display(&self) -> String {
        match &self.email {
            Some(email) => format!("{email} ({})", self.subject),
            None => self.subject.clone(),
        }
    }
}

#[derive(Clone)]
pub struct OidcVerifier {
    settings: Arc<OidcSettings>,
    keys: Arc<keys::KeyCache>,
}

impl std::fmt::Debug for OidcVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OidcVerifier({})", self.settings.issuer)
    }
}

impl OidcVerifier {
    pub fn new(settings: OidcSettings, http: reqwest::Client) -> Self {
        let keys = keys::KeyCache::new(settings.issuer.clone(), http);
        Self {
            settings: Arc::new(settings),
            keys: Arc::new(keys),
        }
    }

    pub fn settings(&self) -> &OidcSettings {
        &self.settings
    }

    /// The provider's endpoints (fetched once).
    pub async fn discovery(&self) -> Result<Discovery, CoreError> {
        self.keys.discovery().await.map_err(unavailable)
    }

    /// Verifies a JWT access token meant for this API and maps its claims to roles.
    pub async fn verify_access_token(&self, token: &str) -> Result<Principal, CoreError> {
        let claims = self.verify(token, &self.settings.audience).await?;
        Ok(self.principal(&claims))
    }

    /// Verifies an ID token from the sign-in callback: for this client, with this nonce.
    pub async fn verify_id_token(
        &self,
        token: &str,
        nonce: &str,
    ) -> Result<(Person, Value), CoreError> {
        let claims = self.verify(token, &self.settings.client_id).await?;
        if claims["nonce"].as_str() != Some(nonce) {
            return Err(refused("the ID token's nonce does not match the sign-in"));
        }
        Ok((person(&claims)?, claims))
    }

    /// The principal for verified claims: the person, with the roles the mapping gives.
    pub fn principal(&self, claims: &Value) -> Principal {
        let subject = claims["sub"].as_str().unwrap_or_default().to_owned();
        let email = claims["email"].as_str().map(str::to_owned);
        Principal::User {
            token_id: format!("oidc:{subject}"),
            name: Person { subject, email }.display(),
            roles: self.settings.roles.roles_for(claims),
        }
    }

    async fn verify(&self, token: &str, audience: &str) -> Result<Value, CoreError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| refused("the token is malformed or its algorithm is not accepted"))?;
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return Err(refused(
                "the provider's tokens must be signed with RS256 or ES256",
            ));
        }
        let kid = header
            .kid
            .ok_or_else(|| refused("the token names no signing key (kid)"))?;
        let key = self
            .keys
            .key(&kid)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| {
                refused("the token is signed with a key the provider does not publish")
            })?;
        let mut validation = Validation::new(header.alg);
        validation.leeway = LEEWAY_SECONDS;
        validation.set_issuer(&[&self.settings.issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data = jsonwebtoken::decode::<Value>(token, &key, &validation).map_err(|error| {
            use jsonwebtoken::errors::ErrorKind;
            refused(match error.kind() {
                ErrorKind::ExpiredSignature => "the token has expired",
                ErrorKind::InvalidIssuer => "the token is from another issuer",
                ErrorKind::InvalidAudience => "the token is not meant for this server (aud)",
                ErrorKind::InvalidSignature => "the token's signature is not valid",
                _ => "the token is malformed",
            })
        })?;
        Ok(data.claims)
    }
}

fn person(claims: &Value) -> Result<Person, CoreError> {
    let subject = claims["sub"]
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| refused("the ID token has no subject"))?;
    Ok(Person {
        subject: subject.to_owned(),
        email: claims["email"].as_str().map(str::to_owned),
    })
}

fn refused(reason: &str) -> CoreError {
    CoreError::Unauthenticated(reason.to_owned())
}

fn unavailable(error: ProviderError) -> CoreError {
    tracing::warn!(%error, "OpenID provider");
    CoreError::Unavailable(error.to_string())
}
