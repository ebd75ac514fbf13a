//! The services: one struct holding what every rule needs, with one module per resource.

mod argo_retry;
mod argo_server;
mod argo_submit;
mod backfill_driver;
mod backfills;
mod cancel;
mod config_lifecycle;
mod configs;
mod cron_schedule;
mod cron_workflow_doc;
mod cron_workflows;
mod cursor;
mod launch;
mod ledgers;
mod live_status;
mod notifications;
mod recovery;
mod resubmit;
mod resume;
mod retention;
mod run_log_download;
mod run_logs;
mod run_scopes;
mod runs;
mod runtime;
mod schedule_pause;
mod status;
mod sync;
mod workflow_templates;
mod workflows;

pub use cron_schedule::run_cron_workflows;
pub use cron_workflow_doc::CRON_LABEL;
pub use cursor::{Cursor, PageRequest};
pub use polyphemus_store::StateAnswer;

use crate::orchestrators::Orchestrator;
use crate::{CoreError, Registry, SecretKeys, TokenAuthority};
use polyphemus_model::{JobSpec, OutputLimit, RunPhase};
use polyphemus_store::Store;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// Everything the rules need; cheap to clone.
#[derive(Clone, Debug)]
pub struct Services {
    pub(crate) store: Store,
    /// The workflow packages in use, swapped whole by a reload ([`Services::registry`]).
    workflows: Arc<workflows::LoadedWorkflows>,
    pub keys: Arc<SecretKeys>,
    pub tokens: TokenAuthority,
    run_scopes: run_scopes::RunScopes,
    /// The ETL jobs `run_job` can run (`GET /jobs`); given by the binary that has them.
    jobs: Arc<Vec<JobSpec>>,
    orchestrator: Option<Arc<dyn Orchestrator>>,
    /// How late the scheduler's last claimed due time was, in milliseconds.
    scheduler_lag_ms: Arc<AtomicI64>,
    /// The most a run's output holds.
    output_limit: OutputLimit,
    /// The shortest schedule interval a runtime config may set, in seconds.
    pub(crate) min_interval_s: i64,
    /// Sends alerts over HTTP.
    pub(crate) http: reqwest::Client,
    /// How alert deliveries are retried.
    pub(crate) alert_retry: crate::alerts::RetryPolicy,
}

/// The shortest schedule interval unless the server sets another: a minute.
pub const DEFAULT_MIN_INTERVAL_S: i64 = 60;

impl Services {
    pub fn new(store: Store, registry: Registry, keys: SecretKeys) -> Self {
        let tokens = TokenAuthority::new(&keys, store.clone());
        Self {
            store,
            workflows: Arc::new(workflows::LoadedWorkflows::new(registry, Vec::new())),
            keys: Arc::new(keys),
            tokens,
            run_scopes: run_scopes::RunScopes::default(),
            jobs: Arc::new(Vec::new()),
            orchestrator: None,
            scheduler_lag_ms: Arc::new(AtomicI64::new(0)),
            output_limit: OutputLimit::DEFAULT,
            min_interval_s: DEFAULT_MIN_INTERVAL_S,
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(15))
                .build()
                .unwrap_or_default(),
            alert_retry: crate::alerts::RetryPolicy::default(),
        }
    }

    /// Accepts the access tokens of the organisation's OpenID provider (`serve --oidc-issuer`).
    pub fn with_oidc(mut self, settings: crate::auth::oidc::OidcSettings) -> Self {
        let verifier = crate::auth::OidcVerifier::new(settings, self.http.clone());
        self.tokens = self.tokens.with_oidc(verifier);
        self
    }

    /// Alert deliveries are tried this way (tests retry faster).
    pub fn with_alert_retry(mut self, retry: crate::alerts::RetryPolicy) -> Self {
        self.alert_retry = retry;
        self
    }

    /// Schedules may not fire more often than every `seconds` (`serve --min-interval-s`).
    pub fn with_min_interval_s(mut self, seconds: i64) -> Self {
        self.min_interval_s = seconds.max(1);
        self
    }

    /// Run output past `limit` is dropped, with a marker saying so.
    pub fn with_output_limit(mut self, limit: OutputLimit) -> Self {
        self.output_limit = limit;
        self
    }

    pub fn output_limit(&self) -> OutputLimit {
        self.output_limit
    }

    pub(crate) fn record_scheduler_lag(&self, milliseconds: i64) {
        self.scheduler_lag_ms
            .store(milliseconds.max(0), Ordering::Relaxed);
    }

    /// Seconds between a claimed due time and its claim, at the scheduler's last launch.
    pub fn scheduler_lag_seconds(&self) -> f64 {
        self.scheduler_lag_ms.load(Ordering::Relaxed) as f64 / 1000.0
    }

    /// The jobs `run_job` can run, as this binary has them.
    pub fn with_jobs(mut self, jobs: Vec<JobSpec>) -> Self {
        self.jobs = Arc::new(jobs);
        self
    }

    pub fn jobs(&self) -> &[JobSpec] {
        &self.jobs
    }

    /// Runs are launched through this orchestrator.
    pub fn with_orchestrator(mut self, orchestrator: Arc<dyn Orchestrator>) -> Self {
        self.orchestrator = Some(orchestrator);
        self
    }

    pub fn orchestrator(&self) -> Option<&Arc<dyn Orchestrator>> {
        self.orchestrator.as_ref()
    }

    /// The orchestrator runs are launched through, or 503 when none is configured.
    pub(crate) fn require_orchestrator(&self) -> Result<&Arc<dyn Orchestrator>, CoreError> {
        self.orchestrator.as_ref().ok_or_else(|| {
            CoreError::Unavailable("this server has no orchestrator configured".into())
        })
    }

    /// Answers when the database does (`/readyz`).
    pub async fn ready(&self) -> Result<(), CoreError> {
        Ok(self.store.ping().await?)
    }

    /// Runs by phase over every project (`None`: no metadata yet), for `/metrics`.
    pub async fn runs_by_phase(&self) -> Result<Vec<(Option<RunPhase>, i64)>, CoreError> {
        Ok(self.store.count_runs_by_phase().await?)
    }
}
pub use argo_retry::ArgoRetry;
pub use argo_server::{ad_hoc_type, CreatedAs};
pub use argo_submit::SubmitFromTemplate;
pub use recovery::Recovery;
pub use run_logs::Streaming;
pub use runs::{parse_status_report, PreviousStateQuery};
