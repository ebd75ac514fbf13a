//! Sessions, CSRF and origin checks, roles, live pages.

use super::*;

#[tokio::test]
async fn pages_without_a_session_lead_to_sign_in() {
    let app = app().await;
    for path in ["/", "/projects/labors", "/projects/labors/configs/new"] {
        let request = Request::get(path).body(Body::empty()).expect("request");
        let response = app.router.clone().oneshot(request).await.expect("response");
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(response.headers()[header::LOCATION], "/signin");
    }
    let (status, _) = app.get("/projects/labors", "not-a-token").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn sign_in_sets_an_httponly_strict_cookie_secure_only_over_tls() {
    let app = app().await;
    let token = app.token(Role::Viewer).await;
    let (status, cookies, _) = app
        .send(post_request("/signin", None, &[("token", &token)], None))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let cookie = &cookies[0];
    assert!(
        cookie.starts_with(&format!("polyphemus_session={token};")),
        "{cookie}"
    );
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(flag), "{flag} missing: {cookie}");
    }
    assert!(!cookie.contains("Secure"), "{cookie}");

    let mut request = post_request("/signin", None, &[("token", &token)], None);
    request
        .headers_mut()
        .insert("x-forwarded-proto", "https".parse().expect("value"));
    let (_, cookies, _) = app.send(request).await;
    assert!(cookies[0].contains("; Secure"), "{}", cookies[0]);

    let (status, cookies, body) = app
        .send(post_request(
            "/signin",
            None,
            &[("token", "forged.token.value")],
            None,
        ))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(cookies.is_empty());
    assert!(body.contains("The token was refused"), "{body}");
}

