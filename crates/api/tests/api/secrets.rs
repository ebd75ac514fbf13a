//! Secrets: sealed at rest, `***` in every response, names only in events, clear only to the
//! task token of that config version.

use crate::both_stores;
use crate::harness::TestApp;
use polyphemus_model::Role;
use reqwest::StatusCode;
use serde_json::json;

const PLAINTEXT: &str = "correct-horse-battery-staple";

both_stores!(
    secrets_are_redacted_everywhere_and_sealed_at_rest,
    only_the_task_token_of_the_version_reads_secrets,
    null_removes_a_secret,
);

async fn secrets_are_redacted_everywhere_and_sealed_at_rest(app: TestApp) {
    let id = app
        .create_config("labors", json!({"password": PLAINTEXT}))
        .await;
    let base = format!("/projects/labors/configs/{id}");
    let (status, config) = app
        .put(
            &format!("{base}/secrets"),
            &app.admin,
            json!({"storage_secret_key": PLAINTEXT}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        config["secrets"],
        json!({"password": "***", "storage_secret_key": "***"})
    );
    // A failing request that carries a secret does not echo it.
    let (_, problem) = app
        .put(
            &format!("{base}/secrets"),
            &app.admin,
            json!({"unknown": PLAINTEXT}),
        )
        .await;
    let mut seen = vec![config, problem];
    for path in [
        base.clone(),
        format!("{base}/versions/1"),
        "/projects/labors/configs".into(),
        "/projects/labors/events".into(),
        "/projects/labors/status".into(),
    ] {
        let (status, body) = app.get(&path, &app.admin).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        seen.push(body);
    }
    for body in &seen {
        assert!(
            !body.to_string().contains(PLAINTEXT),
            "secret leaked in {body}"
        );
    }
    let (_, events) = app.get("/projects/labors/events", &app.admin).await;
    let secret_event = events["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|e| e["action"] == "secrets.updated")
        .expect("secret change is logged");
    assert_eq!(secret_event["detail"]["set"], json!(["storage_secret_key"]));
    let logs = crate::harness::captured_logs();
    assert!(logs.contains("/secrets"), "requests are logged");
    assert!(!logs.contains(PLAINTEXT), "a secret reached the log");
    assert_raw_store_has_no_plaintext(&app).await;
}

async fn assert_raw_store_has_no_plaintext(app: &TestApp) {
    if let Some(path) = &app.sqlite_path {
        app.store.close().await;
        for suffix in ["", "-wal"] {
            let file = format!("{}{suffix}", path.display());
            if let Ok(bytes) = std::fs::read(&file) {
                let found = bytes
                    .windows(PLAINTEXT.len())
                    .any(|w| w == PLAINTEXT.as_bytes());
                assert!(!found, "plaintext secret in {file}");
            }
        }
    } else {
        let pool = app.raw_postgres_pool().await;
        let dump: Vec<(String,)> = sqlx::query_as(
            "SELECT secrets::text FROM configs UNION ALL SELECT detail::text FROM logs",
        )
        .fetch_all(&pool)
        .await
        .expect("read raw");
        pool.close().await;
        assert!(!dump.is_empty());
        for (text,) in dump {
            assert!(!text.contains(PLAINTEXT), "plaintext secret stored: {text}");
        }
    }
}

async fn only_the_task_token_of_the_version_reads_secrets(app: TestApp) {
    let id = app
        .create_config("labors", json!({"password": PLAINTEXT}))
        .await;
    let path = format!("/projects/labors/configs/{id}/versions/1/secrets");
    let task = app.task_token("labors", id, 1).await;
    let (status, secrets) = app.get(&path, &task).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(secrets, json!({"password": PLAINTEXT}));
    let (status, _) = app.get(&path, &app.admin).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "not even an admin reads secrets in clear"
    );
    let editor = app.token("labors", Role::Editor).await;
    assert_eq!(app.get(&path, &editor).await.0, StatusCode::FORBIDDEN);
    let other_version = app.task_token("labors", id, 2).await;
    assert_eq!(
        app.get(&path, &other_version).await.0,
        StatusCode::NOT_FOUND
    );
}

async fn null_removes_a_secret(app: TestApp) {
    let id = app
        .create_config(
            "labors",
            json!({"password": "a", "storage_secret_key": "b"}),
        )
        .await;
    let (status, config) = app
        .put(
            &format!("/projects/labors/configs/{id}/secrets"),
            &app.admin,
            json!({"password": null}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(config["secrets"], json!({"storage_secret_key": "***"}));
    assert_eq!(
        config["version_number"], 1,
        "secrets change the latest row in place"
    );
}
