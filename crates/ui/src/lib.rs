//! The web UI: server-rendered pages (maud) over the same services and access rules as the API,
//! with its CSS and JS embedded so it works offline and without JavaScript.

mod assets;
mod attempt;
mod charts;
mod error;
mod form;
mod layout;
mod pages;
mod session;
mod settings;
mod sort;

use axum::http::{header, HeaderValue};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use polyphemus_core::Services;

pub use session::{csrf_token, SESSION_COOKIE};
pub use settings::{OidcSignIn, UiSettings};

/// What every page handler can reach.
#[derive(Clone, Debug)]
pub(crate) struct UiState {
    services: Services,
    settings: std::sync::Arc<UiSettings>,
}

/// Every page of the UI, mounted at `/`, with the default settings.
pub fn router<S: Clone + Send + Sync + 'static>(services: Services) -> Router<S> {
    router_with(services, UiSettings::default())
}

/// Every page of the UI, mounted at `/`; merge it into the server's router.
pub fn router_with<S: Clone + Send + Sync + 'static>(
    services: Services,
    settings: UiSettings,
) -> Router<S> {
    use pages::{
        backfills, configs, dashboard, events, history, lifecycle, notifications, oidc, paused,
        projects, retention, run_list, run_logs, runs, runtime, signin, tokens,
    };
    Router::new()
        .route("/", get(projects::list_projects))
        .route("/projects", get(projects::open_project))
        .route("/signin", get(signin::show_signin).post(signin::sign_in))
        .route("/signin/oidc", get(oidc::start))
        .route("/signin/oidc/callback", get(oidc::callback))
        .route("/signout", post(signin::sign_out))
        .route("/tokens", get(tokens::show).post(tokens::create))
        .route("/tokens/{id}/revoke", post(tokens::revoke))
        .route("/projects/{project}", get(dashboard::show_dashboard))
        .route("/projects/{project}/events", get(events::list_events))
        .route(
            "/projects/{project}/retention",
            get(retention::show_retention).post(retention::update_retention),
        )
        .route("/projects/{project}/configs/new", get(configs::new_config))
        .route("/projects/{project}/configs", post(configs::create_config))
        .route(
            "/projects/{project}/configs/{config_id}",
            get(configs::show_config).post(configs::update_config),
        )
        .route(
            "/projects/{project}/configs/{config_id}/edit",
            get(configs::edit_config),
        )
        .route(
            "/projects/{project}/configs/{config_id}/secrets",
            post(configs::update_secrets),
        )
        .route(
            "/projects/{project}/configs/{config_id}/versions",
            get(history::show_history),
        )
        .route(
            "/projects/{project}/configs/{config_id}/runtime",
            get(runtime::show_runtime).post(runtime::update_runtime),
        )
        .route(
            "/projects/{project}/notifications",
            get(notifications::show).post(notifications::create),
        )
        .route(
            "/projects/{project}/notifications/{id}/delete",
            post(notifications::delete),
        )
        .route(
            "/projects/{project}/notifications/{id}/test",
            post(notifications::test),
        )
        .route(
            "/projects/{project}/configs/{config_id}/runtime/resume",
            post(paused::resume),
        )
        .route(
            "/projects/{project}/configs/{config_id}/backfills",
            get(backfills::list_backfills).post(backfills::start_backfill),
        )
        .route(
            "/projects/{project}/configs/{config_id}/backfills/{backfill_id}/{action}",
            post(backfills::act_on_backfill),
        )
        .route(
            "/projects/{project}/configs/{config_id}/launch",
            post(runtime::launch_run),
        )
        .route(
            "/projects/{project}/configs/{config_id}/runs",
            get(run_list::list_runs),
        )
        .route("/projects/{project}/runs/{run_id}", get(runs::show_run))
        .route(
            "/projects/{project}/runs/{run_id}/logs",
            get(run_logs::run_logs),
        )
        .route(
            "/projects/{project}/runs/{run_id}/stop",
            post(runs::stop_run),
        )
        .route(
            "/projects/{project}/runs/{run_id}/terminate",
            post(runs::terminate_run),
        )
        .route(
            "/projects/{project}/runs/{run_id}/resume",
            post(runs::resume_run),
        )
        .route(
            "/projects/{project}/runs/{run_id}/suspend",
            post(runs::suspend_run),
        )
        .route(
            "/projects/{project}/runs/{run_id}/resubmit",
            post(lifecycle::resubmit_run),
        )
        .route(
            "/projects/{project}/configs/{config_id}/versions/{version_number}/restore",
            post(lifecycle::restore_version),
        )
        .route(
            "/projects/{project}/configs/{config_id}/archive",
            post(lifecycle::archive_config),
        )
        .route(
            "/projects/{project}/configs/{config_id}/unarchive",
            post(lifecycle::unarchive_config),
        )
        .layer(axum::middleware::map_response(page_headers))
        .route("/assets/ui.css", get(assets::css))
        .route("/assets/ui.js", get(assets::js))
        .with_state(UiState {
            services,
            settings: std::sync::Arc::new(settings),
        })
}

/// Pages are never cached (they hold a session's data) nor framed, and load only our assets.
async fn page_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

#[cfg(test)]
mod tests;
