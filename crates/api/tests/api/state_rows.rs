//! A run's state as one row per key: the migration from state documents keeps every value,
//! and a PATCH can answer with only the keys it merged.

use crate::both_stores;
use crate::harness::TestApp;
use reqwest::StatusCode;
use serde_json::json;

both_stores!(
    the_migration_to_state_rows_keeps_every_run_state,
    prefer_return_minimal_answers_with_the_merged_keys_only,
);

/// Puts the schema back to state documents on `runs` (as before the state-rows migration),
/// each run's document holding what its key rows hold, and forgets that migration.
pub(crate) async fn back_to_state_documents(app: &TestApp) {
    let statements: &[&str] = if app.sqlite_path.is_some() {
        &[
            "ALTER TABLE runs ADD COLUMN state TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(state))",
            "UPDATE runs SET state = (SELECT json_group_object(k.key, json(k.value)) \
             FROM run_state_keys k WHERE k.run_seq = runs.seq)",
        ]
    } else {
        &[
            "ALTER TABLE runs ADD COLUMN state JSONB NOT NULL DEFAULT '{}'",
            "UPDATE runs SET state = s.state FROM (SELECT run_seq, jsonb_object_agg(key, value) \
             AS state FROM run_state_keys GROUP BY run_seq) s WHERE s.run_seq = runs.seq",
        ]
    };
    app.raw_execute(statements).await;
}

async fn the_migration_to_state_rows_keeps_every_run_state(app: TestApp) {
    let id = app.create_config("labors", json!({})).await;
    let states = [
        (
            "r1",
            json!({"cursor": 1, "seen": ["a"], "nested": {"x": {"y": null}}}),
        ),
        (
            "r2",
            json!({"cursor": 2, "text": "two \"quoted\"", "flag": true, "none": null}),
        ),
    ];
    for (run, state) in &states {
        app.register_run("labors", run, id, 1).await;
        let body = json!({ "state": state });
        let (status, answer) = app
            .patch(&format!("/projects/labors/runs/{run}"), &app.admin, body)
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    back_to_state_documents(&app).await;
    app.raw_execute(&[
        "ALTER TABLE run_state_keys DROP COLUMN value",
        "DELETE FROM _sqlx_migrations WHERE description = 'run state rows'",
    ])
    .await;
    app.store.migrate().await.expect("migrate");

    for (run, state) in &states {
        let (_, got) = app
            .get(&format!("/projects/labors/runs/{run}"), &app.admin)
            .await;
        assert_eq!(&got["state"], state, "{run} kept its state");
    }
    let (status, previous) = app
        .get(
            &format!("/projects/labors/configs/{id}/previous_state?keys=cursor,text,seen"),
            &app.admin,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{previous}");
    assert_eq!(
        previous,
        json!({"cursor": 2, "text": "two \"quoted\"", "seen": ["a"]})
    );
}

async fn prefer_return_minimal_answers_with_the_merged_keys_only(app: TestApp) {
    let id = app.create_config("labors", json!({})).await;
    app.register_run("labors", "r1", id, 1).await;
    let url = "/projects/labors/runs/r1";
    let (status, _) = app.patch(url, &app.admin, json!({"state": {"a": 1}})).await;
    assert_eq!(status, StatusCode::OK);

    let response = app
        .client
        .patch(format!("{}/api/v1{url}", app.base))
        .bearer_auth(&app.admin)
        .header("prefer", "return=minimal")
        .json(&json!({"state": {"b": 2}}))
        .send()
        .await
        .expect("patch");
    assert_eq!(response.status(), StatusCode::OK);
    let minimal: serde_json::Value = response.json().await.expect("json");
    assert_eq!(minimal["state"], json!({"b": 2}), "only the merged key");

    let (_, whole) = app.patch(url, &app.admin, json!({"state": {"a": 3}})).await;
    assert_eq!(
        whole["state"],
        json!({"a": 3, "b": 2}),
        "default: the whole state"
    );
}
