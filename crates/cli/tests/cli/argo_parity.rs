//! Workflows run unchanged on both orchestrators: each built-in workflow is rendered with the
//! very function the Argo orchestrator submits with, checked against Argo's Workflow JSON
//! Schema, and that same document is run on the local engine through `polyphemus submit`.

use crate::harness::Server;
use polyphemus_core::orchestrators::argo::{render_workflow, RenderOptions};
use polyphemus_core::Registry;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

fn argo_workflow_schema() -> jsonschema::Validator {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../third_party/argo-api/schema.json"
    );
    let text = std::fs::read_to_string(path).expect("third_party/argo-api/schema.json");
    let mut document: Value = serde_json::from_str(&text).expect("schema is JSON");
    // Argo leaves unknown fields open; closed objects catch a misspelt field (Argo's own
    // examples all pass this way too).
    for definition in document["definitions"]
        .as_object_mut()
        .expect("definitions")
        .values_mut()
    {
        if definition.get("properties").is_some()
            && definition.get("additionalProperties").is_none()
        {
            definition["additionalProperties"] = json!(false);
        }
    }
    let root = json!({
        "$ref": "#/definitions/io.argoproj.workflow.v1alpha1.Workflow",
        "definitions": document["definitions"],
    });
    jsonschema::options().build(&root).expect("schema compiles")
}

/// `workflows export --argo DIR` writes what deploy/ ships: the same template for every
/// built-in package, which `polyphemus` itself runs.
#[test]
fn export_writes_the_workflow_templates_deploy_ships() {
    let out = tempfile::tempdir().expect("temp dir");
    let mut export = crate::harness::command();
    export
        .args(["workflows", "export", "--argo"])
        .arg(out.path());
    let written = crate::harness::run(export, None).success();
    for manifest in Registry::builtin().all() {
        let name = manifest.name();
        assert!(
            written.stdout.contains(&format!("{name}.yaml")),
            "{written:#?}"
        );
        let read = |path: std::path::PathBuf| -> Value {
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
            serde_yaml::from_str(&text).expect("template YAML")
        };
        let exported = read(out.path().join(format!("{name}.yaml")));
        let shipped = read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join(format!("../../deploy/base/workflowtemplates/{name}.yaml")),
        );
        assert_eq!(
            exported, shipped,
            "deploy/ differs from `workflows export` for {name}"
        );
    }
}

/// `deploy/base/workflowtemplates/<name>.yaml` is the workflow file as a WorkflowTemplate.
#[test]
fn deploy_holds_every_builtin_workflow_as_an_identical_workflow_template() {
    for manifest in Registry::builtin().all() {
        let name = manifest.name();
        let path = format!(
            "{}/../../deploy/base/workflowtemplates/{name}.yaml",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let template: Value = serde_yaml::from_str(&text).expect("template YAML");
        let workflow: Value = serde_yaml::from_str(&manifest.workflow_yaml).expect("workflow YAML");
        assert_eq!(template["kind"], "WorkflowTemplate");
        assert_eq!(template["metadata"]["name"], name.as_str());
        assert_eq!(
            template["spec"], workflow["spec"],
            "{path} differs from the workflow file"
        );
        assert_eq!(
            template["metadata"]["labels"],
            workflow["metadata"]["labels"]
        );
    }
}

#[test]
fn every_builtin_workflow_rendered_for_argo_runs_unchanged_on_the_local_engine() {
    let server = Server::start();
    let schema = argo_workflow_schema();
    let broken = json!({"metadata": {}, "spec": {"templates": "not a list"}});
    assert!(!schema.is_valid(&broken), "the schema does check workflows");
    let dir = tempfile::tempdir().expect("dir");
    for manifest in Registry::builtin().all() {
        let name = manifest.name().to_owned();
        let example = serde_json::to_string(&manifest.manifest.example_config).expect("example");
        let created = server
            .cli_with_stdin(
                &[
                    "--output",
                    "json",
                    "configs",
                    "create",
                    "--workflow-type",
                    name.as_str(),
                    "--name",
                    "parity",
                    "--config",
                    "-",
                ],
                Some(&example),
            )
            .success()
            .json();
        let config_id = created["config_id"].to_string();
        let parameters = vec![
            ("config_id".to_owned(), config_id.clone()),
            ("version_number".to_owned(), "1".to_owned()),
            ("project".to_owned(), "default".to_owned()),
        ];
        let labels = BTreeMap::from([
            ("polyphemus/project".to_owned(), "default".to_owned()),
            ("polyphemus/config-id".to_owned(), config_id.clone()),
            ("polyphemus/version".to_owned(), "1".to_owned()),
        ]);
        let options = RenderOptions {
            namespace: "local".into(),
            service_account: Some("polyphemus-steps".into()),
            step_image: Some("polyphemus:test".into()),
        };
        let rendered = render_workflow(&manifest.workflow_yaml, &parameters, &labels, &options)
            .expect("renders");
        let errors: Vec<String> = schema
            .iter_errors(&rendered)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{name} is not a valid Argo Workflow: {errors:?}"
        );

        let file = dir.path().join(format!("{name}.yaml"));
        std::fs::write(&file, serde_yaml::to_string(&rendered).expect("yaml")).expect("write");
        let submitted = server
            .cli(&[
                "--output",
                "json",
                "submit",
                "-f",
                &file.display().to_string(),
                "-p",
                &format!("config_id={config_id}"),
                "-p",
                "version_number=1",
            ])
            .success()
            .json();
        let run_id = submitted["run_id"].as_str().expect("run_id").to_owned();
        let workflow_name = submitted["name"].as_str().expect("name").to_owned();
        let deadline = Instant::now() + Duration::from_secs(90);
        let metadata = loop {
            let shown = server
                .cli(&["runs", "show", &run_id, "--output", "json"])
                .json();
            let metadata = shown["metadata"].clone();
            let is_final =
                |phase: &Value| matches!(phase.as_str(), Some("Succeeded" | "Failed" | "Error"));
            // The exit hook records the run while it still runs; the server's record after the
            // workflow ends (exit handler included) is the final one.
            let exit_done = metadata["nodes"].as_object().is_some_and(|nodes| {
                nodes.values().any(|n| {
                    n["name"] == format!("{workflow_name}.onExit") && is_final(&n["phase"])
                })
            });
            if is_final(&metadata["phase"]) && exit_done {
                break metadata;
            }
            assert!(
                Instant::now() < deadline,
                "{name}: no final metadata: {shown}"
            );
            std::thread::sleep(Duration::from_millis(300));
        };
        // The exit handler reached the API with the URL and token its `valueFrom` variables
        // stand for: on the local engine, the server's URL and the run's task token.
        let exit = metadata["nodes"]
            .as_object()
            .expect("nodes")
            .values()
            .find(|n| n["name"] == format!("{workflow_name}.onExit"))
            .unwrap_or_else(|| panic!("{name}: no exit handler node: {metadata}"));
        assert_eq!(exit["phase"], "Succeeded", "{name}: {metadata}");
        let logs = server.cli(&["runs", "logs", &run_id]).success();
        // As the client prints a refusal ("401 Unauthorized: …"); a bare "401" also turns up
        // inside run ids.
        assert!(
            !logs.stdout.contains("401 Unauthorized"),
            "{name}: a step was refused: {}",
            logs.stdout
        );
    }
}
