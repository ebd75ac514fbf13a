//! The run page's Download link answers the run's logs as a file.

use super::{app, create_fields, CREATE};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use polyphemus_model::{PatchRun, Role};
use tower::ServiceExt;

#[tokio::test]
async fn the_run_page_links_a_download_of_its_logs() {
    let app = app().await;
    let editor = app.token(Role::Editor).await;
    let (status, _) = app
        .post(
            CREATE,
            &editor,
            &create_fields(&app.csrf(&editor), "/incoming"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let principal = app
        .services
        .tokens
        .verify(&editor)
        .await
        .expect("principal");
    let project = polyphemus_model::ProjectName::parse("labors").expect("name");
    let access = principal.access(&project);
    let register = polyphemus_model::RegisterRun {
        run_id: "run-1".parse().expect("run id"),
        name: "nightly-abc".into(),
        config_id: 1.into(),
        version_number: 1.into(),
    };
    app.services
        .register_run(&access, register)
        .await
        .expect("register");
    let patch = PatchRun {
        state: None,
        append_output: Some("line one\n".into()),
        output: None,
    };
    let run_id = "run-1".parse().expect("run id");
    app.services
        .patch_run(
            &access,
            &run_id,
            patch,
            polyphemus_core::services::StateAnswer::WholeState,
        )
        .await
        .expect("append");

    let (_, page) = app.get("/projects/labors/runs/run-1", &editor).await;
    assert!(
        page.contains("href=\"/projects/labors/runs/run-1/logs\""),
        "{page}"
    );
    let request = Request::get("/projects/labors/runs/run-1/logs")
        .header(
            header::COOKIE,
            format!("{}={editor}", crate::SESSION_COOKIE),
        )
        .body(Body::empty())
        .expect("request");
    let response = app.router.clone().oneshot(request).await.expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    let disposition = response.headers()[header::CONTENT_DISPOSITION].clone();
    assert_eq!(disposition, "attachment; filename=\"run-run-1.log\"");
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    assert_eq!(&body[..], b"line one\n");
}
