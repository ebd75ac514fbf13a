//! Request metrics: counts and a latency histogram by route, method and status.

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use polyphemus_model::RunPhase;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Instant;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PhaseLabels {
    phase: String,
}

type LatencyFamily = Family<RequestLabels, Histogram, fn() -> Histogram>;

/// The server's metrics registry.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    requests: Family<RequestLabels, Counter>,
    latency: LatencyFamily,
    runs: Family<PhaseLabels, Gauge>,
    scheduler_lag: Gauge<f64, AtomicU64>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

fn latency_histogram() -> Histogram {
    // 0.5 ms .. ~8 s
    Histogram::new(exponential_buckets(0.0005, 2.0, 15))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("polyphemus");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency: LatencyFamily = Family::new_with_constructor(latency_histogram);
        registry.register(
            "http_requests",
            "HTTP requests by route, method and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route, method and status",
            latency.clone(),
        );
        let runs = Family::<PhaseLabels, Gauge>::default();
        registry.register(
            "runs",
            "Runs by orchestrator phase (Unknown: no run metadata yet)",
            runs.clone(),
        );
        let scheduler_lag = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "scheduler_lag_seconds",
            "How late the scheduler claimed the last due runtime config",
            scheduler_lag.clone(),
        );
        Self {
            registry: Arc::new(registry),
            requests,
            latency,
            runs,
            scheduler_lag,
        }
    }
}

impl Metrics {
    /// Sets the runs-by-phase gauges from a fresh count (called at scrape time).
    /// Runs by phase; runs with no metadata yet count as `Unknown`.
    pub fn set_runs_by_phase(&self, counts: &[(Option<RunPhase>, i64)]) {
        self.runs.clear();
        for (phase, runs) in counts {
            let phase = phase.map_or("Unknown", RunPhase::as_str).to_owned();
            self.runs.get_or_create(&PhaseLabels { phase }).set(*runs);
        }
    }

    pub fn set_scheduler_lag(&self, seconds: f64) {
        self.scheduler_lag.set(seconds);
    }

    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }

    fn observe(&self, labels: RequestLabels, seconds: f64) {
        self.requests.get_or_create(&labels).inc();
        self.latency.get_or_create(&labels).observe(seconds);
    }
}

/// Middleware: times each request and counts it under its route template (never its raw path,
/// which would make a series per id).
pub async fn track(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    metrics.observe(
        RequestLabels {
            method,
            route,
            status: response.status().as_u16(),
        },
        started.elapsed().as_secs_f64(),
    );
    response
}
