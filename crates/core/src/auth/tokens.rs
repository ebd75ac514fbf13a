//! Signed HS256 tokens carrying project roles (user tokens) or one config version (task
//! tokens): issuing, verifying, and revocation.

use super::{OidcVerifier, Principal, TaskGrant, ALL_PROJECTS};
use crate::crypto::SecretKeys;
use crate::CoreError;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use polyphemus_model::{ProjectName, Role};
use polyphemus_store::{NewToken, Store};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The kind of token a UI sign-in with the OpenID provider makes.
pub(super) const SESSION_KIND: &str = "session";

/// How long a token found valid is trusted without asking the store again; a revocation
/// takes effect within this time.
const REVOCATION_CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Claims {
    jti: String,
    sub: String,
    iat: i64,
    exp: i64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    roles: BTreeMap<String, Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    task: Option<TaskGrant>,
}

/// Issues and verifies tokens.
#[derive(Clone)]
pub struct TokenAuthority {
    encoding: EncodingKey,
    decoding: DecodingKey,
    pub(super) store: Store,
    recently_valid: Arc<Mutex<HashMap<String, Instant>>>,
    /// The organisation's OpenID provider, whose JWT access tokens are accepted too.
    oidc: Option<OidcVerifier>,
}

impl std::fmt::Debug for TokenAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenAuthority(***)")
    }
}

/// A freshly issued token; `token` is shown once and never stored.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub id: String,
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

impl TokenAuthority {
    pub fn new(keys: &SecretKeys, store: Store) -> Self {
        Self {
            encoding: EncodingKey::from_secret(keys.signing_key()),
            decoding: DecodingKey::from_secret(keys.signing_key()),
            store,
            recently_valid: Arc::new(Mutex::new(HashMap::new())),
            oidc: None,
        }
    }

    /// Also accepts the access tokens of this OpenID provider.
    pub fn with_oidc(mut self, verifier: OidcVerifier) -> Self {
        self.oidc = Some(verifier);
        self
    }

    pub fn oidc(&self) -> Option<&OidcVerifier> {
        self.oidc.as_ref()
    }

    /// Issues a user token with roles per project (`*` for every project).
    pub async fn issue_user(
        &self,
        name: &str,
        roles: BTreeMap<String, Role>,
        ttl: Duration,
    ) -> Result<IssuedToken, CoreError> {
        for project in roles.keys() {
            if project != ALL_PROJECTS {
                ProjectName::parse(project.clone())?;
            }
        }
        let scope = serde_json::json!({ "roles": roles });
        self.issue(name, "user", scope, roles, None, ttl).await
    }

    /// Issues the token a UI session holds for a person the OpenID provider signed in: an
    /// ordinary user token (so every check the pasted tokens pass through applies unchanged)
    /// of kind `session`, which sign-out revokes ([`TokenAuthority::end_session`]).
    pub async fn issue_session(
        &self,
        name: &str,
        roles: BTreeMap<String, Role>,
        ttl: Duration,
    ) -> Result<IssuedToken, CoreError> {
        let scope = serde_json::json!({ "roles": roles });
        self.issue(name, SESSION_KIND, scope, roles, None, ttl)
            .await
    }

    /// Revokes a UI session's token; a pasted token is left alone (it was made by an
    /// administrator and may be in use elsewhere). Whether it was revoked.
    pub async fn end_session(&self, id: &str) -> Result<bool, CoreError> {
        match self.store.get_token(id).await {
            Ok(record) if record.kind == SESSION_KIND => self.revoke(id).await.map(|()| true),
            Ok(_) | Err(polyphemus_store::StoreError::NotFound) => Ok(false),
            Err(other) => Err(other.into()),
        }
    }

    /// Issues a task token for one config version (what a run's steps use).
    pub async fn issue_task(
        &self,
        name: &str,
        grant: TaskGrant,
        ttl: Duration,
    ) -> Result<IssuedToken, CoreError> {
        let scope = serde_json::to_value(&grant).map_err(|e| CoreError::Internal(e.to_string()))?;
        self.issue(name, "task", scope, BTreeMap::new(), Some(grant), ttl)
            .await
    }

    pub(super) async fn issue(
        &self,
        name: &str,
        kind: &str,
        scope: serde_json::Value,
        roles: BTreeMap<String, Role>,
        task: Option<TaskGrant>,
        ttl: Duration,
    ) -> Result<IssuedToken, CoreError> {
        if ttl <= Duration::zero() {
            return Err(CoreError::bad_field("/ttl", "must be positive"));
        }
        let now = Utc::now();
        let expires_at = now + ttl;
        let id = uuid::Uuid::now_v7().to_string();
        self.store
            .insert_token(&NewToken {
                id: &id,
                name,
                kind,
                scope: &scope,
                expires_at,
                run_id: task.as_ref().and_then(|grant| grant.run_id.as_ref()),
            })
            .await?;
        let claims = Claims {
            jti: id.clone(),
            sub: name.to_owned(),
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
            roles,
            task,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| CoreError::Internal(format!("signing a token: {e}")))?;
        Ok(IssuedToken {
            id,
            token,
            expires_at,
        })
    }

