//! Route tests of the UI over a real SQLite store: sessions, CSRF, roles, forms.

use crate::form::{self, Errors, Raw};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use polyphemus_core::{Registry, SecretKeys, Services};
use polyphemus_model::{FieldError, Role};
use polyphemus_store::{Store, StoreOptions};
use serde_json::json;
use std::collections::BTreeMap;
use tower::ServiceExt;

struct App {
    router: Router,
    services: Services,
    _dir: tempfile::TempDir,
}

async fn app() -> App {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("ui.db").display());
    let store = Store::connect(&url, &StoreOptions { max_connections: 4 })
        .await
        .expect("store");
    store.migrate().await.expect("migrate");
    let keys = SecretKeys::from_base64(&SecretKeys::generate_base64()).expect("key");
    let services = Services::new(store, Registry::builtin(), keys);
    App {
        router: crate::router(services.clone()),
        services,
        _dir: dir,
    }
}

impl App {
    async fn token(&self, role: Role) -> String {
        self.services
            .tokens
            .issue_user(
                "tess",
                BTreeMap::from([("labors".to_owned(), role)]),
                chrono::Duration::hours(1),
            )
            .await
            .expect("token")
            .token
    }

    fn csrf(&self, token: &str) -> String {
        crate::csrf_token(self.services.keys.ui_forms_key(), token)
    }

    async fn send(&self, request: Request<Body>) -> (StatusCode, Vec<String>, String) {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("response");
        let status = response.status();
        let cookies = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap_or_default().to_owned())
            .collect();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        (
            status,
            cookies,
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    }

    async fn get(&self, path: &str, token: &str) -> (StatusCode, String) {
        let request = Request::get(path)
            .header(header::COOKIE, format!("{}={token}", crate::SESSION_COOKIE))
            .body(Body::empty())
            .expect("request");
        let (status, _, body) = self.send(request).await;
        (status, body)
    }

    async fn post(&self, path: &str, token: &str, fields: &[(&str, &str)]) -> (StatusCode, String) {
        let request = post_request(path, Some(token), fields, None);
        let (status, _, body) = self.send(request).await;
        (status, body)
    }
}

fn encode(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", percent(k), percent(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

fn post_request(
    path: &str,
    token: Option<&str>,
    fields: &[(&str, &str)],
    origin: Option<&str>,
) -> Request<Body> {
    let mut request = Request::post(path)
        .header(header::HOST, "ui.test")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(token) = token {
        request = request.header(header::COOKIE, format!("{}={token}", crate::SESSION_COOKIE));
    }
    if let Some(origin) = origin {
        request = request.header(header::ORIGIN, origin);
    }
    request.body(Body::from(encode(fields))).expect("request")
}

const CREATE: &str = "/projects/labors/configs";

fn create_fields<'a>(csrf: &'a str, root: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("_csrf", csrf),
        ("workflow_type", "sftp-to-storage"),
        ("/workflow_name", "nightly"),
        ("/config/host", "sftp.example.org"),
        ("/config/username", "ingest"),
        (
            "/config/host_key_fingerprint",
            "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s",
        ),
        ("/config/root", root),
        ("/config/bucket", "raw-data"),
        ("/config/port", "22"),
        ("/config/recursive", "false"),
        ("/config/recursive", "true"),
        ("/secrets/password", "hunter2-secret"),
    ]
}

async fn config_count(app: &App, token: &str) -> usize {
    let principal = app.services.tokens.verify(token).await.expect("principal");
    let project = polyphemus_model::ProjectName::parse("labors").expect("name");
    let page = polyphemus_core::services::PageRequest::parse(None, None).expect("page");
    app.services
        .list_configs(&principal, &project, None, page)
        .await
        .map(|p| p.items.len())
        .unwrap_or(0)
}

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
        .services
        .store
        .latest_config("labors", 1)
        .await
        .expect("stored");
    assert_eq!(
        stored.config["recursive"],
        json!(true),
        "a checkbox's last value wins"
    );
    assert_eq!(stored.config["port"], json!(22), "numbers are numbers");
}

/// A schema with every kind the forms handle.
fn every_kind() -> serde_json::Value {
    json!({
        "type": "object",
        "required": ["name", "mode"],
        "properties": {
            "name": {"type": "string", "title": "Name", "description": "Who it is", "pattern": "^[a-z]+$"},
            "site": {"type": "string", "format": "uri", "title": "Site"},
            "ratio": {"type": "number", "title": "Ratio", "default": 0.5},
            "count": {"type": "integer", "minimum": 1, "title": "Count"},
            "on": {"type": "boolean", "title": "On", "default": true},
            "mode": {"enum": ["fast", "slow"], "title": "Mode"},
            "tags": {"type": "array", "items": {"type": "string"}, "title": "Tags"},
            "rules": {"type": "array", "items": {"type": "object"}, "title": "Rules"},
            "nested": {"type": "object", "title": "Nested", "properties": {
                "depth": {"type": "integer", "title": "Depth"}
            }}
        }
    })
}

