//! Operations endpoints, outside `/api/v1` and without a token: health, readiness, metrics.

use crate::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(get_health))
        .route("/readyz", get(get_readiness))
        .route("/metrics", get(get_metrics))
}

/// The process is up.
async fn get_health() -> &'static str {
    "ok\n"
}

/// The store answers.
async fn get_readiness(State(state): State<AppState>) -> Response {
    match state.services.ready().await {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "store unreachable\n").into_response()
        }
    }
}

/// Prometheus text exposition.
async fn get_metrics(State(state): State<AppState>) -> Response {
    match state.services.runs_by_phase().await {
        Ok(counts) => state.metrics.set_runs_by_phase(&counts),
        Err(error) => tracing::warn!(%error, "counting runs by phase for /metrics"),
    }
    state
        .metrics
        .set_scheduler_lag(state.services.scheduler_lag_seconds());
    match state.metrics.encode() {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "encoding metrics");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
