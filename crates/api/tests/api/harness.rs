//! A real server on port 0 over a fresh database (SQLite file or a new PostgreSQL database),
//! with helpers to mint tokens and send requests.

use polyphemus_api::ServeOptions;
use polyphemus_core::orchestrators::local::LocalOrchestrator;
use polyphemus_core::orchestrators::memo_cache::MemoCaches;
use polyphemus_core::orchestrators::Orchestrator;
use polyphemus_core::{Registry, SecretKeys, Services, TaskGrant};
use polyphemus_model::{OutputLimit, Role};
use polyphemus_store::{Store, StoreOptions};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub services: Services,
    /// The server's store, for tests that close it or read it beside the services.
    pub store: polyphemus_store::Store,
    pub admin: String,
    /// The SQLite file, to look for plaintext secrets in the raw bytes.
    pub sqlite_path: Option<std::path::PathBuf>,
    /// The server's `--workflows-dir` (empty at start): a test writes packages here, then
    /// reloads.
    pub packages_dir: std::path::PathBuf,
    database_url: String,
    secret_key: String,
    _dir: tempfile::TempDir,
}

/// Runs each named test body against SQLite and against PostgreSQL.
#[macro_export]
macro_rules! both_stores {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                super::$name($crate::harness::TestApp::sqlite().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                if let Some(app) = $crate::harness::TestApp::postgres().await {
                    super::$name(app).await
                }
            }
        }
    )*};
}

/// Runs each named test body against SQLite and PostgreSQL servers made from `$setup()`
/// (a function of the test module returning a [`Setup`]).
#[macro_export]
macro_rules! both_stores_with {
    ($setup:ident; $($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                super::$name($crate::harness::TestApp::sqlite_set_up(super::$setup()).await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                if let Some(app) = $crate::harness::TestApp::postgres_set_up(super::$setup()).await {
                    super::$name(app).await
                }
            }
        }
    )*};
}

/// Everything every test's servers logged (at debug level), to check no secret reaches a log.
pub static LOGS: std::sync::Mutex<Vec<u8>> = std::sync::Mutex::new(Vec::new());

struct LogBuffer;

impl std::io::Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut logs) = LOGS.lock() {
            logs.extend_from_slice(bytes);
        }
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "debug,hyper=info,h2=info",
            ))
            .with_writer(|| LogBuffer)
            .with_ansi(false)
            .try_init();
    });
}

/// The captured log text so far.
pub fn captured_logs() -> String {
    LOGS.lock()
        .map(|logs| String::from_utf8_lossy(&logs).into_owned())
        .unwrap_or_default()
}

/// How a test's server differs from the default one.
#[derive(Default)]
pub struct Setup {
    /// Launch through this instead of the local engine.
    pub orchestrator: Option<Arc<dyn Orchestrator>>,
    /// HTTP limits.
    pub options: ServeOptions,
    /// The ceiling on a run's output.
    pub output_limit: OutputLimit,
    /// `--min-interval-s` (the server's default when `None`).
    pub min_interval_s: Option<i64>,
    /// `--oidc-issuer` and the rest: the OpenID provider whose access tokens are accepted.
    pub oidc: Option<polyphemus_core::auth::oidc::OidcSettings>,
}

impl TestApp {
    pub async fn sqlite() -> Self {
        Self::sqlite_set_up(Setup::default()).await
    }

    /// Over SQLite, served with the given HTTP limits.
    pub async fn sqlite_serving(options: ServeOptions) -> Self {
        Self::sqlite_set_up(Setup {
            options,
            ..Setup::default()
        })
        .await
    }

    /// Over SQLite, launching through `orchestrator` instead of the local engine.
    pub async fn sqlite_with(orchestrator: Arc<dyn Orchestrator>) -> Self {
        Self::sqlite_set_up(Setup {
            orchestrator: Some(orchestrator),
            ..Setup::default()
        })
        .await
    }

