//! Issued tokens: their ids are stored so a token can be revoked.

use crate::events::now;
use crate::{on_reader, on_writer, Store, StoreError, TokenRecord};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;

impl Store {
    pub async fn insert_token(
        &self,
        id: &str,
        name: &str,
        kind: &str,
        scope: &Value,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let at = now();
        on_writer!(self, pool => sqlx::query(
            "INSERT INTO tokens (id, name, kind, scope, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(name)
        .bind(kind)
        .bind(Json(scope))
        .bind(at)
        .bind(expires_at)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    pub async fn get_token(&self, id: &str) -> Result<TokenRecord, StoreError> {
        let record: TokenRecord = on_reader!(self, pool => sqlx::query_as(
            "SELECT id, name, kind, scope, created_at, expires_at, revoked_at FROM tokens WHERE id = $1",
        )
        .bind(id)
        .fetch_one(pool)
        .await)?;
        Ok(record)
    }

    /// Marks a token revoked; `NotFound` if no such token exists.
    pub async fn revoke_token(&self, id: &str) -> Result<(), StoreError> {
        let at = now();
        let result = on_writer!(self, pool => sqlx::query(
            "UPDATE tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1",
        )
        .bind(id)
        .bind(at)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        if result == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Tokens, newest first (for `polyphemus token list`).
    pub async fn list_tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let records: Vec<TokenRecord> = on_reader!(self, pool => sqlx::query_as(
            "SELECT id, name, kind, scope, created_at, expires_at, revoked_at FROM tokens \
             WHERE kind = 'user' ORDER BY created_at DESC",
        )
        .fetch_all(pool)
        .await)?;
        Ok(records)
    }
}
