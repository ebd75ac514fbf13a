//! Races settled by the database: concurrent state merges, output appends and PATCHes.

use crate::both_stores;
use crate::harness::{valid_config, TestApp};
use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::json;
use std::sync::Arc;

both_stores!(
    concurrent_state_merges_and_appends_lose_nothing,
    concurrent_patches_yield_consecutive_versions,
);

async fn concurrent_state_merges_and_appends_lose_nothing(app: TestApp) {
    let id = app.create_config("labors", json!({})).await;
    app.register_run("labors", "uid-1", id, 1).await;
    let app = Arc::new(app);
    let requests = (0..400).map(|n| {
        let app = Arc::clone(&app);
        tokio::spawn(async move {
            let body =
                json!({"state": {format!("k{n}"): n}, "append_output": format!("line {n}\n")});
            app.patch("/projects/labors/runs/uid-1", &app.admin, body)
                .await
                .0
        })
    });
    for status in join_all(requests).await {
        assert_eq!(status.expect("task"), StatusCode::OK);
    }
    let (_, run) = app.get("/projects/labors/runs/uid-1", &app.admin).await;
    let state = run["state"].as_object().expect("object");
    assert_eq!(state.len(), 400, "every key survived");
    for n in 0..400 {
        assert_eq!(state[&format!("k{n}")], json!(n));
    }
    let output = run["output"].as_str().expect("output");
    assert_eq!(output.lines().count(), 400, "every append survived");
    for n in 0..400 {
        assert!(output.contains(&format!("line {n}\n")));
    }
}

async fn concurrent_patches_yield_consecutive_versions(app: TestApp) {
    let id = app.create_config("labors", json!({})).await;
    let app = Arc::new(app);
    let requests = (0..40).map(|n| {
        let app = Arc::clone(&app);
        tokio::spawn(async move {
            let body = json!({"config": valid_config(&format!("host{n}.example.org"))});
            let (status, config) = app
                .patch(&format!("/projects/labors/configs/{id}"), &app.admin, body)
                .await;
            assert_eq!(status, StatusCode::CREATED, "{config}");
            config["version_number"].as_i64().expect("version")
        })
    });
    let mut versions: Vec<i64> = join_all(requests)
        .await
        .into_iter()
        .map(|v| v.expect("task"))
        .collect();
    versions.sort_unstable();
    assert_eq!(
        versions,
        (2..=41).collect::<Vec<_>>(),
        "no duplicate, no gap"
    );
    let (_, listed) = app
        .get(
            &format!("/projects/labors/configs/{id}/versions"),
            &app.admin,
        )
        .await;
    assert_eq!(listed.as_array().map(Vec::len), Some(41));
}
