//! Polyphemus's rules: manifests, config versioning, secrets, runs and their state, schedules,
//! tokens and access. Handlers call these services; the services call the store.

pub mod alerts;
pub mod auth;
pub mod crypto;
mod error;
pub mod manifests;
pub mod orchestrators;
pub mod packages;
pub mod retention;
pub mod run_dirs;
pub mod schedule;
pub mod scheduler;
pub mod services;
mod validate;

pub use auth::{Access, PersonalToken, Principal, TaskGrant, TokenAuthority, PERSONAL_MAX_DAYS};
pub use crypto::SecretKeys;
pub use error::CoreError;
pub use manifests::Registry;
pub use services::{Services, DEFAULT_MIN_INTERVAL_S};
