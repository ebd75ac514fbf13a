//! The retention page: viewers read the policy, project admins change it; a value out of range
//! is shown at its field and nothing is saved.

use super::{app, create_fields, CREATE};
use axum::http::StatusCode;
use polyphemus_model::Role;

const RETENTION: &str = "/projects/labors/retention";

#[tokio::test]
async fn an_admin_sets_the_retention_policy_and_a_viewer_reads_it() {
    let app = app().await;
    let admin = app.token(Role::Admin).await;
    let csrf = app.csrf(&admin);
    let (status, _) = app
        .post(CREATE, &admin, &create_fields(&csrf, "/incoming"))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, page) = app.get(RETENTION, &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        page.matches("<dd>forever</dd>").count(),
        4,
        "nothing set: {page}"
    );

    let (status, page) = app
        .post(
            RETENTION,
            &admin,
            &[
                ("_csrf", &csrf),
                ("/keep_runs_days", "-1"),
                ("/keep_output_days", "soon"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("id=\"f-keep_output_days-error\""), "{page}");
    assert!(page.contains("value=\"soon\""), "what was typed is kept");
    let (status, page) = app
        .post(
            RETENTION,
            &admin,
            &[("_csrf", &csrf), ("/keep_runs_days", "-1")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("id=\"f-keep_runs_days-error\""), "{page}");

    let fields = [
        ("_csrf", csrf.as_str()),
        ("/keep_runs_days", "90"),
        ("/keep_output_days", ""),
        ("/successful_runs_history_limit", "10"),
        ("/failed_runs_history_limit", "3"),
    ];
    let (status, _) = app.post(RETENTION, &admin, &fields).await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    let viewer = app.token(Role::Viewer).await;
    let (status, page) = app.get(RETENTION, &viewer).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("90 days"), "{page}");
    assert!(page.contains("3 per config"), "{page}");
    assert_eq!(
        page.matches("<dd>forever</dd>").count(),
        1,
        "keep output: {page}"
    );
    assert!(
        !page.contains("<form class=\"retention\""),
        "no form for viewers"
    );
    let viewer_csrf = app.csrf(&viewer);
    let (status, _) = app
        .post(
            RETENTION,
            &viewer,
            &[("_csrf", &viewer_csrf), ("/keep_runs_days", "1")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
