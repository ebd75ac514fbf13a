//! The Workflow object Polyphemus submits to Argo: the workflow file with the run's arguments,
//! labels, namespace and (optionally) service account and step image. The same function renders
//! what the local engine runs in tests, so "runs unchanged on both" is checked, not assumed.

use super::super::OrchestratorError;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// What the deployment adds to every workflow it submits.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    pub namespace: String,
    /// `spec.serviceAccountName` when the document sets none.
    pub service_account: Option<String>,
    /// Value of the workflow's `image` parameter when the document declares one.
    pub step_image: Option<String>,
}

/// Workflow YAML + `-p` arguments + labels → the Workflow JSON object Argo Server accepts.
pub fn render_workflow(
    workflow_yaml: &str,
    parameters: &[(String, String)],
    labels: &BTreeMap<String, String>,
    options: &RenderOptions,
) -> Result<Value, OrchestratorError> {
    let mut workflow: Value = serde_yaml::from_str(workflow_yaml)
        .map_err(|e| OrchestratorError::Invalid(format!("the workflow is not YAML: {e}")))?;
    let object = workflow
        .as_object_mut()
        .ok_or_else(|| OrchestratorError::Invalid("the workflow is not a mapping".into()))?;
    match object.get("kind").and_then(Value::as_str) {
        Some("Workflow") => {}
        other => {
            return Err(OrchestratorError::Invalid(format!(
                "kind must be Workflow, not {}",
                other.unwrap_or("(none)")
            )))
        }
    }
    let metadata = object_at(object, "metadata")?;
    metadata.insert("namespace".into(), json!(options.namespace));
    let label_map = object_at(metadata, "labels")?;
    for (key, value) in labels {
        label_map.insert(key.clone(), json!(value));
    }
    let spec = object_at(object, "spec")?;
    add_step_env(
        spec,
        &super::super::run_env(labels, parameters, "{{workflow.uid}}"),
    );
    if let Some(account) = &options.service_account {
        spec.entry("serviceAccountName")
            .or_insert_with(|| json!(account));
    }
    let arguments = object_at(spec, "arguments")?;
    let declared = arguments
        .entry("parameters")
        .or_insert_with(|| json!([]))
        .as_array_mut()
        .ok_or_else(|| {
            OrchestratorError::Invalid("spec.arguments.parameters is not a list".into())
        })?;
    let mut given: Vec<(String, String)> = parameters.to_vec();
    if let Some(image) = &options.step_image {
        let declares_image = declared.iter().any(|p| p["name"] == "image");
        if declares_image && !given.iter().any(|(name, _)| name == "image") {
            given.push(("image".into(), image.clone()));
        }
    }
    for (name, value) in given {
        match declared.iter_mut().find(|p| p["name"] == name.as_str()) {
            Some(parameter) => {
                if let Some(parameter) = parameter.as_object_mut() {
                    parameter.insert("value".into(), json!(value));
                }
            }
            None => declared.push(json!({"name": name, "value": value})),
        }
    }
    Ok(workflow)
}

/// Gives every `container` and `script` template the run's `POLYPHEMUS_*` variables (what the
/// SDKs read in `from_env`), unless the template sets them itself.
fn add_step_env(spec: &mut Map<String, Value>, env: &[(String, String)]) {
    let Some(templates) = spec.get_mut("templates").and_then(Value::as_array_mut) else {
        return;
    };
    for template in templates {
        for kind in ["container", "script"] {
            let Some(container) = template.get_mut(kind).and_then(Value::as_object_mut) else {
                continue;
            };
            let Some(list) = container
                .entry("env")
                .or_insert_with(|| json!([]))
                .as_array_mut()
            else {
                continue;
            };
            for (name, value) in env {
                if !list.iter().any(|e| e["name"] == name.as_str()) {
                    list.push(json!({"name": name, "value": value}));
                }
            }
        }
    }
}

/// `parent[key]` as a mapping, created when absent.
fn object_at<'a>(
    parent: &'a mut Map<String, Value>,
    key: &str,
) -> Result<&'a mut Map<String, Value>, OrchestratorError> {
    parent
        .entry(key)
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .ok_or_else(|| OrchestratorError::Invalid(format!("{key} is not a mapping")))
}

/// The name of the pod that ran `node` (Argo's `util.GeneratePodName`): `v1` names pods by
/// node id; `v2` (the default since Argo 3.4) by workflow, template and an FNV-1a hash of the
/// node name.
pub fn pod_name(workflow: &Value, node_id: &str, node: &Value) -> String {
    let workflow_name = workflow["metadata"]["name"].as_str().unwrap_or_default();
    let version = workflow["metadata"]["annotations"]["workflows.argoproj.io/pod-name-format"]
        .as_str()
        .unwrap_or("v2");
    let node_name = node["name"].as_str().unwrap_or_default();
    if version == "v1" {
        return node_id.to_owned();
    }
    if node_name == workflow_name {
        return workflow_name.to_owned();
    }
    let mut prefix = match node["templateName"].as_str().filter(|t| !t.is_empty()) {
        Some(template) => format!("{workflow_name}-{template}"),
        None => workflow_name.to_owned(),
    };
    // 253 (Kubernetes name limit) − 10 (hash) − 1.
    if prefix.len() > 242 {
        let mut cut = 242;
        while !prefix.is_char_boundary(cut) {
            cut -= 1;
        }
        prefix.truncate(cut);
    }
    format!("{prefix}-{}", fnv1a_32(node_name.as_bytes()))
}

