//! Workflows that use a project's WorkflowTemplates on the local engine: submitted from one
//! (`POST /argo/api/v1/workflows/{namespace}/submit`, as `argo submit --from`), based on one
//! (`spec.workflowTemplateRef`) or calling its templates (`templateRef`), and refused when the
//! template they name is not stored.
//!
//! - a_workflow_submitted_from_a_template_takes_its_parameters_and_succeeds
//! - a_running_workflow_keeps_the_template_it_was_created_with
//! - a_template_ref_to_a_stored_template_runs_it
//! - a_reference_to_a_missing_template_is_refused_naming_it

use crate::argo_server_api::{argo, assert_conforms, until_ended};
use crate::argo_workflow_templates::{assert_refused, create_template, greeter, name_of};
use crate::both_stores;
use crate::harness::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

both_stores!(
    a_workflow_submitted_from_a_template_takes_its_parameters_and_succeeds,
    a_running_workflow_keeps_the_template_it_was_created_with,
    a_template_ref_to_a_stored_template_runs_it,
    a_reference_to_a_missing_template_is_refused_naming_it,
);

const SUBMIT: &str = "/api/v1/workflows/{namespace}/submit";

/// What the `main` node of an ended workflow printed.
fn said(workflow: &Value) -> Option<String> {
    let nodes = workflow["status"]["nodes"].as_object()?;
    nodes
        .values()
        .find_map(|node| node["outputs"]["result"].as_str().map(str::to_owned))
}

async fn a_workflow_submitted_from_a_template_takes_its_parameters_and_succeeds(app: TestApp) {
    create_template(&app, greeter("greet", "hello", 0)).await;
    let body = json!({
        "namespace": "labors",
        "resourceKind": "WorkflowTemplate",
        "resourceName": "greet",
        "submitOptions": {"parameters": ["who=polyphemus"], "labels": "suite=submit"},
    });
    let path = "/api/v1/workflows/labors/submit";
    let (status, created) = argo(
        &app,
        Method::POST,
        path,
        Some(&app.admin),
        Some(body.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_conforms(SUBMIT, "post", &created);
    assert_eq!(
        created["spec"]["workflowTemplateRef"],
        json!({"name": "greet"})
    );
    let labels = &created["metadata"]["labels"];
    assert_eq!(labels["workflows.argoproj.io/workflow-template"], "greet");
    assert_eq!(labels["suite"], "submit");
    let name = name_of(&created);
    assert!(name.starts_with("greet-"), "{name}");
    let ended = until_ended(&app, "labors", &name).await;
    assert_eq!(ended["status"]["phase"], "Succeeded", "{ended:#}");
    assert_eq!(
        said(&ended).as_deref(),
        Some("hello polyphemus"),
        "{ended:#}"
    );

    // Without the parameter the template's own value holds.
    let plain = json!({"resourceKind": "WorkflowTemplate", "resourceName": "greet"});
    let (_, created) = argo(&app, Method::POST, path, Some(&app.admin), Some(plain)).await;
    let ended = until_ended(&app, "labors", &name_of(&created)).await;
    assert_eq!(said(&ended).as_deref(), Some("hello world"), "{ended:#}");

    // A dry run only checks.
    let mut dry = body.clone();
    dry["submitOptions"]["serverDryRun"] = json!(true);
    let (status, checked) = argo(&app, Method::POST, path, Some(&app.admin), Some(dry)).await;
    assert_eq!(status, StatusCode::OK, "{checked}");
    let (_, listed) = argo(
        &app,
        Method::GET,
        "/api/v1/workflows/labors",
        Some(&app.admin),
        None,
    )
    .await;
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(2),
        "{listed}"
    );

    let mut refusals = Vec::new();
    let mut other_kind = body.clone();
    other_kind["resourceKind"] = json!("CronWorkflow");
    refusals.push((other_kind, (StatusCode::BAD_REQUEST, 3), "resourceKind"));
    let mut missing = body.clone();
    missing["resourceName"] = json!("nope");
    refusals.push((missing, (StatusCode::NOT_FOUND, 5), "nope"));
    let mut bad_parameter = body.clone();
    bad_parameter["submitOptions"]["parameters"] = json!(["who"]);
    refusals.push((
        bad_parameter,
        (StatusCode::BAD_REQUEST, 3),
        "submitOptions.parameters[0]",
    ));
    let mut bad_label = body;
    bad_label["submitOptions"]["labels"] = json!("suite");
    refusals.push((
        bad_label,
        (StatusCode::BAD_REQUEST, 3),
        "submitOptions.labels",
    ));
    for (body, expected, mentions) in refusals {
        let (status, refused) = argo(&app, Method::POST, path, Some(&app.admin), Some(body)).await;
        assert_refused(status, &refused, expected, mentions);
    }
}

async fn a_running_workflow_keeps_the_template_it_was_created_with(app: TestApp) {
    create_template(&app, greeter("greet", "before", 2)).await;
    let body = json!({"resourceKind": "WorkflowTemplate", "resourceName": "greet"});
    let (status, created) = argo(
        &app,
        Method::POST,
        "/api/v1/workflows/labors/submit",
        Some(&app.admin),
        Some(body),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let (status, updated) = argo(
        &app,
        Method::PUT,
        "/api/v1/workflow-templates/labors/greet",
        Some(&app.admin),
        Some(json!({"template": greeter("greet", "after", 0)})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    let ended = until_ended(&app, "labors", &name_of(&created)).await;
    assert_eq!(ended["status"]["phase"], "Succeeded", "{ended:#}");
    assert_eq!(said(&ended).as_deref(), Some("before world"), "{ended:#}");
}

/// A workflow whose steps call `greet`'s `main` through `templateRef`.
fn calling(template_ref: Value) -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"generateName": "caller-"},
        "spec": {
            "entrypoint": "calls",
            "arguments": {"parameters": [{"name": "who", "value": "a caller"}]},
            "templates": [{"name": "calls", "steps": [[{"name": "greet", "templateRef": template_ref}]]}],
        },
    })
}

