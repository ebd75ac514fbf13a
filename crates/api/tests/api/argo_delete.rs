//! `DELETE /argo/api/v1/workflows/{ns}/{name}` (`argo delete`) on the local engine, both stores:
//! - an_ended_ad_hoc_workflow_is_deleted_with_its_run_dir_and_the_rest_is_refused

use crate::argo_server_api::{argo, assert_conforms, create, hello, until_ended, WORKFLOW};
use crate::both_stores;
use crate::harness::TestApp;
use polyphemus_model::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

both_stores!(an_ended_ad_hoc_workflow_is_deleted_with_its_run_dir_and_the_rest_is_refused);

fn name_of(created: &serde_json::Value) -> String {
    created["metadata"]["name"]
        .as_str()
        .expect("name")
        .to_owned()
}

async fn an_ended_ad_hoc_workflow_is_deleted_with_its_run_dir_and_the_rest_is_refused(
    app: TestApp,
) {
    let name = name_of(&create(&app, "labors", hello("echo scratch")).await);
    until_ended(&app, "labors", &name).await;
    assert!(app.runs_dir().join(&name).is_dir(), "the engine's run dir");
    let path = format!("/api/v1/workflows/labors/{name}");
    let editor = app.token("labors", Role::Editor).await;
    let (status, refused) = argo(&app, Method::DELETE, &path, Some(&editor), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert_eq!(refused["code"], 7);

    let (status, deleted) = argo(&app, Method::DELETE, &path, Some(&app.admin), None).await;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    assert_eq!(deleted, json!({}));
    assert_conforms(WORKFLOW, "delete", &deleted);
    let (status, gone) = argo(&app, Method::GET, &path, Some(&app.admin), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{gone}");
    assert_eq!(gone["code"], 5);
    assert!(!app.runs_dir().join(&name).exists(), "its run dir went too");
    let (_, events) = app.get("/projects/labors/events", &app.admin).await;
    let event = events["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|e| e["action"] == "run.deleted")
        .cloned()
        .expect("an event naming who deleted it");
    assert_eq!(event["actor"], "admin-*");

    // A running workflow must be ended first.
    let running = name_of(&create(&app, "labors", hello("sleep 60")).await);
    let path = format!("/api/v1/workflows/labors/{running}");
    let (status, refused) = argo(&app, Method::DELETE, &path, Some(&app.admin), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(refused["code"], 9);
    assert!(
        refused["message"]
            .as_str()
            .unwrap_or_default()
            .contains("still running"),
        "{refused}"
    );
    let terminate = format!("{path}/terminate");
    let (status, _) = argo(
        &app,
        Method::PUT,
        &terminate,
        Some(&editor),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // A run of a config version is that config's history.
    let config_id = app.create_config("labors", json!({})).await;
    let mut workflow = hello("echo for a config");
    workflow["spec"]["arguments"] = json!({"parameters": [
        {"name": "config_id", "value": config_id.to_string()},
        {"name": "version_number", "value": "1"},
    ]});
    let of_config = name_of(&create(&app, "labors", workflow).await);
    until_ended(&app, "labors", &of_config).await;
    let path = format!("/api/v1/workflows/labors/{of_config}");
    let (status, refused) = argo(&app, Method::DELETE, &path, Some(&app.admin), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap_or_default()
            .contains("history"),
        "{refused}"
    );
    let (status, _) = argo(&app, Method::GET, &path, Some(&app.admin), None).await;
    assert_eq!(status, StatusCode::OK, "still there");
}
