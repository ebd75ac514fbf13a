//! Issued tokens: their ids are stored so a token can be revoked, and a run's task token is
//! linked to its run so it ends with it (see `put_run_metadata`).

use crate::events::now;
use crate::{on_reader, on_writer, NewToken, Store, StoreError, TokenRecord};
use sqlx::types::Json;

const TOKEN_COLUMNS: &str = "id, name, kind, scope, created_at, expires_at, revoked_at, run_id";

impl Store {
    pub async fn insert_token(&self, token: &NewToken<'_>) -> Result<(), StoreError> {
        let at = now();
        on_writer!(self, pool => sqlx::query(
            "INSERT INTO tokens (id, name, kind, scope, created_at, expires_at, run_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(token.id)
        .bind(token.name)
        .bind(token.kind)
        .bind(Json(token.scope))
        .bind(at)
        .bind(token.expires_at)
        .bind(token.run_id)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    pub async fn get_token(&self, id: &str) -> Result<TokenRecord, StoreError> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE id = $1");
        let record: TokenRecord = on_reader!(self, pool => sqlx::query_as(&sql)
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

    /// User tokens and project task tokens, newest first (for `polyphemus token list`). The
    /// tokens minted for single runs are left out: one per run, each ending with its run.
    pub async fn list_tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens WHERE run_id IS NULL ORDER BY created_at DESC"
        );
        let records: Vec<TokenRecord> =
            on_reader!(self, pool => sqlx::query_as(&sql).fetch_all(pool).await)?;
        Ok(records)
    }
}
