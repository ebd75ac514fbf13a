//! Bad input gets a clear problem+json error naming the field, and nothing is stored.

use crate::both_stores;
use crate::harness::TestApp;
use reqwest::StatusCode;
use serde_json::json;

both_stores!(
    schema_failure_lists_every_field_with_a_pointer,
    unknown_workflow_type_and_secret_names_are_rejected,
    malformed_json_and_wrong_types_are_bad_requests,
    oversized_bodies_get_413,
    unknown_routes_and_ids_are_problems,
    nul_characters_and_oversized_merges_are_refused_alike_on_both_stores,
);

async fn nul_characters_and_oversized_merges_are_refused_alike_on_both_stores(app: TestApp) {
    let id = app.create_config("labors", json!({})).await;
    app.register_run("labors", "r1", id, 1).await;
    let path = "/projects/labors/runs/r1";
    for (body, pointer) in [
        (json!({"append_output": "a\u{0}b"}), "/append_output"),
        (json!({"state": {"k": "x\u{0}"}}), "/state/k"),
    ] {
        let (status, problem) = app.patch(path, &app.admin, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
        assert_eq!(problem["errors"][0]["pointer"], pointer);
    }
    let (status, problem) = app
        .patch(
            &format!("/projects/labors/configs/{id}"),
            &app.admin,
            json!({"comment": "a\u{0}"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert_eq!(problem["errors"][0]["pointer"], "/comment");
    let many: serde_json::Map<String, serde_json::Value> =
        (0..101).map(|n| (format!("k{n}"), json!(n))).collect();
    let (status, problem) = app.patch(path, &app.admin, json!({"state": many})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    let hundred: serde_json::Map<String, serde_json::Value> =
        (0..100).map(|n| (format!("k{n}"), json!(n))).collect();
    let (status, run) = app.patch(path, &app.admin, json!({"state": hundred})).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "100 keys in one merge work on both stores"
    );
    assert_eq!(run["state"]["k99"], 99);
}

async fn schema_failure_lists_every_field_with_a_pointer(app: TestApp) {
    let (status, problem) = app
        .post(
            "/projects/labors/configs",
            &app.admin,
            json!({"workflow_type": "sftp-to-storage", "workflow_name": "x",
                   "config": {"host": "h", "port": "22", "root": "relative"}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["status"], 422);
    assert_eq!(problem["title"], "Unprocessable Entity");
    let pointers: Vec<&str> = problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["pointer"].as_str())
        .collect();
    for expected in [
        "/config/port",
        "/config/root",
        "/config/username",
        "/config/bucket",
    ] {
        assert!(
            pointers.contains(&expected),
            "{expected} not in {pointers:?}"
        );
    }
    let (status, _) = app.get("/projects/labors/status", &app.admin).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "no project was created by the failed request"
    );
    // A bad PATCH leaves the stored version untouched.
    let id = app.create_config("labors", json!({})).await;
    let (status, _) = app
        .patch(
            &format!("/projects/labors/configs/{id}"),
            &app.admin,
            json!({"config": {"host": 5}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, versions) = app
        .get(
            &format!("/projects/labors/configs/{id}/versions"),
            &app.admin,
        )
        .await;
    assert_eq!(versions.as_array().map(Vec::len), Some(1));
}

async fn unknown_workflow_type_and_secret_names_are_rejected(app: TestApp) {
    let (status, problem) = app
        .post(
            "/projects/labors/configs",
            &app.admin,
            json!({"workflow_type": "nope", "workflow_name": "x", "config": {}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["pointer"], "/workflow_type");
    let id = app.create_config("labors", json!({})).await;
    let (status, problem) = app
        .put(
            &format!("/projects/labors/configs/{id}/secrets"),
            &app.admin,
            json!({"api_key": "v"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["pointer"], "/secrets/api_key");
}

async fn malformed_json_and_wrong_types_are_bad_requests(app: TestApp) {
    let url = format!("{}/api/v1/projects/labors/configs", app.base);
    let response = app
        .client
        .post(&url)
        .bearer_auth(&app.admin)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let (status, problem) = app
        .post(
            "/projects/labors/configs",
            &app.admin,
            json!({"workflow_type": 7}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or("")
            .contains("workflow_type"),
        "{problem}"
    );
    let (status, _) = app
        .post(
            "/projects/labors/configs",
            &app.admin,
            json!({"workflow_type": "sftp-to-storage",
              "workflow_name": "x", "config": {}, "surprise": 1}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "unknown fields are refused"
    );
    let response = app
        .client
        .post(&url)
        .bearer_auth(&app.admin)
        .body("{}")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

async fn oversized_bodies_get_413(app: TestApp) {
    let big = "x".repeat(1024 * 1024 + 10);
    let (status, problem) = app
        .post(
            "/projects/labors/configs",
            &app.admin,
            json!({"workflow_type": "sftp-to-storage", "workflow_name": "x", "config": {"host": big}}),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(problem["status"], 413);
}

async fn unknown_routes_and_ids_are_problems(app: TestApp) {
    let (status, problem) = app.get("/nothing/here", &app.admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(problem["status"], 404);
    let (status, _) = app.get("/projects/labors/configs/999", &app.admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.get("/projects/labors/configs/abc", &app.admin).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = app.get("/projects/Bad!Name/configs", &app.admin).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
