//! Argo Server's workflow, workflow-template and cron-workflow API (`/argo/api/v1/…`) over the
//! embedded orchestrator, so Hera and the official argo SDK run against Polyphemus unchanged. A
//! namespace is a project and the bearer token a Polyphemus token: every route goes through the
//! same access rules as v1.

mod cron_workflows;
mod error;
mod select;
mod stream;
mod submit;
mod workflow_templates;
mod workflows;

use crate::extract::Caller;
use crate::AppState;
use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use axum::http::Method;
use axum::routing::{get, post, put};
use axum::Router;
pub use error::{ArgoError, GrpcCode};
use polyphemus_core::Access;
use polyphemus_model::ProjectName;

/// Every route, to be nested under `/argo`.
pub fn router() -> Router<AppState> {
    let workflows = "/api/v1/workflows/{namespace}";
    Router::new()
        .route(
            workflows,
            post(workflows::create_workflow).get(workflows::list_workflows),
        )
        .route(&format!("{workflows}/lint"), post(workflows::lint_workflow))
        .route(
            &format!("{workflows}/submit"),
            post(submit::submit_workflow),
        )
        .route(
            &format!("{workflows}/{{name}}"),
            get(workflows::get_workflow).delete(workflows::delete_workflow),
        )
        .route(
            &format!("{workflows}/{{name}}/log"),
            get(stream::workflow_logs),
        )
        .route(
            &format!("{workflows}/{{name}}/{{action}}"),
            put(workflows::act_on_workflow),
        )
        .route(
            &format!("{workflows}/{{name}}/{{pod_name}}/log"),
            get(stream::pod_logs),
        )
        .route(
            "/api/v1/workflow-events/{namespace}",
            get(stream::watch_workflows),
        )
        .merge(workflow_templates_router())
        .merge(cron_workflows::routes())
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(no_route)
}

/// An unknown path (an operation Polyphemus does not implement, such as `/userinfo`,
/// `/info` or `/archived-workflows`): grpc-gateway's 404 `{"code": 5}`, not the v1 API's
/// problem document, which Argo's clients cannot read (Hera looks for `message`).
async fn no_route(OriginalUri(uri): OriginalUri) -> ArgoError {
    ArgoError::new(GrpcCode::NotFound, format!("no route {}", uri.path()))
}

/// A known path with another method: grpc-gateway's answer, 501 `{"code": 12}`.
async fn method_not_allowed(method: Method, OriginalUri(uri): OriginalUri) -> ArgoError {
    ArgoError::new(
        GrpcCode::Unimplemented,
        format!("{} does not take {method}", uri.path()),
    )
}

fn workflow_templates_router() -> Router<AppState> {
    use workflow_templates::*;
    let templates = "/api/v1/workflow-templates/{namespace}";
    Router::new()
        .route(
            templates,
            post(create_workflow_template).get(list_workflow_templates),
        )
        .route(&format!("{templates}/lint"), post(lint_workflow_template))
        .route(
            &format!("{templates}/{{name}}"),
            get(get_workflow_template)
                .put(update_workflow_template)
                .delete(delete_workflow_template),
        )
}

/// The caller of an Argo route, refused in Argo's shape (no token: 401 code 16).
pub struct ArgoCaller(pub polyphemus_core::Principal);

impl FromRequestParts<AppState> for ArgoCaller {
    type Rejection = ArgoError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ArgoError> {
        let Caller(principal) = Caller::from_request_parts(parts, state).await?;
        Ok(Self(principal))
    }
}

impl ArgoCaller {
    /// The caller's access to the project a namespace names; a namespace that cannot be a
    /// project is not found.
    pub fn namespace(&self, namespace: &str) -> Result<Access, ArgoError> {
        let project = ProjectName::parse(namespace).map_err(|_| {
            ArgoError::new(
                GrpcCode::NotFound,
                format!("namespace {namespace} not found"),
            )
        })?;
        Ok(self.0.access(&project))
    }
}
