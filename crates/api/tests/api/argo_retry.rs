//! `PUT /argo/api/v1/workflows/{ns}/{name}/retry` (`argo retry`) on the local engine, both
//! stores:
//! - a_failed_ad_hoc_workflow_is_retried_in_place_keeping_what_succeeded
//! - what_cannot_be_retried_is_refused_as_argo_refuses_it_and_nothing_changes

use crate::argo_contract::Contract;
use crate::argo_server_api::{argo, assert_conforms, create, hello, until_ended};
use crate::both_stores;
use crate::harness::TestApp;
use polyphemus_model::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

both_stores!(
    a_failed_ad_hoc_workflow_is_retried_in_place_keeping_what_succeeded,
    what_cannot_be_retried_is_refused_as_argo_refuses_it_and_nothing_changes,
);

const RETRY: &str = "/api/v1/workflows/{namespace}/{name}/retry";

/// A token made once, then a check that fails unless `mode` is `ok` and shows its task token.
fn flaky() -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"generateName": "flaky-"},
        "spec": {
            "entrypoint": "main",
            "arguments": {"parameters": [{"name": "mode", "value": "fail"}]},
            "templates": [
                {"name": "main", "steps": [
                    [{"name": "token", "template": "token"}],
                    [{"name": "check", "template": "check"}],
                ]},
                {"name": "token", "script": {"image": "python", "command": ["sh"],
                    "source": "cat /proc/sys/kernel/random/uuid"}},
                {"name": "check", "container": {"image": "busybox", "command": ["sh", "-c",
                    "echo \"token=$POLYPHEMUS_TOKEN;\"; test '{{workflow.parameters.mode}}' = ok"]}},
            ],
        },
    })
}

fn node<'a>(workflow: &'a Value, display: &str) -> &'a Value {
    let nodes = workflow["status"]["nodes"].as_object().expect("nodes");
    nodes
        .values()
        .find(|n| n["displayName"] == display)
        .unwrap_or_else(|| panic!("no node {display}: {workflow:#}"))
}

/// The task token node `display` printed.
async fn token_shown(app: &TestApp, workflow: &Value, display: &str) -> String {
    let name = workflow["metadata"]["name"].as_str().expect("name");
    let id = node(workflow, display)["id"].as_str().expect("id");
    let orchestrator = app.services.orchestrator().expect("orchestrator").clone();
    let logs = orchestrator.logs("local", name, 4096).await.expect("logs");
    let text = &logs.get(id).expect("the step's log").text;
    let (_, rest) = text.split_once("token=").expect("a token line");
    rest.split_once(';').expect("its end").0.to_owned()
}

async fn retry(app: &TestApp, name: &str, token: &str, body: Value) -> (StatusCode, Value) {
    let path = format!("/api/v1/workflows/labors/{name}/retry");
    argo(app, Method::PUT, &path, Some(token), Some(body)).await
}

fn message(answer: &Value) -> &str {
    answer["message"].as_str().unwrap_or_default()
}

async fn a_failed_ad_hoc_workflow_is_retried_in_place_keeping_what_succeeded(app: TestApp) {
    let created = create(&app, "labors", flaky()).await;
    let name = created["metadata"]["name"]
        .as_str()
        .expect("name")
        .to_owned();
    let first = until_ended(&app, "labors", &name).await;
    assert_eq!(first["status"]["phase"], "Failed");
    let first_token = token_shown(&app, &first, "check").await;

    let body = json!({"name": name, "namespace": "labors", "parameters": ["mode=ok"]});
    let (status, retried) = retry(&app, &name, &app.admin, body).await;
    assert_eq!(status, StatusCode::OK, "{retried}");
    assert_conforms(RETRY, "put", &retried);
    assert_eq!(
        retried["metadata"]["uid"], first["metadata"]["uid"],
        "the same run"
    );
    assert_ne!(retried["status"]["phase"], "Failed", "{retried:#}");

    let second = until_ended(&app, "labors", &name).await;
    assert_eq!(second["status"]["phase"], "Succeeded", "{second:#}");
    // The token step was kept: its output and start are the first run's.
    for field in ["outputs", "startedAt"] {
        assert_eq!(
            node(&second, "token")[field],
            node(&first, "token")[field],
            "{field}"
        );
    }
    assert_eq!(node(&second, "check")["phase"], "Succeeded");
    // The retried run's steps got a token of their own, and both ended with their runs.
    let second_token = token_shown(&app, &second, "check").await;
    assert_ne!(second_token, first_token);
    let run_id = second["metadata"]["uid"].as_str().expect("uid");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (status, metadata) = app
            .get(
                &format!("/projects/labors/runs/{run_id}/metadata"),
                &app.admin,
            )
            .await;
        if status == StatusCode::OK && metadata["phase"] == "Succeeded" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{metadata}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    for token in [&first_token, &second_token] {
        let (status, _) = app
            .get(&format!("/projects/labors/runs/{run_id}"), token)
            .await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "a run's token ends with it"
        );
    }
    // Still one run, and the event says who retried it.
    let (_, runs) = app.get("/projects/labors/runs", &app.admin).await;
    let same = runs["items"].as_array().expect("items");
    assert_eq!(same.iter().filter(|r| r["run_id"] == run_id).count(), 1);
    let (_, events) = app.get("/projects/labors/events", &app.admin).await;
    let event = events["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|e| e["action"] == "run.retried")
        .cloned()
        .expect("a run.retried event");
    assert_eq!(event["actor"], "admin-*");
    assert_eq!(event["run_id"], run_id);
}

