//! Roles per project (viewer < editor < admin, `*` for all), 401/403/404, task token limits.

use crate::both_stores;
use crate::harness::{valid_config, TestApp};
use polyphemus_model::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

both_stores!(
    missing_malformed_and_revoked_tokens_get_401,
    roles_decide_403_and_other_projects_404,
    task_token_reaches_only_what_the_spec_lists,
    task_token_bound_to_a_run_reaches_only_that_run,
);

async fn task_token_bound_to_a_run_reaches_only_that_run(app: TestApp) {
    let id = app.create_config("labors", json!({})).await;
    app.register_run("labors", "r1", id, 1).await;
    app.register_run("labors", "r2", id, 1).await;
    let task = app.task_token_of("labors", id, 1, Some("r1")).await;
    let state = json!({"state": {"found": 1}});
    assert_eq!(
        app.patch("/projects/labors/runs/r1", &task, state.clone())
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        app.patch("/projects/labors/runs/r2", &task, state).await.0,
        StatusCode::NOT_FOUND
    );
    let report = json!({"phase": "Succeeded", "nodes": {}});
    assert_eq!(
        app.put("/projects/labors/runs/r2/metadata", &task, report)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/projects/labors/runs/r2", &task).await.0,
        StatusCode::NOT_FOUND
    );
    let other = json!({"run_id": "r3", "name": "wf", "config_id": id, "version_number": 1});
    assert_eq!(
        app.post("/projects/labors/runs", &task, other).await.0,
        StatusCode::FORBIDDEN
    );
    let own = json!({"run_id": "r1", "name": "wf-r1", "config_id": id, "version_number": 1});
    assert_eq!(
        app.post("/projects/labors/runs", &task, own).await.0,
        StatusCode::OK
    );
    let path = format!("/projects/labors/configs/{id}/previous_state?keys=found");
    assert_eq!(
        app.get(&path, &task).await.0,
        StatusCode::OK,
        "previous state stays config-wide"
    );
}

async fn missing_malformed_and_revoked_tokens_get_401(app: TestApp) {
    let (status, problem) = app.send(Method::GET, "/workflows", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(problem["detail"].as_str().unwrap_or("").contains("Bearer"));
    assert_eq!(
        app.get("/workflows", "garbage").await.0,
        StatusCode::UNAUTHORIZED
    );
    let token = app.token("labors", Role::Viewer).await;
    assert_eq!(app.get("/workflows", &token).await.0, StatusCode::OK);
    let claims = token.split('.').nth(1).expect("jwt");
    use base64::Engine;
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(claims)
            .expect("b64"),
    )
    .expect("json");
    let id = claims["jti"].as_str().expect("jti");
    app.services.tokens.revoke(id).await.expect("revoke");
    let (status, problem) = app.get("/workflows", &token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(problem["detail"].as_str().unwrap_or("").contains("revoked"));
}

async fn roles_decide_403_and_other_projects_404(app: TestApp) {
    let id = app.create_config("labors", json!({})).await;
    let viewer = app.token("labors", Role::Viewer).await;
    let editor = app.token("labors", Role::Editor).await;
    let outsider = app.token("other", Role::Admin).await;
    let configs = "/projects/labors/configs";
    let body = json!({"workflow_type": "sftp-to-storage", "workflow_name": "x", "config": valid_config("h")});
    assert_eq!(app.get(configs, &viewer).await.0, StatusCode::OK);
    assert_eq!(
        app.post(configs, &viewer, body.clone()).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.post(configs, &editor, body.clone()).await.0,
        StatusCode::CREATED
    );
    assert_eq!(app.get(configs, &outsider).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get(&format!("{configs}/{id}"), &outsider).await.0,
        StatusCode::NOT_FOUND
    );
    let patch = json!({"comment": "x"});
    assert_eq!(
        app.patch(&format!("{configs}/{id}"), &viewer, patch.clone())
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.patch(&format!("{configs}/{id}"), &outsider, patch)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.put(
            &format!("{configs}/{id}/runtime"),
            &viewer,
            json!({"disabled": true})
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get("/projects/labors/status", &viewer).await.0,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/projects/labors/events", &outsider).await.0,
        StatusCode::NOT_FOUND
    );
}

async fn task_token_reaches_only_what_the_spec_lists(app: TestApp) {
    let id = app.create_config("labors", json!({"password": "pw"})).await;
    let other = app.create_config("labors", json!({})).await;
    let task = app.task_token("labors", id, 1).await;
    let base = format!("/projects/labors/configs/{id}");
    // Allowed: its config version, runs of its config, previous state, its run's metadata.
    assert_eq!(
        app.get(&format!("{base}/versions/1"), &task).await.0,
        StatusCode::OK
    );
    let run = json!({"run_id": "uid-1", "name": "wf-1", "config_id": id, "version_number": 1});
    assert_eq!(
        app.post("/projects/labors/runs", &task, run).await.0,
        StatusCode::CREATED
    );
    let (status, _) = app
        .patch(
            "/projects/labors/runs/uid-1",
            &task,
            json!({"state": {"found": ["a"]}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        app.get("/projects/labors/runs/uid-1", &task).await.0,
        StatusCode::OK
    );
    assert_eq!(
        app.get(&format!("{base}/previous_state?keys=found"), &task)
            .await
            .0,
        StatusCode::OK
    );
    let metadata = json!({"phase": "Running", "nodes": {}});
    assert_eq!(
        app.put("/projects/labors/runs/uid-1/metadata", &task, metadata)
            .await
            .0,
        StatusCode::OK
    );
    // Refused: everything else.
    assert_eq!(
        app.get("/projects/labors/configs", &task).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get(&base, &task).await.0,
        StatusCode::FORBIDDEN,
        "latest is not its version"
    );
    assert_eq!(
        app.get(
            &format!("/projects/labors/configs/{other}/versions/1"),
            &task
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    let other_run =
        json!({"run_id": "uid-2", "name": "wf-2", "config_id": other, "version_number": 1});
    assert_eq!(
        app.post("/projects/labors/runs", &task, other_run).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.patch(&base, &task, json!({"comment": "x"})).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.put(&format!("{base}/secrets"), &task, json!({"password": "x"}))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get("/projects/labors/status", &task).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get("/projects/other/configs", &task).await.0,
        StatusCode::NOT_FOUND
    );
    app.register_run("labors", "uid-3", other, 1).await;
    assert_eq!(
        app.get("/projects/labors/runs/uid-3", &task).await.0,
        StatusCode::NOT_FOUND
    );
}
