//! CronWorkflowService: create (and dry run), lint, list, get, update, delete, suspend and
//! resume CronWorkflows of a namespace (a project).

use super::error::{ArgoError, GrpcCode};
use super::select::LabelSelector;
use super::ArgoCaller;
use crate::AppState;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::routing::{post, put};
use axum::{Json, Router};
use polyphemus_core::CoreError;
use serde::Deserialize;
use serde_json::{json, Value};

/// The routes, merged into the Argo router.
pub fn routes() -> Router<AppState> {
    let crons = "/api/v1/cron-workflows/{namespace}";
    Router::new()
        .route(crons, post(create_cron_workflow).get(list_cron_workflows))
        .route(&format!("{crons}/lint"), post(lint_cron_workflow))
        .route(
            &format!("{crons}/{{name}}"),
            put(update_cron_workflow)
                .get(get_cron_workflow)
                .delete(delete_cron_workflow),
        )
        .route(
            &format!("{crons}/{{name}}/{{action}}"),
            put(suspend_or_resume_cron_workflow),
        )
}

/// `CreateCronWorkflowRequest`, `LintCronWorkflowRequest` and `UpdateCronWorkflowRequest`:
/// the CronWorkflow, and for create Kubernetes' `createOptions.dryRun`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CronRequest {
    cron_workflow: Option<Value>,
    create_options: Option<CreateOptions>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateOptions {
    #[serde(default)]
    dry_run: Vec<String>,
}

impl CronRequest {
    fn parse(body: Result<Json<Self>, JsonRejection>) -> Result<(Value, bool), ArgoError> {
        let Json(request) = body.map_err(|rejection| {
            ArgoError::invalid(format!("request body: {}", rejection.body_text()))
        })?;
        let document = request
            .cron_workflow
            .ok_or_else(|| ArgoError::invalid("cronWorkflow: is required"))?;
        let dry_run = request
            .create_options
            .is_some_and(|options| !options.dry_run.is_empty());
        Ok((document, dry_run))
    }
}

/// A state conflict as `code`: a taken name (6) or a stale resourceVersion (10).
fn conflict_as(code: GrpcCode) -> impl Fn(CoreError) -> ArgoError {
    move |error| match error {
        CoreError::Conflict(why) => ArgoError::new(code, why),
        other => other.into(),
    }
}

pub async fn create_cron_workflow(
    State(state): State<AppState>,
    caller: ArgoCaller,
    Path(namespace): Path<String>,
    body: Result<Json<CronRequest>, JsonRejection>,
) -> Result<Json<Value>, ArgoError> {
    let access = caller.namespace(&namespace)?;
    let (document, dry_run) = CronRequest::parse(body)?;
    let created = state
        .services
        .create_argo_cron_workflow(&access, document, dry_run)
        .await
        .map_err(conflict_as(GrpcCode::AlreadyExists))?;
    Ok(Json(created))
}

pub async fn lint_cron_workflow(
    State(state): State<AppState>,
    caller: ArgoCaller,
    Path(namespace): Path<String>,
    body: Result<Json<CronRequest>, JsonRejection>,
) -> Result<Json<Value>, ArgoError> {
    let access = caller.namespace(&namespace)?;
    let (document, _) = CronRequest::parse(body)?;
    Ok(Json(
        state
            .services
            .lint_argo_cron_workflow(&access, document)
            .await?,
    ))
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(rename = "listOptions.labelSelector")]
    label_selector: Option<String>,
}

/// `CronWorkflowList`: the project's CronWorkflows the label selector keeps.
pub async fn list_cron_workflows(
    State(state): State<AppState>,
    caller: ArgoCaller,
    Path(namespace): Path<String>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, ArgoError> {
    let Query(query) = query.map_err(|rejection| ArgoError::invalid(rejection.body_text()))?;
    let access = caller.namespace(&namespace)?;
    let selector = LabelSelector::parse(query.label_selector.as_deref().unwrap_or(""))?;
    let items: Vec<Value> = state
        .services
        .list_argo_cron_workflows(&access)
        .await?
        .into_iter()
        .filter(|cron| selector.matches(cron))
        .collect();
    Ok(Json(json!({"metadata": {}, "items": items})))
}

pub async fn get_cron_workflow(
    State(state): State<AppState>,
    caller: ArgoCaller,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<Json<Value>, ArgoError> {
    let access = caller.namespace(&namespace)?;
    Ok(Json(
        state.services.argo_cron_workflow(&access, &name).await?,
    ))
}

pub async fn update_cron_workflow(
    State(state): State<AppState>,
    caller: ArgoCaller,
    Path((namespace, name)): Path<(String, String)>,
    body: Result<Json<CronRequest>, JsonRejection>,
) -> Result<Json<Value>, ArgoError> {
    let access = caller.namespace(&namespace)?;
    let (document, _) = CronRequest::parse(body)?;
    let updated = state
        .services
        .update_argo_cron_workflow(&access, &name, document)
        .await
        .map_err(conflict_as(GrpcCode::Aborted))?;
    Ok(Json(updated))
}

/// `CronWorkflowDeletedResponse` is an empty object.
pub async fn delete_cron_workflow(
    State(state): State<AppState>,
    caller: ArgoCaller,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<Json<Value>, ArgoError> {
    let access = caller.namespace(&namespace)?;
    state
        .services
        .delete_argo_cron_workflow(&access, &name)
        .await?;
    Ok(Json(json!({})))
}

/// `PUT …/{name}/suspend|resume`.
pub async fn suspend_or_resume_cron_workflow(
    State(state): State<AppState>,
    caller: ArgoCaller,
    Path((namespace, name, action)): Path<(String, String, String)>,
) -> Result<Json<Value>, ArgoError> {
    let access = caller.namespace(&namespace)?;
    let suspended = match action.as_str() {
        "suspend" => true,
        "resume" => false,
        other => {
            return Err(ArgoError::new(
                GrpcCode::NotFound,
                format!("no cron workflow action {other}"),
            ))
        }
    };
    let cron = state
        .services
        .suspend_argo_cron_workflow(&access, &name, suspended)
        .await?;
    Ok(Json(cron))
}
