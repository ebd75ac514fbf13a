//! `POST /workflows/{namespace}/submit` (`WorkflowSubmitRequest`): a workflow from a stored
//! WorkflowTemplate, as `argo submit --from workflowtemplate/NAME`.

use super::error::ArgoError;
use super::ArgoCaller;
use crate::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::Json;
use polyphemus_core::services::SubmitFromTemplate;
use polyphemus_model::WorkflowTemplateName;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubmitRequest {
    resource_kind: Option<String>,
    resource_name: Option<String>,
    #[serde(default)]
    submit_options: SubmitOpts,
}

/// The `SubmitOpts` Polyphemus applies; the others (service account, priority, owner
/// reference) mean nothing on the local engine.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubmitOpts {
    #[serde(default)]
    parameters: Vec<String>,
    labels: Option<String>,
    name: Option<String>,
    generate_name: Option<String>,
    entry_point: Option<String>,
    #[serde(default)]
    dry_run: bool,
    #[serde(default)]
    server_dry_run: bool,
}

impl SubmitRequest {
    fn parse(body: Result<Json<Self>, JsonRejection>) -> Result<SubmitFromTemplate, ArgoError> {
        let Json(request) = body.map_err(|rejection| {
            ArgoError::invalid(format!("request body: {}", rejection.body_text()))
        })?;
        match request.resource_kind.as_deref() {
            Some("WorkflowTemplate" | "workflowtemplate") => {}
            Some(other) => {
                return Err(ArgoError::invalid(format!(
                    "resourceKind: {other} is not supported; submit from a WorkflowTemplate"
                )))
            }
            None => return Err(ArgoError::invalid("resourceKind: is required")),
        }
        let name = request.resource_name.unwrap_or_default();
        let template = WorkflowTemplateName::parse(&name)
            .map_err(|error| ArgoError::invalid(format!("resourceName: {}", error.reason)))?;
        let options = request.submit_options;
        let parameters = options
            .parameters
            .iter()
            .enumerate()
            .map(|(i, parameter)| {
                pair(parameter).ok_or_else(|| {
                    ArgoError::invalid(format!(
                        "submitOptions.parameters[{i}]: expected name=value, got {parameter:?}"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let labels = labels(options.labels.as_deref().unwrap_or(""))?;
        Ok(SubmitFromTemplate {
            template,
            parameters,
            labels,
            name: options.name.filter(|n| !n.is_empty()),
            generate_name: options.generate_name.filter(|n| !n.is_empty()),
            entrypoint: options.entry_point.filter(|e| !e.is_empty()),
            dry_run: options.dry_run || options.server_dry_run,
        })
    }
}

/// `name=value`, the name not empty.
fn pair(text: &str) -> Option<(String, String)> {
    let (name, value) = text.split_once('=')?;
    let name = name.trim();
    (!name.is_empty()).then(|| (name.to_owned(), value.to_owned()))
}

/// `submitOptions.labels`: `key=value` pairs separated by commas.
fn labels(text: &str) -> Result<BTreeMap<String, String>, ArgoError> {
    text.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            pair(part).ok_or_else(|| {
                ArgoError::invalid(format!(
                    "submitOptions.labels: expected key=value, got {part:?}"
                ))
            })
        })
        .collect()
}

pub async fn submit_workflow(
    State(state): State<AppState>,
    caller: ArgoCaller,
    Path(namespace): Path<String>,
    body: Result<Json<SubmitRequest>, JsonRejection>,
) -> Result<Json<Value>, ArgoError> {
    let access = caller.namespace(&namespace)?;
    let submit = SubmitRequest::parse(body)?;
    let created = state
        .services
        .submit_argo_workflow_template(&access, submit)
        .await?;
    Ok(Json(created))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_parameters_read_as_argo_writes_them() {
        let parsed = labels("team=data, tier=1").expect("labels");
        assert_eq!(parsed.get("team").map(String::as_str), Some("data"));
        assert_eq!(parsed.get("tier").map(String::as_str), Some("1"));
        assert!(labels("team").is_err());
        assert_eq!(pair("who=a=b"), Some(("who".into(), "a=b".into())));
        assert_eq!(pair("=x"), None);
    }
}