async fn a_template_ref_to_a_stored_template_runs_it(app: TestApp) {
    create_template(&app, greeter("greet", "hi", 0)).await;
    let workflow = calling(json!({"name": "greet", "template": "main"}));
    let (status, created) = argo(
        &app,
        Method::POST,
        "/api/v1/workflows/labors",
        Some(&app.admin),
        Some(json!({"workflow": workflow})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let ended = until_ended(&app, "labors", &name_of(&created)).await;
    assert_eq!(ended["status"]["phase"], "Succeeded", "{ended:#}");
    assert_eq!(said(&ended).as_deref(), Some("hi a caller"), "{ended:#}");

    // A template may call another stored one, and a workflow may be based on it.
    let mut relay = calling(json!({"name": "greet", "template": "main"}));
    relay["kind"] = json!("WorkflowTemplate");
    relay["metadata"] = json!({"name": "relay"});
    create_template(&app, relay).await;
    let based = json!({"metadata": {"generateName": "based-"},
                       "spec": {"workflowTemplateRef": {"name": "relay"}}});
    let (status, created) = argo(
        &app,
        Method::POST,
        "/api/v1/workflows/labors",
        Some(&app.admin),
        Some(json!({"workflow": based})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let ended = until_ended(&app, "labors", &name_of(&created)).await;
    assert_eq!(said(&ended).as_deref(), Some("hi a caller"), "{ended:#}");
}

async fn a_reference_to_a_missing_template_is_refused_naming_it(app: TestApp) {
    create_template(&app, greeter("greet", "hi", 0)).await;
    let based = json!({"metadata": {"generateName": "based-"},
                       "spec": {"workflowTemplateRef": {"name": "nope"}}});
    let unknown_step = calling(json!({"name": "greet", "template": "absent"}));
    for (workflow, mentions) in [
        (based, "workflowTemplateRef/name: no WorkflowTemplate nope"),
        (calling(json!({"name": "nope", "template": "main"})), "nope"),
        (unknown_step, "greet/absent"),
    ] {
        for (path, dry) in [
            ("/api/v1/workflows/labors", false),
            ("/api/v1/workflows/labors", true),
            ("/api/v1/workflows/labors/lint", false),
        ] {
            let body = json!({"workflow": workflow.clone(), "serverDryRun": dry});
            let (status, refused) =
                argo(&app, Method::POST, path, Some(&app.admin), Some(body)).await;
            assert_refused(status, &refused, (StatusCode::BAD_REQUEST, 3), mentions);
        }
    }
    // Nor can a template refer to one that is not stored.
    let mut dangling = calling(json!({"name": "nope", "template": "main"}));
    dangling["kind"] = json!("WorkflowTemplate");
    dangling["metadata"] = json!({"name": "dangling"});
    let (status, refused) = argo(
        &app,
        Method::POST,
        "/api/v1/workflow-templates/labors",
        Some(&app.admin),
        Some(json!({"template": dangling})),
    )
    .await;
    assert_refused(status, &refused, (StatusCode::BAD_REQUEST, 3), "nope");
    let (_, listed) = argo(
        &app,
        Method::GET,
        "/api/v1/workflows/labors",
        Some(&app.admin),
        None,
    )
    .await;
    assert_eq!(listed["items"], json!([]), "nothing ran: {listed}");
}
