//! WorkflowTemplateService: create (and dry run), lint, list, get, update and delete a
//! project's WorkflowTemplates.

use super::error::{ArgoError, GrpcCode};
use super::select::LabelSelector;
use super::ArgoCaller;
use crate::AppState;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;
use polyphemus_model::WorkflowTemplateName;
use serde::Deserialize;
use serde_json::{json, Value};

/// `WorkflowTemplateCreateRequest`, `WorkflowTemplateLintRequest` and
/// `WorkflowTemplateUpdateRequest`: the template, and create options.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateRequest {
    template: Option<Value>,
    create_options: Option<CreateOptions>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateOptions {
    #[serde(default)]
    dry_run: Vec<String>,
}

impl TemplateRequest {
    /// The template and whether only to check it (`createOptions.dryRun`).
    fn parse(body: Result<Json<Self>, JsonRejection>) -> Result<(Value, bool), ArgoError> {
        let Json(request) = body.map_err(|rejection| {
            ArgoError::invalid(format!("request body: {}", rejection.body_text()))
        })?;
        let template = request
            .template
            .ok_or_else(|| ArgoError::invalid("template: is required"))?;
        let dry_run = request
            .create_options
            .is_some_and(|options| !options.dry_run.is_empty());
        Ok((template, dry_run))
    }
}

/// A template name from the path; one that cannot be a name is not found.
fn template_name(name: &str) -> Result<WorkflowTemplateName, ArgoError> {
    WorkflowTemplateName::parse(name).map_err(|_| {
        ArgoError::new(
            GrpcCode::NotFound,
            format!("workflow template {name} not found"),
        )
    })
}

pub async fn create_workflow_template(
    State(state): State<AppState>,
    caller: ArgoCaller,
    Path(namespace): Path<String>,
    body: Result<Json<TemplateRequest>, JsonRejection>,
) -> Result<Json<Value>, ArgoError> {
    let access = caller.namespace(&namespace)?;
    let (template, dry_run) = TemplateRequest::parse(body)?;
    let created = state
        .services
        .create_workflow_template(&access, template, dry_run)
        .await?;
    Ok(Json(created))
}

pub async fn lint_workflow_template(
    State(state): State<AppState>,
    caller: ArgoCaller,
    Path(namespace): Path<String>,
    body: Result<Json<TemplateRequest>, JsonRejection>,
) -> Result<Json<Value>, ArgoError> {
    let access = caller.namespace(&namespace)?;
    let (template, _) = TemplateRequest::parse(body)?;
    let linted = state
        .services
        .lint_workflow_template(&access, template)
        .await?;
    Ok(Json(linted))
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(rename = "listOptions.labelSelector")]
    label_selector: Option<String>,
    /// Keeps the templates whose name contains it, as Argo's UI filter does.
    #[serde(rename = "namePattern")]
    name_pattern: Option<String>,
}

/// `WorkflowTemplateList`: the project's templates the label selector and name pattern keep.
pub async fn list_workflow_templates(
    State(state): State<AppState>,
    caller: ArgoCaller,
    Path(namespace): Path<String>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, ArgoError> {
    let Query(query) = query.map_err(|rejection| ArgoError::invalid(rejection.body_text()))?;
    let access = caller.namespace(&namespace)?;
    let selector = LabelSelector::parse(query.label_selector.as_deref().unwrap_or(""))?;
    let pattern = query.name_pattern.unwrap_or_default();
    let items: Vec<Value> = state
        .services
        .list_workflow_templates(&access)
        .await?
        .into_iter()
        .filter(|template| selector.matches(template))
        .filter(|template| {
            template["metadata"]["name"]
                .as_str()
                .is_some_and(|name| name.contains(&pattern))
        })
        .collect();
    Ok(Json(json!({"metadata": {}, "items": items})))
}

pub async fn get_workflow_template(
    State(state): State<AppState>,
    caller: ArgoCaller,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<Json<Value>, ArgoError> {
    let access = caller.namespace(&namespace)?;
    let name = template_name(&name)?;
    Ok(Json(
        state.services.workflow_template(&access, &name).await?,
    ))
}

pub async fn update_workflow_template(
    State(state): State<AppState>,
    caller: ArgoCaller,
    Path((namespace, name)): Path<(String, String)>,
    body: Result<Json<TemplateRequest>, JsonRejection>,
) -> Result<Json<Value>, ArgoError> {
    let access = caller.namespace(&namespace)?;
    let name = template_name(&name)?;
    let (template, _) = TemplateRequest::parse(body)?;
    let updated = state
        .services
        .update_workflow_template(&access, &name, template)
        .await?;
    Ok(Json(updated))
}

/// `WorkflowTemplateDeleteResponse`: `{}`.
pub async fn delete_workflow_template(
    State(state): State<AppState>,
    caller: ArgoCaller,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<Json<Value>, ArgoError> {
    let access = caller.namespace(&namespace)?;
    let name = template_name(&name)?;
    state
        .services
        .delete_workflow_template(&access, &name)
        .await?;
    Ok(Json(json!({})))
}
