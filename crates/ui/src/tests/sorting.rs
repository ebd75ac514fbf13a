//! The run pictures on their pages and tables sorted by a column: the config page's bars and
//! success rate, the dashboard's strip, `?sort=&dir=` on the dashboard and the runs list.

use super::*;
use polyphemus_core::Access;
use polyphemus_model::{ConfigId, RegisterRun, RunId, RunStatusReport, VersionNumber};

async fn access(app: &App, token: &str) -> Access {
    let principal = app.services.tokens.verify(token).await.expect("principal");
    principal.access(&"labors".parse().expect("project"))
}

/// Creates a config named `name` through the form; configs are numbered from 1.
async fn config(app: &App, editor: &str, name: &str) {
    let csrf = app.csrf(editor);
    let mut fields = create_fields(&csrf, "/incoming");
    for field in &mut fields {
        if field.0 == "/workflow_name" {
            field.1 = name;
        }
    }
    let (status, page) = app.post(CREATE, editor, &fields).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
}

/// A run of config `config_id` that ended with `phase` after `seconds`.
async fn ended(app: &App, access: &Access, config_id: i64, run: &str, phase: &str, seconds: u32) {
    let run_id = RunId::parse(run).expect("run id");
    let register = RegisterRun {
        run_id: run_id.clone(),
        name: format!("wf-{run}"),
        config_id: ConfigId::new(config_id),
        version_number: VersionNumber::FIRST,
    };
    app.services
        .register_run(access, register)
        .await
        .expect("register");
    let finished = chrono::DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z").expect("time")
        + chrono::Duration::seconds(seconds.into());
    let report: RunStatusReport = serde_json::from_value(json!({
        "phase": phase, "startedAt": "2026-12-01T10:00:00Z",
        "finishedAt": finished.to_rfc3339(), "nodes": {}
    }))
    .expect("report");
    app.services
        .put_run_metadata(access, &run_id, report)
        .await
        .expect("metadata");
}

/// The order in which `needles` first appear in `page`.
fn order_of<'a>(page: &str, needles: &[&'a str]) -> Vec<&'a str> {
    let mut found: Vec<(usize, &str)> = needles
        .iter()
        .map(|n| (page.find(n).unwrap_or_else(|| panic!("{n} missing")), *n))
        .collect();
    found.sort();
    found.into_iter().map(|(_, n)| n).collect()
}

#[tokio::test]
async fn the_config_page_charts_its_runs_with_the_success_rate() {
    let app = app().await;
    let editor = app.token(Role::Editor).await;
    config(&app, &editor, "nightly").await;
    let access = access(&app, &editor).await;
    ended(&app, &access, 1, "run-a", "Succeeded", 90).await;
    ended(&app, &access, 1, "run-b", "Failed", 30).await;
    ended(&app, &access, 1, "run-c", "Succeeded", 60).await;
    let (status, page) = app.get("/projects/labors/configs/1", &editor).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("2 of 3 succeeded (67%)"), "{page}");
    assert_eq!(page.matches("<rect class=\"bar ").count(), 3);
    assert_eq!(page.matches("class=\"bar failed\"").count(), 1);
    assert_eq!(
        order_of(&page, &["data-run=\"run-a\"", "data-run=\"run-c\""]),
        ["data-run=\"run-a\"", "data-run=\"run-c\""],
        "the chart goes oldest first"
    );
}

#[tokio::test]
async fn the_dashboard_shows_each_configs_last_outcomes_as_a_strip() {
    let app = app().await;
    let editor = app.token(Role::Editor).await;
    config(&app, &editor, "alpha").await;
    config(&app, &editor, "beta").await;
    let access = access(&app, &editor).await;
    ended(&app, &access, 1, "a-1", "Failed", 5).await;
    ended(&app, &access, 1, "a-2", "Succeeded", 5).await;
    ended(&app, &access, 2, "b-1", "Error", 5).await;
    let (_, page) = app.get("/projects/labors", &editor).await;
    assert!(page.contains(">Last 10<"), "{page}");
    assert_eq!(page.matches("class=\"sq succeeded\"").count(), 1);
    assert_eq!(page.matches("class=\"sq failed\"").count(), 1);
    assert_eq!(page.matches("class=\"sq error\"").count(), 1);
    assert_eq!(page.matches("class=\"sq empty\"").count(), 8 + 9);
    assert!(page.contains("href=\"/projects/labors/runs/b-1\""));
}

#[tokio::test]
async fn dashboard_rows_sort_by_a_column_both_ways_and_ignore_unknown_columns() {
    let app = app().await;
    let editor = app.token(Role::Editor).await;
    for name in ["beta", "Alpha", "gamma"] {
        config(&app, &editor, name).await;
    }
    let names = [">beta<", ">Alpha<", ">gamma<"];
    let (_, page) = app.get("/projects/labors", &editor).await;
    assert_eq!(order_of(&page, &names), names, "by config id");
    assert!(!page.contains("aria-sort"));
    let (_, page) = app.get("/projects/labors?sort=config", &editor).await;
    assert_eq!(order_of(&page, &names), [">Alpha<", ">beta<", ">gamma<"]);
    assert!(page.contains("aria-sort=\"ascending\""), "{page}");
    assert!(
        page.contains("href=\"?sort=config&amp;dir=desc\""),
        "toggles"
    );
    let (_, page) = app
        .get("/projects/labors?sort=config&dir=desc", &editor)
        .await;
    assert_eq!(order_of(&page, &names), [">gamma<", ">beta<", ">Alpha<"]);
    assert!(page.contains("aria-sort=\"descending\""));
    let (status, page) = app
        .get("/projects/labors?sort=nonsense&dir=up", &editor)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(order_of(&page, &names), names, "unknown: default order");
    let (_, page) = app
        .get(
            "/projects/labors?workflow_type=sftp-to-storage&sort=type",
            &editor,
        )
        .await;
    assert!(
        page.contains("href=\"?workflow_type=sftp-to-storage&amp;sort=config&amp;dir=asc\""),
        "the filter is kept: {page}"
    );
}

#[tokio::test]
async fn the_runs_list_sorts_by_duration() {
    let app = app().await;
    let editor = app.token(Role::Editor).await;
    config(&app, &editor, "nightly").await;
    let access = access(&app, &editor).await;
    ended(&app, &access, 1, "medium", "Succeeded", 60).await;
    ended(&app, &access, 1, "long", "Failed", 600).await;
    ended(&app, &access, 1, "short", "Succeeded", 6).await;
    let runs = [
        "data-run=\"medium\"",
        "data-run=\"long\"",
        "data-run=\"short\"",
    ];
    let path = "/projects/labors/configs/1/runs";
    let (_, page) = app.get(path, &editor).await;
    assert_eq!(
        order_of(&page, &runs),
        [
            "data-run=\"short\"",
            "data-run=\"long\"",
            "data-run=\"medium\""
        ],
        "newest first"
    );
    let (_, page) = app
        .get(&format!("{path}?sort=duration&dir=desc"), &editor)
        .await;
    assert_eq!(
        order_of(&page, &runs),
        [
            "data-run=\"long\"",
            "data-run=\"medium\"",
            "data-run=\"short\""
        ]
    );
    assert!(page.contains("within this page"), "{page}");
}