async fn what_cannot_be_retried_is_refused_as_argo_refuses_it_and_nothing_changes(app: TestApp) {
    let created = create(&app, "labors", flaky()).await;
    let name = created["metadata"]["name"]
        .as_str()
        .expect("name")
        .to_owned();
    let failed = until_ended(&app, "labors", &name).await;
    let contract = Contract::get();

    let editor = app.token("labors", Role::Editor).await;
    let (status, refused) = retry(&app, &name, &editor, json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert_eq!(refused["code"], 7);
    let (status, refused) = retry(&app, &name, &app.admin, json!({"parameters": ["mode"]})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(refused["code"], 3);
    assert!(message(&refused).contains("NAME=VALUE"), "{refused}");
    assert!(contract
        .check("grpc.gateway.runtime.Error", &refused)
        .is_empty());
    let (status, refused) = retry(&app, &name, &app.admin, json!({"parameters": 7})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    // Nothing changed: still the failed run, recorded as ended.
    let path = format!("/api/v1/workflows/labors/{name}");
    let (_, after) = argo(&app, Method::GET, &path, Some(&app.admin), None).await;
    assert_eq!(after["status"], failed["status"]);
    let run_id = failed["metadata"]["uid"].as_str().expect("uid");
    let (_, metadata) = app
        .get(
            &format!("/projects/labors/runs/{run_id}/metadata"),
            &app.admin,
        )
        .await;
    assert_eq!(metadata["phase"], "Failed", "{metadata}");

    // A succeeded workflow needs restartSuccessful and a selector; a running one is refused.
    let ok = create(&app, "labors", hello("echo fine")).await;
    let ok = ok["metadata"]["name"].as_str().expect("name").to_owned();
    until_ended(&app, "labors", &ok).await;
    let (status, refused) = retry(&app, &ok, &app.admin, json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert!(
        message(&refused).contains("restartSuccessful and nodeFieldSelector"),
        "{refused}"
    );
    let body = json!({"restartSuccessful": true, "nodeFieldSelector": "templateName=main"});
    let (status, rerun) = retry(&app, &ok, &app.admin, body).await;
    assert_eq!(status, StatusCode::OK, "{rerun}");
    until_ended(&app, "labors", &ok).await;
    let slow = create(&app, "labors", hello("sleep 30")).await;
    let slow = slow["metadata"]["name"].as_str().expect("name").to_owned();
    let (status, refused) = retry(&app, &slow, &app.admin, json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert!(message(&refused).contains("phase Running"), "{refused}");
    let terminate = format!("/api/v1/workflows/labors/{slow}/terminate");
    let (status, _) = argo(
        &app,
        Method::PUT,
        &terminate,
        Some(&app.admin),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // A run of a config version is resubmitted, not retried.
    let config_id = app.create_config("labors", json!({})).await;
    let mut workflow = flaky();
    workflow["spec"]["arguments"] = json!({"parameters": [
        {"name": "config_id", "value": config_id.to_string()},
        {"name": "version_number", "value": "1"},
        {"name": "mode", "value": "fail"},
    ]});
    let of_config = create(&app, "labors", workflow).await;
    let of_config = of_config["metadata"]["name"]
        .as_str()
        .expect("name")
        .to_owned();
    until_ended(&app, "labors", &of_config).await;
    let (status, refused) = retry(&app, &of_config, &app.admin, json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(refused["code"], 9);
    assert!(message(&refused).contains("resubmit"), "{refused}");
}
