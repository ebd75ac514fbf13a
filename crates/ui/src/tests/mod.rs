//! Route tests of the UI over a real SQLite store: sessions, CSRF, roles, forms.

mod access;
mod charts;
mod forms;
mod lifecycle;
mod packages;
mod retention;
mod run_logs;
mod sorting;
mod tokens;

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

pub(crate) struct App {
    pub router: Router,
    pub services: Services,
    /// The store under the services, to look at what a form stored.
    pub store: Store,
    _dir: tempfile::TempDir,
}

pub(crate) async fn app() -> App {
    app_with(false).await
}

/// The same with the local engine as orchestrator (its runs are real child processes).
pub(crate) async fn app_with_engine() -> App {
    app_with(true).await
}

async fn app_with(engine: bool) -> App {
    app_over(engine, Registry::builtin(), Vec::new()).await
}

/// The UI over the built-in packages and those in `packages` (written by the test), which a
/// reload re-reads.
pub(crate) async fn app_with_packages(packages: &std::path::Path) -> App {
    let dirs = vec![packages.to_path_buf()];
    let registry = Registry::load(&dirs, &[]).expect("valid packages");
    app_over(false, registry, dirs).await
}

async fn app_over(engine: bool, registry: Registry, package_dirs: Vec<std::path::PathBuf>) -> App {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("ui.db").display());
    let store = Store::connect(&url, &StoreOptions { max_connections: 4 })
        .await
        .expect("store");
    store.migrate().await.expect("migrate");
    let keys = SecretKeys::from_base64(&SecretKeys::generate_base64()).expect("key");
    let mut services = Services::new(store.clone(), registry, keys).with_package_dirs(package_dirs);
    if engine {
        // No step here calls the API, so the URL steps would use is never reached.
        let local = polyphemus_core::orchestrators::local::LocalOrchestrator::new(
            dir.path().join("runs"),
            "http://127.0.0.1:9".to_owned(),
        );
        services = services.with_orchestrator(std::sync::Arc::new(local));
    }
    App {
        router: crate::router(services.clone()),
        services,
        store,
        _dir: dir,
    }
}

impl App {
    pub(crate) async fn token(&self, role: Role) -> String {
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

    pub(crate) fn csrf(&self, token: &str) -> String {
        crate::csrf_token(self.services.keys.ui_forms_key(), token)
    }

    pub(crate) async fn send(&self, request: Request<Body>) -> (StatusCode, Vec<String>, String) {
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

    pub(crate) async fn get(&self, path: &str, token: &str) -> (StatusCode, String) {
        let request = Request::get(path)
            .header(header::COOKIE, format!("{}={token}", crate::SESSION_COOKIE))
            .body(Body::empty())
            .expect("request");
        let (status, _, body) = self.send(request).await;
        (status, body)
    }

    pub(crate) async fn post(
        &self,
        path: &str,
        token: &str,
        fields: &[(&str, &str)],
    ) -> (StatusCode, String) {
        let request = post_request(path, Some(token), fields, None);
        let (status, _, body) = self.send(request).await;
        (status, body)
    }
}

pub(crate) fn encode(fields: &[(&str, &str)]) -> String {
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

pub(crate) fn post_request(
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

pub(crate) const CREATE: &str = "/projects/labors/configs";

pub(crate) fn create_fields<'a>(csrf: &'a str, root: &'a str) -> Vec<(&'a str, &'a str)> {
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

pub(crate) async fn config_count(app: &App, token: &str) -> usize {
    let principal = app.services.tokens.verify(token).await.expect("principal");
    let project = polyphemus_model::ProjectName::parse("labors").expect("name");
    let page = polyphemus_core::services::PageRequest::parse(None, None).expect("page");
    app.services
        .list_configs(&principal.access(&project), None, page)
        .await
        .map(|p| p.items.len())
        .unwrap_or(0)
}
