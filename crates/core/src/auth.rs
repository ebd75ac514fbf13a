//! Tokens and who may do what: signed HS256 tokens carrying project roles (user tokens) or one
//! config version (task tokens), their revocation, and the access rules of the v1 API.

use crate::crypto::SecretKeys;
use crate::CoreError;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use polyphemus_model::{ProjectName, Role};
use polyphemus_store::Store;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// How long a token found valid is trusted without asking the store again; a revocation
/// takes effect within this time.
const REVOCATION_CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// The project a role applies to: one project, or `*` for all.
pub const ALL_PROJECTS: &str = "*";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskGrant {
    pub project: String,
    /// The config (and version) the task works on; `None` for a project task token, which
    /// the steps of every config of the project share (Argo steps read it from a Secret).
    pub config_id: Option<i64>,
    pub version_number: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
}

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

impl TaskGrant {
    /// Whether the grant reaches this config version.
    fn covers(&self, config_id: i64, version_number: i32) -> bool {
        self.config_id.is_none_or(|own| own == config_id)
            && self.version_number.is_none_or(|own| own == version_number)
    }
}

/// Who is calling, as proven by a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    User {
        token_id: String,
        name: String,
        roles: BTreeMap<String, Role>,
    },
    Task {
        token_id: String,
        name: String,
        grant: TaskGrant,
    },
}

impl Principal {
    /// The server itself, for what it does on its own (recovery after a restart).
    pub fn system() -> Self {
        Principal::User {
            token_id: String::new(),
            name: "system".into(),
            roles: BTreeMap::from([(ALL_PROJECTS.to_owned(), Role::Admin)]),
        }
    }

    /// The name recorded as actor in the event log.
    pub fn actor(&self) -> String {
        match self {
            Principal::User { name, .. } => name.clone(),
            Principal::Task { name, .. } => format!("task:{name}"),
        }
    }

    fn role_in(&self, project: &ProjectName) -> Option<Role> {
        match self {
            Principal::User { roles, .. } => {
                let own = roles.get(project.as_str()).copied();
                let all = roles.get(ALL_PROJECTS).copied();
                own.max(all)
            }
            Principal::Task { .. } => None,
        }
    }

    fn task_in(&self, project: &ProjectName) -> Option<&TaskGrant> {
        match self {
            Principal::Task { grant, .. } if grant.project == project.as_str() => Some(grant),
            _ => None,
        }
    }

    /// A task token bound to one run reaches only that run; every other token is not limited
    /// here (roles and configs are checked elsewhere).
    pub fn may_reach_run(&self, run_id: &str) -> bool {
        match self {
            Principal::Task { grant, .. } => {
                grant.run_id.as_deref().is_none_or(|own| own == run_id)
            }
            Principal::User { .. } => true,
        }
    }

    /// Whether the token reaches the project at all (any role, or a task of it).
    pub fn sees_project(&self, project: &ProjectName) -> bool {
        self.role_in(project).is_some() || self.task_in(project).is_some()
    }

    /// Requires a user role on the project. A token that cannot see the project gets 404,
    /// one that sees it with too low a role gets 403.
    pub fn require(&self, project: &ProjectName, needed: Role) -> Result<(), CoreError> {
        match self.role_in(project) {
            Some(role) if role >= needed => Ok(()),
            Some(role) => Err(CoreError::Forbidden(format!(
                "this needs the {needed} role on project {project}; the token has {role}"
            ))),
            None if self.task_in(project).is_some() => Err(CoreError::Forbidden(
                "a task token cannot do this".to_owned(),
            )),
            None => Err(CoreError::NotFound(format!("project {project}"))),
        }
    }

    /// A user role on the project, or a task token of this config (any of its versions).
    pub fn require_role_or_task(
        &self,
        project: &ProjectName,
        needed: Role,
        config_id: i64,
    ) -> Result<(), CoreError> {
        match self.task_in(project) {
            Some(grant) if grant.config_id.is_none_or(|own| own == config_id) => Ok(()),
            Some(_) => Err(CoreError::NotFound(format!("config {config_id}"))),
            None => self.require(project, needed),
        }
    }