    /// Verifies a token: one this server signed (HS256), or else, when an OpenID provider
    /// is configured, one of its access tokens.
    pub async fn verify(&self, token: &str) -> Result<Principal, CoreError> {
        let ours = jsonwebtoken::decode_header(token).is_ok_and(|h| h.alg == Algorithm::HS256);
        match &self.oidc {
            Some(oidc) if !ours => oidc.verify_access_token(token).await,
            _ => self.verify_own(token).await,
        }
    }

    /// Verifies signature, expiry and that the token was not revoked.
    async fn verify_own(&self, token: &str) -> Result<Principal, CoreError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map_err(|error| {
                use jsonwebtoken::errors::ErrorKind;
                let reason = match error.kind() {
                    ErrorKind::ExpiredSignature => "the token has expired",
                    ErrorKind::InvalidSignature => "the token's signature is not valid here",
                    _ => "the token is malformed",
                };
                CoreError::Unauthenticated(reason.to_owned())
            })?
            .claims;
        self.check_not_revoked(&claims.jti).await?;
        Ok(match claims.task {
            Some(grant) => Principal::Task {
                token_id: claims.jti,
                name: claims.sub,
                grant,
            },
            None => Principal::User {
                token_id: claims.jti,
                name: claims.sub,
                roles: claims.roles,
            },
        })
    }

    async fn check_not_revoked(&self, id: &str) -> Result<(), CoreError> {
        let fresh = self
            .recently_valid
            .lock()
            .map(|cache| {
                cache
                    .get(id)
                    .is_some_and(|at| at.elapsed() < REVOCATION_CHECK_INTERVAL)
            })
            .unwrap_or(false);
        if fresh {
            return Ok(());
        }
        let record = match self.store.get_token(id).await {
            Ok(record) => record,
            Err(polyphemus_store::StoreError::NotFound) => {
                return Err(CoreError::Unauthenticated(
                    "the token is not known to this server".to_owned(),
                ))
            }
            Err(other) => return Err(other.into()),
        };
        if record.revoked_at.is_some() {
            return Err(CoreError::Unauthenticated(
                "the token has been revoked".to_owned(),
            ));
        }
        if let Ok(mut cache) = self.recently_valid.lock() {
            if cache.len() > 10_000 {
                cache.retain(|_, at| at.elapsed() < REVOCATION_CHECK_INTERVAL);
            }
            cache.insert(id.to_owned(), Instant::now());
        }
        Ok(())
    }

    /// Every issued token (never the signed token itself), for `polyphemus token list`.
    pub async fn list(&self) -> Result<Vec<polyphemus_store::TokenRecord>, CoreError> {
        Ok(self.store.list_tokens().await?)
    }

    /// Forgets that these tokens were found valid, so a revocation the store already recorded
    /// (a run's end revokes its task token) takes effect on this server at once.
    pub(crate) fn forget(&self, ids: &[String]) {
        if ids.is_empty() {
            return;
        }
        if let Ok(mut cache) = self.recently_valid.lock() {
            for id in ids {
                cache.remove(id);
            }
        }
    }

    /// Revokes a token by id; takes effect within a few seconds on every server.
    pub async fn revoke(&self, id: &str) -> Result<(), CoreError> {
        self.store.revoke_token(id).await.map_err(|e| match e {
            polyphemus_store::StoreError::NotFound => CoreError::NotFound(format!("token {id}")),
            other => other.into(),
        })?;
        if let Ok(mut cache) = self.recently_valid.lock() {
            cache.remove(id);
        }
        Ok(())
    }
}

/// Parses a duration like `30d`, `12h`, `15m`, `3600s` or `1y`.
pub fn parse_ttl(text: &str) -> Result<Duration, CoreError> {
    let text = text.trim();
    let invalid = || CoreError::bad_field("/ttl", "must be a number followed by s, m, h, d or y");
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(invalid)?;
    let (number, unit) = text.split_at(split);
    let number: i64 = number.parse().map_err(|_| invalid())?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "y" => 365 * 86_400,
        _ => return Err(invalid()),
    };
    number
        .checked_mul(seconds)
        .filter(|s| *s > 0 && *s <= 100 * 365 * 86_400)
        .map(Duration::seconds)
        .ok_or_else(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_parse_with_units() {
        assert_eq!(parse_ttl("30d").ok(), Some(Duration::days(30)));
        assert_eq!(parse_ttl("12h").ok(), Some(Duration::hours(12)));
        assert!(parse_ttl("0d").is_err());
        assert!(parse_ttl("d").is_err());
        assert!(parse_ttl("5w").is_err());
    }
}