#[tokio::test]
async fn sign_out_clears_the_cookie_and_needs_the_csrf_token() {
    let app = app().await;
    let token = app.token(Role::Viewer).await;
    let (status, _) = app.post("/signout", &token, &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let csrf = app.csrf(&token);
    let (status, cookies, _) = app
        .send(post_request(
            "/signout",
            Some(&token),
            &[("_csrf", &csrf)],
            None,
        ))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(cookies[0].contains("Max-Age=0"), "{}", cookies[0]);
}

#[tokio::test]
async fn a_post_without_the_csrf_token_or_from_another_origin_is_refused() {
    let app = app().await;
    let token = app.token(Role::Editor).await;
    let csrf = app.csrf(&token);

    let mut fields = create_fields(&csrf, "/incoming");
    fields.remove(0);
    let (status, _) = app.post(CREATE, &token, &fields).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Another session's token does not pass for this one.
    let other = app.csrf(&app.token(Role::Editor).await);
    let (status, _) = app
        .post(CREATE, &token, &create_fields(&other, "/incoming"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let request = post_request(
        CREATE,
        Some(&token),
        &create_fields(&csrf, "/incoming"),
        Some("https://evil.example"),
    );
    let (status, _, _) = app.send(request).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(config_count(&app, &token).await, 0, "nothing was stored");

    let request = post_request(
        CREATE,
        Some(&token),
        &create_fields(&csrf, "/incoming"),
        Some("http://ui.test"),
    );
    let (status, _, _) = app.send(request).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(config_count(&app, &token).await, 1);

    // Behind a proxy that rewrites Host, the browser's host comes as X-Forwarded-Host.
    let mut request = post_request(
        CREATE,
        Some(&token),
        &create_fields(&csrf, "/incoming"),
        Some("https://polyphemus.lab.example"),
    );
    request.headers_mut().insert(
        "x-forwarded-host",
        "polyphemus.lab.example".parse().expect("value"),
    );
    let (status, _, _) = app.send(request).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_viewer_sees_no_edit_controls_and_a_forged_post_gets_403() {
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
    let viewer = app.token(Role::Viewer).await;
    let (status, page) = app.get("/projects/labors/configs/1", &viewer).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("nightly"));
    for control in [
        "/edit\"",
        "/launch\"",
        "action=\"/projects/labors/configs/1/secrets\"",
    ] {
        assert!(!page.contains(control), "{control} shown to a viewer");
    }
    let (_, page) = app.get("/projects/labors", &viewer).await;
    assert!(!page.contains("configs/new"));

    let csrf = app.csrf(&viewer);
    for (path, fields) in [
        (
            "/projects/labors/configs/1",
            vec![("_csrf", csrf.as_str()), ("/workflow_name", "x")],
        ),
        (
            "/projects/labors/configs/1/launch",
            vec![("_csrf", csrf.as_str())],
        ),
        (
            "/projects/labors/configs/1/secrets",
            vec![("_csrf", csrf.as_str()), ("/secrets/password", "x")],
        ),
        (
            "/projects/labors/configs/1/runtime",
            vec![("_csrf", csrf.as_str()), ("schedule", "none")],
        ),
        (CREATE, create_fields(&csrf, "/incoming")),
    ] {
        let (status, _) = app.post(path, &viewer, &fields).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
    let (_, page) = app.get("/projects/labors/configs/1", &viewer).await;
    assert!(page.contains("<h1>nightly</h1>"), "the config is unchanged");
}

#[tokio::test]
async fn schema_errors_are_shown_at_their_field_and_secrets_never_come_back() {
    let app = app().await;
    let token = app.token(Role::Editor).await;
    let csrf = app.csrf(&token);
    let (status, page) = app
        .post(CREATE, &token, &create_fields(&csrf, "relative/path"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("id=\"f-config-root-error\""), "{page}");
    assert!(page.contains("does not match"));
    assert!(
        page.contains("value=\"relative/path\""),
        "what was typed is kept"
    );
    assert!(!page.contains("hunter2-secret"), "a secret was sent back");

    let (status, _) = app
        .post(CREATE, &token, &create_fields(&csrf, "/incoming"))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, page) = app.get("/projects/labors/configs/1", &token).await;
    assert!(!page.contains("hunter2-secret"));
    assert!(page.contains("data-secret=\"password\""));
    let stored = app
        .store
        .latest_config(&"labors".parse().expect("project"), 1.into())
        .await
        .expect("stored");
    assert_eq!(
        stored.config["recursive"],
        json!(true),
        "a checkbox's last value wins"
    );
    assert_eq!(stored.config["port"], json!(22), "numbers are numbers");
}

#[tokio::test]
async fn the_dashboard_refreshes_itself_only_while_a_run_is_active() {
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
    let (_, page) = app.get("/projects/labors", &editor).await;
    assert!(!page.contains("data-live"), "nothing runs yet");
    assert!(page.contains("data-state=\"pending\""));

    let principal = app
        .services
        .tokens
        .verify(&editor)
        .await
        .expect("principal");
    let project = polyphemus_model::ProjectName::parse("labors").expect("name");
    let register = polyphemus_model::RegisterRun {
        run_id: "run-1".parse().expect("run id"),
        name: "nightly-abc".into(),
        config_id: 1.into(),
        version_number: 1.into(),
    };
    app.services
        .register_run(&principal.access(&project), register)
        .await
        .expect("register");
    let (_, page) = app.get("/projects/labors", &editor).await;
    assert!(page.contains("data-live=\"1\""), "{page}");
    assert!(page.contains("data-state=\"running\""));
    assert!(
        page.contains("<meta http-equiv=\"refresh\" content=\"10\">"),
        "no-JS fallback"
    );
    let (_, page) = app.get("/projects/labors/runs/run-1", &editor).await;
    assert!(
        page.contains("data-live=\"1\""),
        "a run without a final phase is live"
    );
}

#[tokio::test]
async fn the_project_list_shows_the_token_s_projects_and_with_star_every_stored_one() {
    let app = app().await;
    let editor = app.token(Role::Editor).await;
    let (_, page) = app.get("/", &editor).await;
    assert!(
        page.contains("href=\"/projects/labors\""),
        "a named project, even empty"
    );
    let (status, _) = app
        .post(
            CREATE,
            &editor,
            &create_fields(&app.csrf(&editor), "/incoming"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let admin = app
        .services
        .tokens
        .issue_user(
            "root",
            BTreeMap::from([("*".to_owned(), Role::Admin)]),
            chrono::Duration::hours(1),
        )
        .await
        .expect("token")
        .token;
    let (_, page) = app.get("/", &admin).await;
    assert!(page.contains("href=\"/projects/labors\""), "{page}");
    assert!(page.contains("every project as <strong>admin</strong>"));
    let other = app
        .services
        .tokens
        .issue_user(
            "olga",
            BTreeMap::from([("other".to_owned(), Role::Viewer)]),
            chrono::Duration::hours(1),
        )
        .await
        .expect("token")
        .token;
    let (_, page) = app.get("/", &other).await;
    assert!(
        !page.contains("labors"),
        "a project the token does not reach is not listed"
    );
}

#[tokio::test]
async fn an_editor_stops_a_running_run_from_its_page_and_a_viewer_cannot() {
    let app = app_with_engine().await;
    let editor = app.token(Role::Editor).await;
    let (status, _) = app
        .post(
            CREATE,
            &editor,
            &create_fields(&app.csrf(&editor), "/incoming"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let admin = app.token(Role::Admin).await;
    let principal = app.services.tokens.verify(&admin).await.expect("admin");
    let project = polyphemus_model::ProjectName::parse("labors").expect("name");
    let sleepy = r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: sleepy-}
spec:
  entrypoint: main
  templates:
    - name: main
      container: {image: busybox, command: [sleep, "60"]}
"#;
    let run = app
        .services
        .submit_workflow(
            &principal.access(&project),
            1.into(),
            polyphemus_model::SubmitWorkflow {
                workflow_yaml: sleepy.to_owned(),
                version_number: 1.into(),
                parameters: BTreeMap::new(),
            },
        )
        .await
        .expect("submitted");
    let page_path = format!("/projects/labors/runs/{}", run.run_id);
    let stop = format!("{page_path}/stop");

    let viewer = app.token(Role::Viewer).await;
    let (_, page) = app.get(&page_path, &viewer).await;
    assert!(!page.contains("/stop\""), "no Stop button for a viewer");
    let (status, _) = app
        .post(&stop, &viewer, &[("_csrf", app.csrf(&viewer).as_str())])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (_, page) = app.get(&page_path, &editor).await;
    assert!(
        page.contains(&format!("action=\"{stop}\"")),
        "Stop button shown"
    );
    let (status, _) = app
        .post(&stop, &editor, &[("_csrf", app.csrf(&editor).as_str())])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let phase = loop {
        let metadata = app
            .services
            .get_run_metadata(&principal.access(&project), &run.run_id)
            .await
            .ok();
        if let Some(phase) = metadata.map(|m| m.report.phase).filter(|p| p.is_final()) {
            break phase;
        }
        assert!(std::time::Instant::now() < deadline, "the run did not end");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert_eq!(phase, polyphemus_model::RunPhase::Failed);
    let (_, page) = app.get(&page_path, &editor).await;
    assert!(
        !page.contains("/stop\""),
        "no Stop button once the run ended"
    );
}