    pub async fn sqlite_set_up(setup: Setup) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("polyphemus.db");
        let url = format!("sqlite://{}", path.display());
        Self::start(&url, dir, Some(path), setup).await
    }

    /// `None` (with a note) when DATABASE_URL is unset outside CI; CI always sets it.
    pub async fn postgres() -> Option<Self> {
        Self::postgres_set_up(Setup::default()).await
    }

    pub async fn postgres_set_up(setup: Setup) -> Option<Self> {
        let Ok(base_url) = std::env::var("DATABASE_URL") else {
            assert!(
                std::env::var_os("POLYPHEMUS_REQUIRE_POSTGRES").is_none(),
                "DATABASE_URL must be set when POLYPHEMUS_REQUIRE_POSTGRES is"
            );
            eprintln!("skipping the PostgreSQL variant: DATABASE_URL is not set");
            return None;
        };
        let name = format!("test_{}", uuid::Uuid::new_v4().simple());
        let admin = sqlx::PgPool::connect(&base_url)
            .await
            .expect("connect to DATABASE_URL");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&admin)
            .await
            .expect("create test database");
        admin.close().await;
        let (prefix, _) = base_url.rsplit_once('/').expect("URL has a database name");
        let url = format!("{prefix}/{name}");
        let dir = tempfile::tempdir().expect("temp dir");
        Some(Self::start(&url, dir, None, setup).await)
    }

    async fn start(
        url: &str,
        dir: tempfile::TempDir,
        sqlite_path: Option<std::path::PathBuf>,
        setup: Setup,
    ) -> Self {
        let Setup {
            orchestrator,
            options,
            output_limit,
            min_interval_s,
            oidc,
        } = setup;
        capture_logs();
        let store = Store::connect(
            url,
            &StoreOptions {
                max_connections: 16,
            },
        )
        .await
        .expect("connect store");
        store.migrate().await.expect("migrate");
        let secret_key = SecretKeys::generate_base64();
        let keys = SecretKeys::from_base64(&secret_key).expect("key");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let orchestrator = orchestrator.unwrap_or_else(|| {
            // Retried steps are retried at once.
            Arc::new(
                LocalOrchestrator::new(dir.path().join("runs"), format!("http://{address}"))
                    .with_max_backoff(Some(std::time::Duration::ZERO))
                    .with_memo_caches(MemoCaches::new(store.clone())),
            )
        });
        let packages_dir = dir.path().join("packages");
        std::fs::create_dir_all(&packages_dir).expect("packages dir");
        let services = Services::new(store.clone(), Registry::builtin(), keys)
            .with_orchestrator(orchestrator)
            .with_package_dirs(vec![packages_dir.clone()])
            .with_output_limit(output_limit)
            .with_alert_retry(polyphemus_core::alerts::RetryPolicy {
                attempts: 3,
                first_backoff: std::time::Duration::from_millis(100),
            })
            .with_min_interval_s(min_interval_s.unwrap_or(polyphemus_core::DEFAULT_MIN_INTERVAL_S));
        let services = match oidc {
            Some(settings) => services.with_oidc(settings),
            None => services,
        };
        let app = polyphemus_api::app(services.clone());
        // The server `polyphemus serve` runs, with its HTTP limits.
        tokio::spawn(async move {
            polyphemus_api::serve(listener, app, options, std::future::pending())
                .await
                .expect("serve");
        });
        let mut app = Self {
            base: format!("http://{address}"),
            // Idle connections are dropped before the server's keep-alive limit closes them.
            client: reqwest::Client::builder()
                .pool_idle_timeout(std::time::Duration::from_secs(5))
                .build()
                .expect("client"),
            services,
            store,
            admin: String::new(),
            sqlite_path,
            packages_dir,
            database_url: url.to_owned(),
            secret_key,
            _dir: dir,
        };
        app.admin = app.token("*", Role::Admin).await;
        app
    }

    /// Services of a second server process over the same database and key (its own pool and
    /// its own local engine, the packages of `packages_dir` as they are now), as a second
    /// scheduler would have.
    pub async fn second_services(&self) -> Services {
        let store = Store::connect(&self.database_url, &StoreOptions { max_connections: 4 })
            .await
            .expect("connect store");
        let keys = SecretKeys::from_base64(&self.secret_key).expect("key");
        let orchestrator =
            LocalOrchestrator::new(self._dir.path().join("runs-2"), self.base.clone())
                .with_max_backoff(Some(std::time::Duration::ZERO));
        let registry = Registry::load(std::slice::from_ref(&self.packages_dir), &[])
            .expect("the test's packages load");
        Services::new(store, registry, keys).with_orchestrator(Arc::new(orchestrator))
    }

    /// Where the server's local engine keeps its run directories.
    pub fn runs_dir(&self) -> std::path::PathBuf {
        self._dir.path().join("runs")
    }

    /// A pool of the test's own on the server's PostgreSQL database, to read raw rows.
    pub async fn raw_postgres_pool(&self) -> sqlx::PgPool {
        assert!(self.sqlite_path.is_none(), "the server runs over SQLite");
        sqlx::PgPool::connect(&self.database_url)
            .await
            .expect("connect to the test database")
    }

    /// Runs raw SQL statements on the server's database, one by one (on either store).
    pub async fn raw_execute(&self, statements: &[&str]) {
        if let Some(path) = &self.sqlite_path {
            let url = format!("sqlite://{}", path.display());
            let pool = sqlx::SqlitePool::connect(&url).await.expect("connect");
            for statement in statements {
                sqlx::query(statement)
                    .execute(&pool)
                    .await
                    .expect(statement);
            }
            pool.close().await;
        } else {
            let pool = self.raw_postgres_pool().await;
            for statement in statements {
                sqlx::query(statement)
                    .execute(&pool)
                    .await
                    .expect(statement);
            }
            pool.close().await;
        }
    }

    pub async fn token(&self, project: &str, role: Role) -> String {
        self.services
            .tokens
            .issue_user(
                &format!("{}-{project}", role.as_str()),
                BTreeMap::from([(project.to_owned(), role)]),
                chrono::Duration::hours(1),
            )
            .await
            .expect("issue token")
            .token
    }

    pub async fn task_token(&self, project: &str, config_id: i64, version_number: i32) -> String {
        self.task_token_of(project, config_id, version_number, None)
            .await
    }

    /// A task token, bound to one run when `run_id` is given (as the local engine's are).
    pub async fn task_token_of(
        &self,
        project: &str,
        config_id: i64,
        version_number: i32,
        run_id: Option<&str>,
    ) -> String {
        let grant = TaskGrant {
            project: project.parse().expect("project name"),
            config_id: Some(config_id.into()),
            version_number: Some(version_number.into()),
            run_id: run_id.map(|id| id.parse().expect("run id")),
        };
        self.services
            .tokens
            .issue_task("run", grant, chrono::Duration::hours(1))
            .await
            .expect("issue task token")
            .token
    }

    /// Sends a request; returns status and JSON body (Null when empty or not JSON).
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .request(method, format!("{}/api/v1{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let text = response.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.send(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.send(Method::POST, path, Some(token), Some(&body))
            .await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.send(Method::PATCH, path, Some(token), Some(&body))
            .await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.send(Method::PUT, path, Some(token), Some(&body)).await
    }

    /// Creates an sftp-to-storage config in `project` as admin and returns its config_id.
    pub async fn create_config(&self, project: &str, secrets: Value) -> i64 {
        let (status, body) = self
            .post(
                &format!("/projects/{project}/configs"),
                &self.admin,
                serde_json::json!({
                    "workflow_type": "sftp-to-storage",
                    "workflow_name": "nightly ingest",
                    "config": valid_config("sftp.example.org"),
                    "secrets": secrets,
                }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["config_id"].as_i64().expect("config_id")
    }

    /// Registers a run of a config version as admin.
    pub async fn register_run(&self, project: &str, run_id: &str, config_id: i64, version: i32) {
        let (status, body) = self
            .post(
                &format!("/projects/{project}/runs"),
                &self.admin,
                serde_json::json!({"run_id": run_id, "name": format!("wf-{run_id}"),
                                   "config_id": config_id, "version_number": version}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }

    /// Records a registered run's end with `phase`, as its exit handler would.
    pub async fn ended_run(&self, project: &str, run_id: &str, phase: &str) {
        let (status, body) = self
            .put(
                &format!("/projects/{project}/runs/{run_id}/metadata"),
                &self.admin,
                serde_json::json!({"phase": phase, "started_at": "2026-12-01T10:00:00Z", "nodes": {}}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
}

pub fn valid_config(host: &str) -> Value {
    serde_json::json!({"host": host, "username": "ingest", "host_key_fingerprint": "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU", "root": "/incoming", "bucket": "raw-data"})
}
