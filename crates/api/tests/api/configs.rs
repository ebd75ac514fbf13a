//! Config versioning: PATCH makes version N+1 only when `config` changes.

use crate::both_stores;
use crate::harness::{valid_config, TestApp};
use reqwest::StatusCode;
use serde_json::json;

both_stores!(
    created_config_is_version_one_and_listed,
    patch_with_changed_config_creates_next_version,
    patch_without_config_change_updates_latest_in_place,
    stale_expected_version_is_a_conflict,
    listing_pages_with_an_opaque_cursor,
);

async fn created_config_is_version_one_and_listed(app: TestApp) {
    let id = app.create_config("labors", json!({})).await;
    let (status, config) = app
        .get(&format!("/projects/labors/configs/{id}"), &app.admin)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(config["version_number"], 1);
    assert_eq!(config["project_name"], "labors");
    assert_eq!(config["workflow_type"], "sftp-to-storage");
    assert_eq!(config["config"], valid_config("sftp.example.org"));
    let (_, list) = app.get("/projects/labors/configs", &app.admin).await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
    assert!(list["next_cursor"].is_null());
}

async fn patch_with_changed_config_creates_next_version(app: TestApp) {
    let id = app.create_config("labors", json!({"password": "pw"})).await;
    let path = format!("/projects/labors/configs/{id}");
    let (status, v2) = app
        .patch(
            &path,
            &app.admin,
            json!({"config": valid_config("new.example.org"), "comment": "move host"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v2}");
    assert_eq!(v2["version_number"], 2);
    assert_eq!(v2["comment"], "move host");
    assert_eq!(v2["workflow_name"], "nightly ingest", "name carries over");
    assert_eq!(
        v2["secrets"],
        json!({"password": "***"}),
        "secrets carry over"
    );
    let (_, v1) = app.get(&format!("{path}/versions/1"), &app.admin).await;
    assert_eq!(
        v1["config"]["host"], "sftp.example.org",
        "v1 is never rewritten"
    );
    let (_, versions) = app.get(&format!("{path}/versions"), &app.admin).await;
    let numbers: Vec<i64> = versions
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|v| v["version_number"].as_i64())
        .collect();
    assert_eq!(numbers, vec![1, 2]);
    let (_, latest) = app.get(&path, &app.admin).await;
    assert_eq!(latest["version_number"], 2);
}

async fn patch_without_config_change_updates_latest_in_place(app: TestApp) {
    let id = app.create_config("labors", json!({})).await;
    let path = format!("/projects/labors/configs/{id}");
    let (status, same) = app
        .patch(
            &path,
            &app.admin,
            json!({"config": valid_config("sftp.example.org"), "workflow_name": "renamed"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{same}");
    assert_eq!(same["version_number"], 1);
    assert_eq!(same["workflow_name"], "renamed");
    app.patch(
        &path,
        &app.admin,
        json!({"config": valid_config("b.example.org")}),
    )
    .await;
    let (status, renamed) = app
        .patch(&path, &app.admin, json!({"comment": "note"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(renamed["version_number"], 2);
    let (_, v1) = app.get(&format!("{path}/versions/1"), &app.admin).await;
    assert!(
        v1["comment"].is_null(),
        "only the latest row changes in place"
    );
}

async fn stale_expected_version_is_a_conflict(app: TestApp) {
    let id = app.create_config("labors", json!({})).await;
    let path = format!("/projects/labors/configs/{id}");
    app.patch(
        &path,
        &app.admin,
        json!({"config": valid_config("b.example.org")}),
    )
    .await;
    let (status, problem) = app
        .patch(
            &path,
            &app.admin,
            json!({"config": valid_config("c.example.org"), "expected_version": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(problem["detail"]
        .as_str()
        .unwrap_or("")
        .contains("latest version is 2"));
    let (_, versions) = app.get(&format!("{path}/versions"), &app.admin).await;
    assert_eq!(
        versions.as_array().map(Vec::len),
        Some(2),
        "nothing was written"
    );
}

async fn listing_pages_with_an_opaque_cursor(app: TestApp) {
    for _ in 0..5 {
        app.create_config("labors", json!({})).await;
    }
    let mut seen = Vec::new();
    let mut cursor = String::new();
    for _ in 0..3 {
        let (status, page) = app
            .get(
                &format!("/projects/labors/configs?limit=2&cursor={cursor}"),
                &app.admin,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        for item in page["items"].as_array().expect("items") {
            seen.push(item["config_id"].as_i64().expect("id"));
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    let mut sorted = seen.clone();
    sorted.dedup();
    assert_eq!(sorted, seen, "no item twice");
    let (status, _) = app
        .get("/projects/labors/configs?cursor=forged", &app.admin)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