    /// Only the task token of exactly this config version (the secrets route).
    pub fn require_task_of_version(
        &self,
        project: &ProjectName,
        config_id: i64,
        version_number: i32,
    ) -> Result<(), CoreError> {
        match self.task_in(project) {
            Some(grant) if grant.covers(config_id, version_number) => Ok(()),
            Some(_) => Err(CoreError::NotFound(format!(
                "config {config_id} version {version_number}"
            ))),
            None => {
                // Users who may see the project learn that only a task token may read secrets.
                self.require(project, Role::Viewer)?;
                Err(CoreError::Forbidden(
                    "secrets in clear are given only to the task token of this config version"
                        .to_owned(),
                ))
            }
        }
    }

    /// The config version a task token may read, or any version for users with the role.
    pub fn require_config_read(
        &self,
        project: &ProjectName,
        config_id: i64,
        version_number: Option<i32>,
    ) -> Result<(), CoreError> {
        match (self.task_in(project), version_number) {
            (Some(grant), Some(version)) if grant.covers(config_id, version) => Ok(()),
            (Some(_), _) => Err(CoreError::NotFound(format!("config {config_id}"))),
            (None, _) => self.require(project, Role::Viewer),
        }
    }
}

/// Issues and verifies tokens.
#[derive(Clone)]
pub struct TokenAuthority {
    encoding: EncodingKey,
    decoding: DecodingKey,
    store: Store,
    recently_valid: Arc<Mutex<HashMap<String, Instant>>>,
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
        }
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

    async fn issue(
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
            .insert_token(&id, name, kind, &scope, Some(expires_at))
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

    /// Verifies signature, expiry and that the token was not revoked.
    pub async fn verify(&self, token: &str) -> Result<Principal, CoreError> {
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

    fn project(name: &str) -> ProjectName {
        ProjectName::parse(name).expect("valid")
    }

    fn user(roles: &[(&str, Role)]) -> Principal {
        Principal::User {
            token_id: "t".into(),
            name: "ann".into(),
            roles: roles.iter().map(|(p, r)| (p.to_string(), *r)).collect(),
        }
    }

    #[test]
    fn roles_apply_per_project_and_star_covers_all() {
        let viewer = user(&[("labors", Role::Viewer)]);
        assert!(viewer.require(&project("labors"), Role::Viewer).is_ok());
        assert!(matches!(
            viewer.require(&project("labors"), Role::Editor),
            Err(CoreError::Forbidden(_))
        ));
        assert!(matches!(
            viewer.require(&project("other"), Role::Viewer),
            Err(CoreError::NotFound(_))
        ));
        let admin = user(&[("*", Role::Admin), ("labors", Role::Viewer)]);
        assert!(admin.require(&project("labors"), Role::Editor).is_ok());
    }

    #[test]
    fn task_tokens_reach_only_their_config() {
        let task = Principal::Task {
            token_id: "t".into(),
            name: "run".into(),
            grant: TaskGrant {
                project: "labors".into(),
                config_id: Some(3),
                version_number: Some(2),
                run_id: None,
            },
        };
        let labors = project("labors");
        assert!(task.require_role_or_task(&labors, Role::Editor, 3).is_ok());
        assert!(task.require_role_or_task(&labors, Role::Editor, 4).is_err());
        assert!(task.require_task_of_version(&labors, 3, 2).is_ok());
        assert!(task.require_task_of_version(&labors, 3, 1).is_err());
        assert!(matches!(
            task.require(&labors, Role::Viewer),
            Err(CoreError::Forbidden(_))
        ));
        assert!(task
            .require_role_or_task(&project("other"), Role::Viewer, 3)
            .is_err());
    }

    #[test]
    fn project_task_tokens_reach_every_config_of_their_project_only() {
        let task = Principal::Task {
            token_id: "t".into(),
            name: "argo-steps".into(),
            grant: TaskGrant {
                project: "labors".into(),
                config_id: None,
                version_number: None,
                run_id: None,
            },
        };
        let labors = project("labors");
        assert!(task.require_role_or_task(&labors, Role::Editor, 4).is_ok());
        assert!(task.require_task_of_version(&labors, 9, 1).is_ok());
        assert!(task.require(&labors, Role::Viewer).is_err());
        assert!(task
            .require_task_of_version(&project("other"), 9, 1)
            .is_err());
    }

    #[test]
    fn ttls_parse_with_units() {
        assert_eq!(parse_ttl("30d").ok(), Some(Duration::days(30)));
        assert_eq!(parse_ttl("12h").ok(), Some(Duration::hours(12)));
        assert!(parse_ttl("0d").is_err());
        assert!(parse_ttl("d").is_err());
        assert!(parse_ttl("5w").is_err());
    }
}
