//! Store errors, with the database's constraint violations told apart from failures.

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness or state conflict, named by the constraint or rule that caught it.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The run has reached a final phase: its state and output no longer change, and its
    /// metadata may only be replaced by another final report.
    #[error("the run has already ended ({0})")]
    RunEnded(polyphemus_model::RunPhase),
    /// A referenced row does not exist (foreign key).
    #[error("referenced row does not exist: {0}")]
    MissingReference(String),
    #[error("database URL must start with postgres:// or sqlite:")]
    InvalidUrl,
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(db.constraint().unwrap_or("unique").to_owned())
            }
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                StoreError::MissingReference(db.constraint().unwrap_or("foreign key").to_owned())
            }
            _ => StoreError::Database(error),
        }
    }
}
