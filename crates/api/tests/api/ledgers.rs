//! Ledgers: what a config's runs delivered, found by name however many runs came before, and
//! recorded only by a run still going, within its own config.

use crate::harness::TestApp;
use polyphemus_model::{ConfigId, ProjectName, VersionNumber};
use polyphemus_store::bench::seed_ended_runs;
use reqwest::StatusCode;
use serde_json::{json, Value};

crate::both_stores!(
    a_lookup_finds_the_newest_record_of_each_name,
    a_file_recorded_ten_thousand_runs_ago_is_still_found,
    only_a_going_run_of_the_config_records,
    bad_input_is_refused_naming_the_field,
    the_ledgers_start_from_what_earlier_runs_recorded_in_their_state,
);

async fn record(app: &TestApp, token: &str, run: &str, ledger: &str, entries: Value) -> Value {
    let (status, body) = app
        .post(
            &format!("/projects/labors/runs/{run}/ledgers/{ledger}"),
            token,
            json!({ "entries": entries }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn lookup(app: &TestApp, token: &str, config_id: i64, ledger: &str, names: &[&str]) -> Value {
    let (status, body) = app
        .post(
            &format!("/projects/labors/configs/{config_id}/ledgers/{ledger}/lookup"),
            token,
            json!({ "names": names }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn file(size: u64, mtime: i64) -> Value {
    json!({"size": size, "mtime": mtime, "key": "core-a/x", "sha256": "0".repeat(64)})
}

async fn a_lookup_finds_the_newest_record_of_each_name(app: TestApp) {
    let id = app.create_config("labors", json!({})).await;
    app.register_run("labors", "r1", id, 1).await;
    let token = app.task_token_of("labors", id, 1, Some("r1")).await;
    let before = lookup(&app, &token, id, "copied", &["a.fastq.gz"]).await;
    assert_eq!(
        before,
        json!({"ledger": "copied", "open": false, "entries": {}})
    );

    let answer = record(
        &app,
        &token,
        "r1",
        "copied",
        json!({"a.fastq.gz": file(1, 10), "run7/b.fastq.gz": file(2, 10)}),
    )
    .await;
    assert_eq!(answer, json!({"ledger": "copied", "recorded": 2}));
    app.ended_run("labors", "r1", "Succeeded").await;

    app.register_run("labors", "r2", id, 1).await;
    let second = app.task_token_of("labors", id, 1, Some("r2")).await;
    record(
        &app,
        &second,
        "r2",
        "copied",
        json!({"a.fastq.gz": file(5, 20)}),
    )
    .await;
    record(&app, &second, "r2", "deposited", json!({})).await;

    let found = lookup(
        &app,
        &second,
        id,
        "copied",
        &["a.fastq.gz", "run7/b.fastq.gz", "new"],
    )
    .await;
    assert_eq!(found["open"], true);
    assert_eq!(
        found["entries"]["a.fastq.gz"],
        file(5, 20),
        "the newest record"
    );
    assert_eq!(found["entries"]["run7/b.fastq.gz"], file(2, 10));
    assert!(found["entries"].get("new").is_none(), "{found}");
    let opened = lookup(&app, &second, id, "deposited", &[]).await;
    assert_eq!(
        opened,
        json!({"ledger": "deposited", "open": true, "entries": {}})
    );

    let viewer = app.token("labors", polyphemus_model::Role::Viewer).await;
    let (status, listed) = app
        .get(&format!("/projects/labors/configs/{id}/ledgers"), &viewer)
        .await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    let sizes: Vec<(String, u64)> = listed
        .as_array()
        .expect("list")
        .iter()
        .map(|l| {
            (
                l["ledger"].as_str().expect("ledger").to_owned(),
                l["entries"].as_u64().expect("entries"),
            )
        })
        .collect();
    assert_eq!(
        sizes,
        [("copied".to_owned(), 2), ("deposited".to_owned(), 0)]
    );
}

async fn a_file_recorded_ten_thousand_runs_ago_is_still_found(app: TestApp) {
    let id = app.create_config("labors", json!({})).await;
    app.register_run("labors", "first", id, 1).await;
    let token = app.task_token_of("labors", id, 1, Some("first")).await;
    record(
        &app,
        &token,
        "first",
        "copied",
        json!({"old.fastq.gz": file(7, 70)}),
    )
    .await;
    app.ended_run("labors", "first", "Succeeded").await;
    // Ten thousand later runs, each with a `copied` record of its own: more than any history
    // a job could read back run by run.
    let state = json!({"copied": {"other.fastq.gz": file(1, 1)}, "bytes_copied": 1});
    seed_ended_runs(
        &app.store,
        &ProjectName::parse("labors").expect("project"),
        (ConfigId::new(id), VersionNumber::new(1)),
        "later",
        state.as_object().expect("state"),
        10_000,
    )
    .await
    .expect("seed runs");
    app.register_run("labors", "now", id, 1).await;
    let now = app.task_token_of("labors", id, 1, Some("now")).await;
    let found = lookup(
        &app,
        &now,
        id,
        "copied",
        &["old.fastq.gz", "other.fastq.gz"],
    )
    .await;
    assert_eq!(found["entries"]["old.fastq.gz"], file(7, 70), "{found}");
    assert!(
        found["entries"].get("other.fastq.gz").is_none(),
        "only what a run recorded in the ledger counts: {found}"
    );
    let (status, history) = app
        .get(
            &format!(
                "/projects/labors/configs/{id}/previous_state?keys=copied&collect=true&limit=1000"
            ),
            &now,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{history}");
    let reached_first = history["copied"]
        .as_array()
        .expect("values")
        .iter()
        .any(|copied| copied.get("old.fastq.gz").is_some());
    assert!(
        !reached_first,
        "a history of 1,000 runs no longer reaches the first run"
    );
}

async fn only_a_going_run_of_the_config_records(app: TestApp) {
    let id = app.create_config("labors", json!({})).await;
    let other = app.create_config("labors", json!({})).await;
    app.register_run("labors", "r1", id, 1).await;
    app.register_run("labors", "r2", other, 1).await;
    let r1 = app.task_token_of("labors", id, 1, Some("r1")).await;
    let path = |run: &str| format!("/projects/labors/runs/{run}/ledgers/copied");
    let entries = json!({"entries": {"a": file(1, 1)}});

    let (status, body) = app.post(&path("r2"), &r1, entries.clone()).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "another run's ledger: {body}"
    );
    let (status, body) = app
        .post(
            &format!("/projects/labors/configs/{other}/ledgers/copied/lookup"),
            &r1,
            json!({"names": ["a"]}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "another config's ledger: {body}"
    );
    let viewer = app.token("labors", polyphemus_model::Role::Viewer).await;
    let (status, body) = app.post(&path("r1"), &viewer, entries.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    app.ended_run("labors", "r1", "Failed").await;
    let (status, body) = app.post(&path("r1"), &app.admin, entries).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["detail"].as_str().unwrap_or("").contains("ended"),
        "{body}"
    );
    let found = lookup(&app, &app.admin, id, "copied", &["a"]).await;
    assert_eq!(found["open"], false, "nothing was recorded: {found}");
}

async fn bad_input_is_refused_naming_the_field(app: TestApp) {
    let id = app.create_config("labors", json!({})).await;
    app.register_run("labors", "r1", id, 1).await;
    let path = "/projects/labors/runs/r1/ledgers/copied";
    let (status, body) = app
        .post(path, &app.admin, json!({"entries": {"a": 3}}))
        .await;
    assert!(status.is_client_error(), "{status} {body}");
    assert!(body.to_string().contains("/entries"), "{body}");

    let many: Vec<String> = (0..5_001).map(|n| format!("f{n}")).collect();
    let (status, body) = app
        .post(
            &format!("/projects/labors/configs/{id}/ledgers/copied/lookup"),
            &app.admin,
            json!({ "names": many }),
        )
        .await;
    assert!(status.is_client_error(), "{status} {body}");
    assert!(body.to_string().contains("5000"), "{body}");

    let (status, body) = app
        .post(
            &format!("/projects/labors/configs/{id}/ledgers/copied/lookup"),
            &app.admin,
            json!({"names": [""]}),
        )
        .await;
    assert!(status.is_client_error(), "{status} {body}");
    assert!(body.to_string().contains("/names"), "{body}");

    let (status, body) = app
        .post(
            "/projects/labors/runs/r1/ledgers/no%20spaces",
            &app.admin,
            json!({"entries": {}}),
        )
        .await;
    assert!(status.is_client_error(), "{status} {body}");
}

/// Runs from before ledgers existed recorded deliveries only in their state: the migration
/// fills the ledgers from it, so an upgrade copies nothing again.
async fn the_ledgers_start_from_what_earlier_runs_recorded_in_their_state(app: TestApp) {
    let id = app.create_config("labors", json!({})).await;
    let states = [
        (
            "r1",
            json!({"copied": {"a": file(1, 10), "b": file(2, 10)}}),
        ),
        ("r2", json!({"copied": {"a": file(3, 30)}, "deposited": {}})),
        ("r3", json!({"files": {"c": file(1, 1)}})),
    ];
    for (run, state) in &states {
        app.register_run("labors", run, id, 1).await;
        let (status, body) = app
            .patch(
                &format!("/projects/labors/runs/{run}"),
                &app.admin,
                json!({ "state": state }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        app.ended_run("labors", run, "Succeeded").await;
    }
    // Back to the schema before ledgers (state documents on runs), then migrate again.
    crate::state_rows::back_to_state_documents(&app).await;
    app.raw_execute(&[
        "DROP TABLE ledger_entries",
        "DROP TABLE ledgers",
        "DELETE FROM _sqlx_migrations WHERE description = 'ledgers'",
    ])
    .await;
    app.store.migrate().await.expect("migrate");

    let copied = lookup(&app, &app.admin, id, "copied", &["a", "b", "c"]).await;
    assert_eq!(copied["open"], true);
    assert_eq!(
        copied["entries"],
        json!({"a": file(3, 30), "b": file(2, 10)}),
        "the newest record of each file; files only discovered are not delivered"
    );
    let deposited = lookup(&app, &app.admin, id, "deposited", &["a"]).await;
    assert_eq!(
        deposited,
        json!({"ledger": "deposited", "open": true, "entries": {}})
    );
}
