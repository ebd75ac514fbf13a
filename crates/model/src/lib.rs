//! The vocabulary (ids, names, phases) and the wire types of the v1 HTTP API: what the server
//! answers and the client sends.
//!
//! Field names follow `shared/spec/http-api.md`. Both the server (OpenAPI via `utoipa`) and the
//! typed client use these types, so the two cannot drift.

mod backfill;
mod config;
mod config_actions;
mod ids;
mod ledger;
mod names;
mod node_tree;
mod notifications;
mod numbers;
mod outcome;
mod output;
mod phase;
mod problem;
mod retention;
mod run;
mod run_search;
mod schedule;
mod status;
mod stored_text;
mod suspension;
pub mod text;
mod workflows;

pub use backfill::*;
pub use config::*;
pub use config_actions::*;
pub use ids::*;
pub use ledger::*;
pub use names::*;
pub use node_tree::*;
pub use notifications::*;
pub use numbers::*;
pub use outcome::*;
pub use output::*;
pub use phase::*;
pub use problem::*;
pub use retention::*;
pub use run::*;
pub use run_search::*;
pub use schedule::*;
pub use status::*;
pub use suspension::*;
pub use workflows::*;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One page of a listing; `next_cursor` is opaque and absent on the last page.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// The value shown in place of every secret.
pub const REDACTED: &str = "***";