#[test]
fn every_schema_kind_renders_as_a_labelled_control_with_defaults_and_help() {
    let schema = every_kind();
    let mut raw = Raw::new();
    form::raw_from_value(&schema, "/config", None, true, &mut raw);
    let html = form::fields(&schema, "/config", &raw, &Errors::default()).into_string();
    for expected in [
        "<label for=\"f-config-name\">Name <span class=\"req\">(required)</span></label>",
        "Who it is. Must match the pattern ^[a-z]+$.",
        "id=\"f-config-site\" type=\"url\" name=\"/config/site\"",
        "type=\"number\" name=\"/config/ratio\" value=\"0.5\" inputmode=\"decimal\"",
        "name=\"/config/count\" value=\"\" inputmode=\"numeric\" step=\"1\" min=\"1\"",
        "id=\"f-config-on\" type=\"checkbox\" name=\"/config/on\" value=\"true\" checked",
        "<select id=\"f-config-mode\" name=\"/config/mode\"",
        "<option value=\"slow\">slow</option>",
        "<textarea id=\"f-config-tags\" name=\"/config/tags\"",
        "One item per line.",
        "<textarea id=\"f-config-rules\" name=\"/config/rules\"",
        "<legend>Nested</legend>",
        "name=\"/config/nested/depth\"",
    ] {
        assert!(html.contains(expected), "{expected} missing in {html}");
    }
    // Required fields come first, in the order the schema lists them.
    let name_at = html.find("f-config-name").expect("name");
    let mode_at = html.find("f-config-mode").expect("mode");
    let count_at = html.find("f-config-count").expect("count");
    assert!(name_at < mode_at && mode_at < count_at);
}

#[test]
fn posted_text_is_read_back_as_typed_json() {
    let schema = every_kind();
    let raw: Raw = [
        ("/config/name", "ann"),
        ("/config/ratio", "0.25"),
        ("/config/count", "3"),
        ("/config/on", "false"),
        ("/config/mode", "slow"),
        ("/config/tags", "a\n b \n\n"),
        ("/config/rules", "[{\"x\": 1}]"),
        ("/config/nested/depth", "2"),
        ("/config/site", ""),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let mut errors = Vec::new();
    let value = form::value_from_raw(&schema, "/config", &raw, &mut errors).expect("value");
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        value,
        json!({"name": "ann", "ratio": 0.25, "count": 3, "on": false, "mode": "slow",
               "tags": ["a", "b"], "rules": [{"x": 1}], "nested": {"depth": 2}})
    );
    // Round trip: the stored value fills the same fields.
    let mut again = Raw::new();
    form::raw_from_value(&schema, "/config", Some(&value), false, &mut again);
    assert_eq!(again.get("/config/tags").map(String::as_str), Some("a\nb"));
    assert_eq!(again.get("/config/count").map(String::as_str), Some("3"));

    // Text that is not of the field's type stays text, for the schema to name; bad JSON is
    // reported at its field.
    let raw: Raw = [("/config/count", "three"), ("/config/rules", "[oops")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let mut errors = Vec::new();
    let value = form::value_from_raw(&schema, "/config", &raw, &mut errors).expect("value");
    assert_eq!(value["count"], json!("three"));
    assert_eq!(errors[0].pointer, "/config/rules");
}

#[test]
fn an_error_pointer_marks_its_field_invalid_and_describes_it() {
    let schema = every_kind();
    let errors = Errors::from_fields(vec![FieldError {
        pointer: "/config/nested/depth".into(),
        message: "\"x\" is not of type \"integer\"".into(),
    }]);
    let html = form::fields(&schema, "/config", &Raw::new(), &errors).into_string();
    assert!(
        html.contains("<p class=\"error\" id=\"f-config-nested-depth-error\">"),
        "{html}"
    );
    assert!(
        html.contains("aria-describedby=\"f-config-nested-depth-error\" aria-invalid=\"true\""),
        "{html}"
    );
    let mut labels = BTreeMap::new();
    form::labels(&schema, "/config", "Settings", &mut labels);
    let summary = errors.summary(&labels).into_string();
    assert!(
        summary.contains("<a href=\"#f-config-nested-depth\">Depth</a>"),
        "{summary}"
    );
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
        run_id: "run-1".into(),
        name: "nightly-abc".into(),
        config_id: 1,
        version_number: 1,
    };
    app.services
        .register_run(&principal, &project, register)
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

#[test]
fn an_unchanged_edit_form_adds_no_defaults_to_the_stored_config() {
    let schema = every_kind();
    let stored = json!({"name": "ann", "mode": "fast"});
    let mut raw = Raw::new();
    form::raw_from_value(&schema, "/config", Some(&stored), false, &mut raw);
    // The checkbox of an absent boolean shows its default (checked) and posts it.
    let html = form::fields(&schema, "/config", &raw, &Errors::default()).into_string();
    assert!(
        html.contains("name=\"/config/on\" value=\"true\" checked"),
        "{html}"
    );
    raw.insert("/config/on".into(), "true".into());
    let mut errors = Vec::new();
    let mut posted = form::value_from_raw(&schema, "/config", &raw, &mut errors).expect("value");
    form::drop_added_defaults(&schema, &stored, &mut posted);
    assert_eq!(posted, stored);
    // A value the user changed away from the default is kept.
    raw.insert("/config/on".into(), "false".into());
    let mut posted = form::value_from_raw(&schema, "/config", &raw, &mut errors).expect("value");
    form::drop_added_defaults(&schema, &stored, &mut posted);
    assert_eq!(posted["on"], json!(false));
}
