//! Runs: idempotent registration, state merge, output, previous state, run metadata.

use crate::both_stores;
use crate::harness::{valid_config, TestApp};
use reqwest::StatusCode;
use serde_json::json;

both_stores!(
    registration_is_idempotent_and_conflicts_on_another_config,
    state_keys_merge_and_output_appends,
    previous_state_reads_earlier_runs_across_versions,
    metadata_is_stored_with_derived_fields,
    runs_list_newest_first,
);

async fn registration_is_idempotent_and_conflicts_on_another_config(app: TestApp) {
    let id = app.create_config("labors", json!({})).await;
    let other = app.create_config("labors", json!({})).await;
    let body = json!({"run_id": "uid-1", "name": "wf", "config_id": id, "version_number": 1});
    let (status, run) = app
        .post("/projects/labors/runs", &app.admin, body.clone())
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(run["state"], json!({}));
    assert_eq!(run["output"], "");
    let (status, again) = app.post("/projects/labors/runs", &app.admin, body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["created_at"], run["created_at"]);
    let clash = json!({"run_id": "uid-1", "name": "wf", "config_id": other, "version_number": 1});
    assert_eq!(
        app.post("/projects/labors/runs", &app.admin, clash).await.0,
        StatusCode::CONFLICT
    );
    let missing = json!({"run_id": "uid-2", "name": "wf", "config_id": id, "version_number": 9});
    assert_eq!(
        app.post("/projects/labors/runs", &app.admin, missing)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let bad_id = json!({"run_id": "a/b", "name": "wf", "config_id": id, "version_number": 1});
    assert_eq!(
        app.post("/projects/labors/runs", &app.admin, bad_id)
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
    let (_, events) = app.get("/projects/labors/events", &app.admin).await;
    let registered = events["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["action"] == "run.registered")
        .count();
    assert_eq!(registered, 1, "an idempotent repeat is not logged twice");
}

async fn state_keys_merge_and_output_appends(app: TestApp) {
    let id = app.create_config("labors", json!({})).await;
    app.register_run("labors", "uid-1", id, 1).await;
    let path = "/projects/labors/runs/uid-1";
    app.patch(
        path,
        &app.admin,
        json!({"state": {"found": {"a": 1, "b": 2}, "last_scan": "t1"}}),
    )
    .await;
    let (status, run) = app
        .patch(
            path,
            &app.admin,
            json!({"state": {"found": {"c": 3}}, "append_output": "line 1\n"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{run}");
    assert_eq!(
        run["state"],
        json!({"found": {"c": 3}, "last_scan": "t1"}),
        "top-level keys replace"
    );
    app.patch(
        path,
        &app.admin,
        json!({"append_output": "line 2\n", "state": {"empty": null}}),
    )
    .await;
    let (_, run) = app.get(path, &app.admin).await;
    assert_eq!(run["output"], "line 1\nline 2\n");
    assert_eq!(run["state"]["empty"], json!(null));
    let (_, changed) = app
        .patch(path, &app.admin, json!({"output": "replaced\n"}))
        .await;
    assert_eq!(
        changed["output_bytes"], 9,
        "the answer gives the length, not the output"
    );
    let (_, run) = app.get(path, &app.admin).await;
    assert_eq!(run["output"], "replaced\n");
    let (status, problem) = app
        .patch(path, &app.admin, json!({"state": {"bad key!": 1}}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(problem["errors"][0]["pointer"], "/state");
    assert_eq!(
        app.patch(path, &app.admin, json!({})).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        app.patch(
            "/projects/labors/runs/nope",
            &app.admin,
            json!({"output": ""})
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
}

async fn previous_state_reads_earlier_runs_across_versions(app: TestApp) {
    let id = app.create_config("labors", json!({})).await;
    let config = format!("/projects/labors/configs/{id}");
    app.register_run("labors", "r1", id, 1).await;
    app.patch(
        "/projects/labors/runs/r1",
        &app.admin,
        json!({"state": {"a": 1}}),
    )
    .await;
    app.patch(
        &config,
        &app.admin,
        json!({"config": valid_config("v2.example.org")}),
    )
    .await;
    app.register_run("labors", "r2", id, 2).await;
    app.patch(
        "/projects/labors/runs/r2",
        &app.admin,
        json!({"state": {"b": 2}}),
    )
    .await;
    app.register_run("labors", "r3", id, 2).await;
    app.patch(
        "/projects/labors/runs/r3",
        &app.admin,
        json!({"state": {"a": 3}}),
    )
    .await;

    let (status, before_r3) = app
        .get(
            &format!("{config}/previous_state?keys=a,b,missing&before_run_id=r3"),
            &app.admin,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{before_r3}");
    assert_eq!(before_r3, json!({"a": 1, "b": 2}));
    let (_, latest) = app
        .get(&format!("{config}/previous_state?keys=a"), &app.admin)
        .await;
    assert_eq!(latest, json!({"a": 3}));
    let (_, all) = app
        .get(
            &format!("{config}/previous_state?keys=a&collect=true"),
            &app.admin,
        )
        .await;
    assert_eq!(all, json!({"a": [3, 1]}));
    let (status, _) = app
        .get(&format!("{config}/previous_state?keys="), &app.admin)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = app
        .get(
            &format!("{config}/previous_state?keys=a&before_run_id=nope"),
            &app.admin,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

async fn metadata_is_stored_with_derived_fields(app: TestApp) {
    let id = app.create_config("labors", json!({})).await;
    app.register_run("labors", "uid-1", id, 1).await;
    let report = json!({
        "phase": "Failed",
        "startedAt": "2026-11-25T10:00:00Z",
        "finishedAt": "2026-11-25T10:01:30Z",
        "message": "child failed",
        "nodes": {
            "n0": {"name": "wf", "displayName": "wf", "type": "Steps", "phase": "Failed"},
            "n1": {"name": "wf[0].discover", "displayName": "discover", "type": "Retry", "phase": "Failed", "retries": 2},
            "n2": {"name": "wf[0].discover(0)", "displayName": "discover(0)", "type": "Pod", "phase": "Failed",
                   "started_at": "2026-11-25T10:00:01Z", "finished_at": "2026-11-25T10:00:05Z", "message": "exit 1"}
        }
    });
    let (status, stored) = app
        .put("/projects/labors/runs/uid-1/metadata", &app.admin, report)
        .await;
    assert_eq!(status, StatusCode::OK, "{stored}");
    assert_eq!(stored["duration_s"], 90.0);
    assert_eq!(stored["retries"], 2);
    assert_eq!(stored["failed_nodes"], json!(["wf[0].discover(0)"]));
    let (_, read) = app
        .get("/projects/labors/runs/uid-1/metadata", &app.admin)
        .await;
    assert_eq!(read["nodes"]["n2"]["message"], "exit 1");
    assert_eq!(read["phase"], "Failed");
    let (status, problem) = app
        .put(
            "/projects/labors/runs/uid-1/metadata",
            &app.admin,
            json!({"phase": "Exploded", "nodes": {}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["pointer"], "/phase");
    let (_, still) = app
        .get("/projects/labors/runs/uid-1/metadata", &app.admin)
        .await;
    assert_eq!(
        still["phase"], "Failed",
        "a rejected report changes nothing"
    );
}

async fn runs_list_newest_first(app: TestApp) {
    let id = app.create_config("labors", json!({})).await;
    for n in 1..=3 {
        app.register_run("labors", &format!("r{n}"), id, 1).await;
    }
    let (_, page) = app
        .get(
            &format!("/projects/labors/configs/{id}/runs?limit=2"),
            &app.admin,
        )
        .await;
    let ids: Vec<&str> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|r| r["run_id"].as_str())
        .collect();
    assert_eq!(ids, vec!["r3", "r2"]);
    let cursor = page["next_cursor"].as_str().expect("more");
    let (_, rest) = app
        .get(
            &format!("/projects/labors/configs/{id}/runs?limit=2&cursor={cursor}"),
            &app.admin,
        )
        .await;
    assert_eq!(rest["items"][0]["run_id"], "r1");
    assert!(rest["next_cursor"].is_null());
}
