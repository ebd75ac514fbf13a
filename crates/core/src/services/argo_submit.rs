//! `argo submit --from workflowtemplate/NAME` (the Argo Server API's SubmitWorkflow): a
//! Workflow whose `spec.workflowTemplateRef` names a stored template, with the submit options
//! applied as Argo applies them, created like any other workflow of the project.

use super::Services;
use crate::{Access, CoreError};
use polyphemus_model::{Role, WorkflowTemplateName};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The label Argo puts on a workflow submitted from a WorkflowTemplate.
const TEMPLATE_LABEL: &str = "workflows.argoproj.io/workflow-template";

/// A submission of a stored WorkflowTemplate, its `submitOptions` parsed.
#[derive(Debug, Clone)]
pub struct SubmitFromTemplate {
    pub template: WorkflowTemplateName,
    /// `-p name=value`: replace the template's argument of that name, or add one.
    pub parameters: Vec<(String, String)>,
    /// Added to the workflow's labels.
    pub labels: BTreeMap<String, String>,
    pub name: Option<String>,
    /// Instead of `<template>-`.
    pub generate_name: Option<String>,
    pub entrypoint: Option<String>,
    /// Only checked: nothing is stored or run.
    pub dry_run: bool,
}

impl Services {
    /// Creates a workflow from the project's template (admins, as creating any workflow) and
    /// returns its Workflow object.
    pub async fn submit_argo_workflow_template(
        &self,
        access: &Access,
        submit: SubmitFromTemplate,
    ) -> Result<Value, CoreError> {
        access.require(Role::Admin)?;
        if self
            .store
            .workflow_template(access.project(), &submit.template)
            .await?
            .is_none()
        {
            return Err(CoreError::not_found(format!(
                "workflow template {}",
                submit.template
            )));
        }
        let dry_run = submit.dry_run;
        self.create_argo_workflow(access, workflow_from(submit), dry_run)
            .await
    }
}

/// The Workflow document Argo makes from a template and the submit options.
fn workflow_from(submit: SubmitFromTemplate) -> Value {
    let mut labels: Map<String, Value> = submit
        .labels
        .into_iter()
        .map(|(key, value)| (key, Value::String(value)))
        .collect();
    labels.insert(TEMPLATE_LABEL.into(), json!(submit.template));
    let mut metadata = Map::new();
    metadata.insert("labels".into(), Value::Object(labels));
    match submit.name {
        Some(name) => metadata.insert("name".into(), json!(name)),
        None => metadata.insert(
            "generateName".into(),
            json!(submit
                .generate_name
                .unwrap_or_else(|| format!("{}-", submit.template))),
        ),
    };
    let mut spec = json!({"workflowTemplateRef": {"name": submit.template}});
    if !submit.parameters.is_empty() {
        let parameters: Vec<Value> = submit
            .parameters
            .into_iter()
            .map(|(name, value)| json!({"name": name, "value": value}))
            .collect();
        spec["arguments"] = json!({"parameters": parameters});
    }
    if let Some(entrypoint) = submit.entrypoint {
        spec["entrypoint"] = json!(entrypoint);
    }
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": metadata,
        "spec": spec,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn submit() -> SubmitFromTemplate {
        SubmitFromTemplate {
            template: WorkflowTemplateName::parse("greet").expect("a name"),
            parameters: vec![("who".into(), "argo".into())],
            labels: BTreeMap::from([("team".into(), "data".into())]),
            name: None,
            generate_name: None,
            entrypoint: None,
            dry_run: false,
        }
    }

    #[test]
    fn a_submission_references_the_template_with_its_arguments_and_labels() {
        let workflow = workflow_from(submit());
        assert_eq!(
            workflow["spec"],
            json!({"workflowTemplateRef": {"name": "greet"},
                   "arguments": {"parameters": [{"name": "who", "value": "argo"}]}})
        );
        assert_eq!(workflow["metadata"]["generateName"], "greet-");
        assert_eq!(workflow["metadata"]["labels"]["team"], "data");
        assert_eq!(workflow["metadata"]["labels"][TEMPLATE_LABEL], "greet");
    }

    #[test]
    fn a_given_name_or_entrypoint_overrides_the_template() {
        let workflow = workflow_from(SubmitFromTemplate {
            name: Some("once".into()),
            entrypoint: Some("other".into()),
            ..submit()
        });
        assert_eq!(workflow["metadata"]["name"], "once");
        assert!(workflow["metadata"].get("generateName").is_none());
        assert_eq!(workflow["spec"]["entrypoint"], "other");
    }
}