fn fnv1a_32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(*byte)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_fill_declared_parameters_and_labels_merge() {
        let yaml = "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata:\n  generateName: x-\n  labels: {a: b}\nspec:\n  entrypoint: main\n  arguments:\n    parameters: [{name: config_id}, {name: image, value: old}]\n  templates: []\n";
        let labels = BTreeMap::from([("polyphemus/project".to_owned(), "p".to_owned())]);
        let options = RenderOptions {
            namespace: "etl".into(),
            service_account: Some("polyphemus-steps".into()),
            step_image: Some("registry/polyphemus:1".into()),
        };
        let params = vec![
            ("config_id".to_owned(), "7".to_owned()),
            ("extra".to_owned(), "x".to_owned()),
        ];
        let wf = render_workflow(yaml, &params, &labels, &options).expect("renders");
        assert_eq!(wf["metadata"]["namespace"], "etl");
        assert_eq!(wf["metadata"]["labels"]["a"], "b");
        assert_eq!(wf["metadata"]["labels"]["polyphemus/project"], "p");
        assert_eq!(wf["spec"]["serviceAccountName"], "polyphemus-steps");
        let p = &wf["spec"]["arguments"]["parameters"];
        assert_eq!(p[0], json!({"name": "config_id", "value": "7"}));
        assert_eq!(
            p[1],
            json!({"name": "image", "value": "registry/polyphemus:1"})
        );
        assert_eq!(p[2], json!({"name": "extra", "value": "x"}));
    }

    #[test]
    fn steps_are_told_their_run_unless_they_say_otherwise() {
        let yaml = "kind: Workflow\nspec:\n  templates:\n    - name: a\n      container: {image: x, env: [{name: POLYPHEMUS_PROJECT, value: mine}]}\n    - name: b\n      script: {image: python, source: 'import polyphemus'}\n    - name: c\n      steps: []\n";
        let labels = BTreeMap::from([
            ("polyphemus/project".to_owned(), "p".to_owned()),
            ("polyphemus/config-id".to_owned(), "7".to_owned()),
            ("polyphemus/version".to_owned(), "2".to_owned()),
        ]);
        let wf = render_workflow(yaml, &[], &labels, &RenderOptions::default()).expect("renders");
        let env = |i: usize, kind: &str| -> BTreeMap<String, String> {
            wf["spec"]["templates"][i][kind]["env"]
                .as_array()
                .expect("env")
                .iter()
                .map(|e| {
                    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
                    (text(&e["name"]), text(&e["value"]))
                })
                .collect()
        };
        let a = env(0, "container");
        assert_eq!(a["POLYPHEMUS_PROJECT"], "mine");
        assert_eq!(a["POLYPHEMUS_CONFIG_ID"], "7");
        let b = env(1, "script");
        assert_eq!(b["POLYPHEMUS_PROJECT"], "p");
        assert_eq!(b["POLYPHEMUS_VERSION_NUMBER"], "2");
        assert_eq!(b["POLYPHEMUS_RUN_ID"], "{{workflow.uid}}");
        assert!(wf["spec"]["templates"][2].get("container").is_none());
    }

    #[test]
    fn only_workflows_are_submitted() {
        let error = render_workflow(
            "kind: WorkflowTemplate\nspec: {}\n",
            &[],
            &BTreeMap::new(),
            &RenderOptions::default(),
        )
        .expect_err("refused");
        assert!(
            error.to_string().contains("kind must be Workflow"),
            "{error}"
        );
    }

    #[test]
    fn pod_names_follow_argo_v2_naming() {
        // fnv32a("hello") = 1335831723, as Go's hash/fnv computes it.
        assert_eq!(fnv1a_32(b"hello"), 1_335_831_723);
        let wf = json!({"metadata": {"name": "wf"}});
        let node = json!({"name": "wf[0].step", "templateName": "run-job"});
        let expected = format!("wf-run-job-{}", fnv1a_32(b"wf[0].step"));
        assert_eq!(pod_name(&wf, "wf-123", &node), expected);
        let v1 = json!({"metadata": {"name": "wf", "annotations": {"workflows.argoproj.io/pod-name-format": "v1"}}});
        assert_eq!(pod_name(&v1, "wf-123", &node), "wf-123");
    }
}
