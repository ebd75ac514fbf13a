//! The documents of a workflow file as users have them: one or more YAML documents, each a
//! `Workflow`, a `CronWorkflow` (its `workflowSpec` runs, as Argo's controller creates it), a
//! `WorkflowTemplate` with an entrypoint (as `argo submit --from`), or a template another
//! document of the file references.

use serde::Deserialize;
use serde_yaml::Value;

use crate::error::EngineError;
use crate::model::Workflow;

/// What a workflow file asks to run, and the templates it brings along.
#[derive(Debug, Default)]
pub struct WorkflowFile {
    /// Workflows to run: each `Workflow` and `CronWorkflow`, else the file's only template.
    pub runnable: Vec<Workflow>,
    /// Every `WorkflowTemplate` / `ClusterWorkflowTemplate` document, for `templateRef`.
    pub templates: Vec<Workflow>,
}

/// Reads every document of `text`. A Kubernetes object of another kind is refused, naming it.
pub fn read_workflow_file(text: &str) -> Result<WorkflowFile, EngineError> {
    let mut file = WorkflowFile::default();
    for (index, document) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let value = Value::deserialize(document)
            .map_err(|e| EngineError::Yaml(format!("document {}: {e}", index + 1)))?;
        if value.is_null() {
            continue;
        }
        let kind = value
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let at = |e: EngineError| match e {
            EngineError::Yaml(why) => EngineError::Yaml(format!("document {}: {why}", index + 1)),
            other => other,
        };
        match kind.as_str() {
            "Workflow" | "" => file.runnable.push(parse(value).map_err(at)?),
            "CronWorkflow" => file.runnable.push(from_cron_workflow(value).map_err(at)?),
            "WorkflowTemplate" | "ClusterWorkflowTemplate" => {
                file.templates.push(parse(value).map_err(at)?)
            }
            other => {
                return Err(EngineError::unsupported(
                    format!("document {} kind", index + 1),
                    format!(
                        "`{other}`: only Workflow, CronWorkflow and WorkflowTemplate documents \
                         run here"
                    ),
                ))
            }
        }
    }
    // A file of templates alone runs its one template with an entrypoint.
    if file.runnable.is_empty() {
        let mut entries = file
            .templates
            .iter()
            .filter(|t| t.spec.entrypoint.is_some());
        match (entries.next(), entries.next()) {
            (Some(only), None) => file.runnable.push(only.clone()),
            (None, _) => {
                return Err(EngineError::Invalid(
                    "the file has no Workflow, CronWorkflow or WorkflowTemplate with an \
                     entrypoint to run"
                        .into(),
                ))
            }
            (Some(_), Some(_)) => {
                return Err(EngineError::Invalid(
                    "the file has several WorkflowTemplates with an entrypoint and no \
                     Workflow: say which to run with a Workflow whose workflowTemplateRef \
                     names it"
                        .into(),
                ))
            }
        }
    }
    Ok(file)
}

fn parse(value: Value) -> Result<Workflow, EngineError> {
    let workflow: Workflow =
        serde_yaml::from_value(value).map_err(|e| EngineError::Yaml(e.to_string()))?;
    crate::validate::validate_document(&workflow, true)?;
    Ok(workflow)
}

/// The Workflow a CronWorkflow's schedule would create: its `workflowSpec`, named
/// `<name>-<suffix>`, with `workflowMetadata` labels and annotations.
fn from_cron_workflow(cron: Value) -> Result<Workflow, EngineError> {
    let field = |value: &Value, path: &[&str]| -> Value {
        path.iter()
            .try_fold(value, |v, key| v.get(*key))
            .cloned()
            .unwrap_or(Value::Null)
    };
    let spec = field(&cron, &["spec", "workflowSpec"]);
    if !spec.is_mapping() {
        return Err(EngineError::Invalid(
            "a CronWorkflow needs spec.workflowSpec".into(),
        ));
    }
    let name = field(&cron, &["metadata", "name"]);
    let name = name.as_str().unwrap_or("cron-workflow");
    let mut metadata = serde_yaml::Mapping::new();
    metadata.insert("generateName".into(), format!("{name}-").into());
    for (key, path) in [
        ("namespace", ["metadata", "namespace"].as_slice()),
        ("labels", &["spec", "workflowMetadata", "labels"]),
        ("annotations", &["spec", "workflowMetadata", "annotations"]),
    ] {
        let value = field(&cron, path);
        if !value.is_null() {
            metadata.insert(key.into(), value);
        }
    }
    let mut workflow = serde_yaml::Mapping::new();
    workflow.insert("apiVersion".into(), field(&cron, &["apiVersion"]));
    workflow.insert("kind".into(), "Workflow".into());
    workflow.insert("metadata".into(), Value::Mapping(metadata));
    workflow.insert("spec".into(), spec);
    parse(Value::Mapping(workflow))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CRON: &str = "apiVersion: argoproj.io/v1alpha1
kind: CronWorkflow
metadata: {name: hello-world}
spec:
  schedule: '* * * * *'
  concurrencyPolicy: Replace
  workflowMetadata: {labels: {team: data}}
  workflowSpec:
    entrypoint: main
    templates:
      - name: main
        container: {image: busybox, command: [echo, hi]}
";

    #[test]
    fn a_cron_workflow_runs_its_workflow_spec() {
        let file = read_workflow_file(CRON).expect("read");
        let [workflow] = file.runnable.as_slice() else {
            panic!("one workflow: {:?}", file.runnable);
        };
        assert_eq!(workflow.kind, "Workflow");
        assert_eq!(
            workflow.metadata.generate_name.as_deref(),
            Some("hello-world-")
        );
        assert_eq!(workflow.metadata.labels["team"], "data");
        assert_eq!(workflow.spec.entrypoint.as_deref(), Some("main"));
    }

    #[test]
    fn a_multi_document_file_runs_its_workflows_with_its_templates() {
        let text = "apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata: {name: lib}
spec:
  templates:
    - name: say
      container: {image: busybox, command: [echo, hi]}
---
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: uses-lib-}
spec:
  entrypoint: main
  templates:
    - name: main
      steps: [[{name: s, templateRef: {name: lib, template: say}}]]
";
        let file = read_workflow_file(text).expect("read");
        assert_eq!(file.runnable.len(), 1);
        assert_eq!(file.templates.len(), 1);
        assert_eq!(file.templates[0].metadata.name.as_deref(), Some("lib"));
    }

    #[test]
    fn other_kubernetes_objects_and_bare_template_sets_are_refused_saying_why() {
        let config_map =
            "kind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n---\n".to_owned() + CRON;
        let error = read_workflow_file(&config_map).expect_err("refused");
        assert!(error.to_string().contains("document 1 kind"), "{error}");
        assert!(error.to_string().contains("ConfigMap"), "{error}");
        let library = "kind: WorkflowTemplate\nmetadata: {name: lib}\nspec: {templates: [{name: a, container: {image: x, command: [echo]}}]}\n";
        let error = read_workflow_file(library).expect_err("nothing to run");
        assert!(error.to_string().contains("entrypoint"), "{error}");
        let error = read_workflow_file("kind: Workflow\nspec: [1\n").expect_err("bad yaml");
        assert!(error.to_string().contains("document 1"), "{error}");
    }
}
