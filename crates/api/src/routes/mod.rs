//! One module per resource; each exports `router()` of its routes with their OpenAPI paths.

pub mod argo_server;
pub mod backfills;
pub mod configs;
pub mod ledgers;
pub mod lifecycle;
pub mod notifications;
pub mod ops;
pub mod project;
pub mod retention;
pub mod run_logs;
pub mod run_resume;
pub mod run_search;
pub mod runs;
pub mod runtime;
pub mod workflows;

use crate::AppState;
use utoipa_axum::router::OpenApiRouter;

/// Every `/api/v1` route.
pub fn v1() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(workflows::router())
        .merge(configs::router())
        .merge(runtime::router())
        .merge(runs::router())
        .merge(run_logs::router())
        .merge(project::router())
        .merge(notifications::router())
        .merge(retention::router())
        .merge(ledgers::router())
        .merge(backfills::router())
        .merge(lifecycle::router())
}

pub(crate) type Problem = polyphemus_model::Problem;
