//! Personal API tokens a signed-in person makes for their own scripts: at most the roles
//! they hold themselves, listed and revoked only by them.

use super::tokens::IssuedToken;
use super::{Principal, TokenAuthority, ALL_PROJECTS};
use crate::CoreError;
use chrono::{DateTime, Duration, Utc};
use polyphemus_model::{text, ProjectName, Role};
use polyphemus_store::{StoreError, TokenRecord};
use std::collections::BTreeMap;

/// The kind of token stored for a personal token.
const PERSONAL_KIND: &str = "personal";
/// The longest a personal token may live.
pub const PERSONAL_MAX_DAYS: i64 = 365;
const LABEL_MAX_CHARS: usize = 100;

/// One of a person's tokens as listed (never the signed token itself).
#[derive(Debug, Clone)]
pub struct PersonalToken {
    pub id: String,
    pub label: String,
    pub roles: BTreeMap<String, Role>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl TokenAuthority {
    /// Issues a personal token for `owner` (its subject is the owner's name, so events name
    /// the person). Refused, with nothing stored, when a role exceeds the owner's own.
    pub async fn issue_personal(
        &self,
        owner: &Principal,
        label: &str,
        roles: BTreeMap<String, Role>,
        days: i64,
    ) -> Result<IssuedToken, CoreError> {
        let owner_name = personal_owner(owner)?;
        let label = label.trim();
        if label.is_empty() || label.chars().count() > LABEL_MAX_CHARS || !text::is_storable(label)
        {
            return Err(CoreError::bad_field(
                "/name",
                format!("must be 1 to {LABEL_MAX_CHARS} characters"),
            ));
        }
        if !(1..=PERSONAL_MAX_DAYS).contains(&days) {
            return Err(CoreError::bad_field(
                "/days",
                format!("must be 1 to {PERSONAL_MAX_DAYS} days"),
            ));
        }
        if roles.is_empty() {
            return Err(CoreError::bad_field(
                "/roles",
                "choose a role in at least one project",
            ));
        }
        for (project, role) in &roles {
            check_ceiling(owner, project, *role)?;
        }
        let scope = serde_json::json!({ "roles": roles, "label": label, "owner": owner_name });
        self.issue(
            &owner_name,
            PERSONAL_KIND,
            scope,
            roles,
            None,
            Duration::days(days),
        )
        .await
    }

    /// The owner's personal tokens not revoked, newest first.
    pub async fn list_personal(&self, owner: &Principal) -> Result<Vec<PersonalToken>, CoreError> {
        let owner_name = personal_owner(owner)?;
        let records = self.store.list_tokens().await?;
        Ok(records
            .into_iter()
            .filter(|record| record.revoked_at.is_none() && owned_by(record, &owner_name))
            .map(personal_token)
            .collect())
    }

    /// Revokes one of the owner's personal tokens; anyone else's is not found.
    pub async fn revoke_personal(&self, owner: &Principal, id: &str) -> Result<(), CoreError> {
        let owner_name = personal_owner(owner)?;
        let not_found = || CoreError::NotFound(format!("token {id}"));
        match self.store.get_token(id).await {
            Ok(record) if owned_by(&record, &owner_name) => self.revoke(id).await,
            Ok(_) | Err(StoreError::NotFound) => Err(not_found()),
            Err(other) => Err(other.into()),
        }
    }
}

fn personal_owner(owner: &Principal) -> Result<String, CoreError> {
    match owner {
        Principal::User { name, .. } => Ok(name.clone()),
        Principal::Task { .. } => Err(CoreError::Forbidden(
            "a task token cannot make personal tokens".to_owned(),
        )),
    }
}

/// A role on `*` needs that role on `*`; a role on a project needs it there (directly or
/// through `*`).
fn check_ceiling(owner: &Principal, project: &str, role: Role) -> Result<(), CoreError> {
    let held = if project == ALL_PROJECTS {
        match owner {
            Principal::User { roles, .. } => roles.get(ALL_PROJECTS).copied(),
            Principal::Task { .. } => None,
        }
    } else {
        owner.access(&ProjectName::parse(project)?).role()
    };
    match held {
        Some(held) if held >= role => Ok(()),
        Some(held) => Err(CoreError::Forbidden(format!(
            "you hold {held} on project {project}, so a token of yours cannot have {role} there"
        ))),
        None => Err(CoreError::Forbidden(format!(
            "you hold no role on project {project}, so a token of yours cannot have one there"
        ))),
    }
}

fn owned_by(record: &TokenRecord, owner: &str) -> bool {
    record.kind == PERSONAL_KIND
        && record.scope.0.get("owner").and_then(|o| o.as_str()) == Some(owner)
}

fn personal_token(record: TokenRecord) -> PersonalToken {
    let scope = &record.scope.0;
    let label = scope
        .get("label")
        .and_then(|l| l.as_str())
        .unwrap_or_default()
        .to_owned();
    let roles = scope
        .get("roles")
        .cloned()
        .and_then(|roles| serde_json::from_value(roles).ok())
        .unwrap_or_default();
    PersonalToken {
        id: record.id,
        label,
        roles,
        created_at: record.created_at,
        expires_at: record.expires_at,
    }
}
