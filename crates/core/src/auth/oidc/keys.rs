//! The issuer's discovery document and signing keys, fetched once and kept; the key set is
//! fetched again when a token names a key not seen yet (the provider rotated its keys).

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::DecodingKey;
use serde::Deserialize;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// The least time between two key-set fetches, so tokens naming made-up keys cannot make
/// the server hammer the provider.
const REFETCH_INTERVAL: Duration = Duration::from_secs(1);

/// What the server uses from `/.well-known/openid-configuration`.
#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub jwks_uri: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Vec<String>,
}

impl Discovery {
    /// Whether the client secret goes in the form: only when the provider lists
    /// `client_secret_post` but not `client_secret_basic` (the default when it lists none).
    pub fn prefers_secret_post(&self) -> bool {
        let methods = &self.token_endpoint_auth_methods_supported;
        methods.iter().any(|m| m == "client_secret_post")
            && !methods.iter().any(|m| m == "client_secret_basic")
    }
}

#[derive(Default)]
struct Cached {
    discovery: Option<Discovery>,
    keys: HashMap<String, DecodingKey>,
    fetched_at: Option<Instant>,
}

/// Why the provider could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("the OpenID provider could not be reached at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("the OpenID provider's discovery document names issuer {found}, not {expected}")]
    WrongIssuer { expected: String, found: String },
}

pub struct KeyCache {
    issuer: String,
    http: reqwest::Client,
    cached: Mutex<Cached>,
}

impl KeyCache {
    pub fn new(issuer: String, http: reqwest::Client) -> Self {
        Self {
            issuer,
            http,
            cached: Mutex::new(Cached::default()),
        }
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub async fn discovery(&self) -> Result<Discovery, ProviderError> {
        let mut cached = self.cached.lock().await;
        if let Some(discovery) = &cached.discovery {
            return Ok(discovery.clone());
        }
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.issuer.trim_end_matches('/')
        );
        let discovery: Discovery = self.get_json(&url).await?;
        if discovery.issuer != self.issuer {
            return Err(ProviderError::WrongIssuer {
                expected: self.issuer.clone(),
                found: discovery.issuer,
            });
        }
        cached.discovery = Some(discovery.clone());
        Ok(discovery)
    }

    /// The key with this id, fetching the key set again when it is not known yet.
    pub async fn key(&self, kid: &str) -> Result<Option<DecodingKey>, ProviderError> {
        let discovery = self.discovery().await?;
        let mut cached = self.cached.lock().await;
        if let Some(key) = cached.keys.get(kid) {
            return Ok(Some(key.clone()));
        }
        if cached
            .fetched_at
            .is_some_and(|at| at.elapsed() < REFETCH_INTERVAL)
        {
            return Ok(None);
        }
        let set: JwkSet = self.get_json(&discovery.jwks_uri).await?;
        cached.fetched_at = Some(Instant::now());
        cached.keys = set
            .keys
            .iter()
            .filter_map(|jwk| {
                let kid = jwk.common.key_id.clone()?;
                DecodingKey::from_jwk(jwk).ok().map(|key| (kid, key))
            })
            .collect();
        tracing::info!(
            keys = cached.keys.len(),
            "fetched the OpenID provider's keys"
        );
        Ok(cached.keys.get(kid).cloned())
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
    ) -> Result<T, ProviderError> {
        let unreachable = |reason: String| ProviderError::Unreachable {
            url: url.to_owned(),
            reason,
        };
        self.http
            .get(url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| unreachable(e.to_string()))?
            .json()
            .await
            .map_err(|e| unreachable(e.to_string()))
    }
}
