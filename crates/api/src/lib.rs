//! The Polyphemus HTTP API: `/api/v1` routes, auth, problem+json errors, OpenAPI, metrics.

mod error;
mod extract;
pub mod metrics;
mod openapi;
mod routes;
mod serve;

pub use error::ApiError;
pub use serve::{serve, ServeOptions};

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use polyphemus_core::Services;
use std::sync::Arc;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

/// Request bodies above this size get 413.
pub const BODY_LIMIT_BYTES: usize = 1024 * 1024;

/// Request heads (target and header fields) above this size get 431.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// What every handler can reach.
#[derive(Clone, Debug)]
pub struct AppState {
    pub services: Services,
    pub metrics: metrics::Metrics,
    /// The OpenAPI document, serialised once at start.
    openapi_json: Arc<String>,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Polyphemus", description = "Control plane for research ETL pipelines: \
        versioned configs, secrets, schedules, runs, state and orchestrator metadata."),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "workflows", description = "Workflow manifests"),
        (name = "configs", description = "Versioned configs and secrets"),
        (name = "runtime", description = "Schedules, runtime params and launching"),
        (name = "backfills", description = "One run per time window, one after another"),
        (name = "notifications", description = "Where a project's alerts go"),
        (name = "runs", description = "Runs, state, output and run metadata"),
        (name = "projects", description = "Status page, event log and retention policy"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The v1 routes and the OpenAPI document generated from them.
fn v1_with_openapi() -> (Router<AppState>, OpenApiDoc) {
    let (router, mut document) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest("/api/v1", routes::v1())
        .split_for_parts();
    // After the routes are in: it documents what every operation shares.
    openapi::ProblemResponses.modify(&mut document);
    (router, document)
}

/// The OpenAPI 3.1 document of the v1 API (also served at `/api/v1/openapi.json`).
pub fn openapi() -> OpenApiDoc {
    v1_with_openapi().1
}

/// The HTTP API over the given services: `/api/v1`, the OpenAPI document and the ops routes.
pub fn app(services: Services) -> Router {
    app_with(services, Router::new())
}

/// The HTTP API with `extra` routes merged in (the server mounts the web UI at `/` this way),
/// under the same fallback and layers: metrics, body limit, tracing.
pub fn app_with(services: Services, extra: Router<AppState>) -> Router {
    let (v1, openapi) = v1_with_openapi();
    let metrics = metrics::Metrics::default();
    let state = AppState {
        services,
        metrics: metrics.clone(),
        openapi_json: Arc::new(openapi.to_json().unwrap_or_else(|error| {
            tracing::error!(%error, "serialising the OpenAPI document");
            "{}".to_owned()
        })),
    };
    Router::new()
        .merge(v1)
        .route("/api/v1/openapi.json", get(get_openapi))
        .merge(routes::ops::router())
        .nest("/argo", routes::argo_server::router())
        .merge(extra)
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            metrics::track,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(axum::middleware::from_fn(error::problem_edge))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn get_openapi(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        state.openapi_json.as_str().to_owned(),
    )
}

async fn not_found(uri: axum::http::Uri) -> impl IntoResponse {
    ApiError::new(StatusCode::NOT_FOUND, format!("no route {}", uri.path()))
}
