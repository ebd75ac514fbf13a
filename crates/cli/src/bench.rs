//! `polyphemus bench api`: throughput and latency figures of the API on each store.
//!
//! Each store gets a real server on a loopback port (in this process) over a fresh database:
//! SQLite in a temp dir, and PostgreSQL in a new database next to `--postgres-url`/DATABASE_URL.

use anyhow::Context;
use clap::Args;
use futures::future::join_all;
use polyphemus_core::{Registry, SecretKeys, Services};
use polyphemus_model::Role;
use polyphemus_model::{ConfigId, InvalidValue, OutputLimit, ProjectName, RunId, VersionNumber};
use polyphemus_store::{bench, StateAnswer, Store, StoreOptions};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Args)]
pub struct BenchApiArgs {
    /// Seconds each throughput measurement runs.
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    /// Concurrent clients (and pool connections) for the merge measurement.
    #[arg(long, default_value_t = 32)]
    pub clients: usize,
    /// PostgreSQL server to benchmark (a fresh database is created on it); default DATABASE_URL.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub postgres_url: Option<String>,
    /// Runs of the large config in the previous_state measurement.
    #[arg(long, default_value_t = 100_000)]
    pub many_runs: i64,
}

mod idle;
mod ledger;
mod scale;
mod state_merge;
pub use idle::{bench_idle, BenchIdleArgs};
pub use ledger::{bench_ledger, BenchLedgerArgs};
pub use scale::{bench_scale, BenchScaleArgs};
pub use state_merge::{bench_state_merge, BenchStateMergeArgs};

const PROJECT: &str = "bench";

fn bench_project() -> Result<ProjectName, InvalidValue> {
    ProjectName::parse(PROJECT)
}

struct Bench {
    /// The bench's own handle on the store the server runs over, for the direct-SQL figures.
    store: Store,
    base: String,
    http: reqwest::Client,
    token: String,
}

pub async fn bench_api(args: BenchApiArgs) -> anyhow::Result<()> {
    let dir = tempfile_dir()?;
    let sqlite_url = format!("sqlite://{}", dir.join("bench.db").display());
    println!(
        "# polyphemus bench api ({} clients, {} s per throughput figure)",
        args.clients, args.seconds
    );
    run_store("sqlite", &sqlite_url, &args).await?;
    match &args.postgres_url {
        Some(url) => {
            let fresh = fresh_postgres_database(url).await?;
            run_store("postgres", &fresh, &args).await?;
        }
        None => println!("\n## postgres: skipped (set DATABASE_URL or --postgres-url)"),
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "polyphemus-bench-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

async fn fresh_postgres_database(url: &str) -> anyhow::Result<String> {
    let name = format!("bench_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::PgPool::connect(url)
        .await
        .context("connecting to PostgreSQL")?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .context("creating the benchmark database")?;
    admin.close().await;
    let (prefix, _) = url
        .rsplit_once('/')
        .context("the PostgreSQL URL names no database")?;
    Ok(format!("{prefix}/{name}"))
}

/// A server of our own over a fresh database at `url`, on a loopback port in this process.
struct Served {
    bench: Bench,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Served {
    async fn start(url: &str, pool_size: u32) -> anyhow::Result<Self> {
        let store = Store::connect(
            url,
            &StoreOptions {
                max_connections: pool_size,
            },
        )
        .await?;
        store.migrate().await?;
        let keys = SecretKeys::from_base64(&SecretKeys::generate_base64())?;
        let services = Services::new(store.clone(), Registry::builtin(), keys);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let app = crate::server::app(services.clone());
        // The shipped server's own listener loop (limits, TCP_NODELAY), not `axum::serve`.
        let server = tokio::spawn(polyphemus_api::serve(
            listener,
            app,
            polyphemus_api::ServeOptions::default(),
            std::future::pending(),
        ));
        let token = services
            .tokens
            .issue_user(
                "bench",
                BTreeMap::from([("*".to_owned(), Role::Admin)]),
                chrono::Duration::hours(2),
            )
            .await?
            .token;
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(usize::try_from(pool_size).unwrap_or(32))
            .build()?;
        let bench = Bench {
            store,
            base: format!("http://{address}/api/v1"),
            http,
            token,
        };
        Ok(Self { bench, server })
    }

    async fn stop(self) {
        self.server.abort();
        self.bench.store.close().await;
    }
}

async fn run_store(label: &str, url: &str, args: &BenchApiArgs) -> anyhow::Result<()> {
    println!("\n## {label}");
    let pool_size = u32::try_from(args.clients).unwrap_or(32);
    let served = Served::start(url, pool_size).await?;
    let bench = &served.bench;
    let (api, direct) = bench.merges(args).await?;
    println!(
        "(a) run-state merges/s, {} clients: API {api:.0}/s, the store's merge directly {direct:.0}/s, ratio {:.0}%",
        args.clients,
        100.0 * api / direct
    );
    let (few, many) = bench.previous_state(args.many_runs).await?;
    println!(
        "(b) previous_state median: 1,000 runs {:.2} ms, {} runs {:.2} ms ({:.2}x)",
        ms(few),
        args.many_runs,
        ms(many),
        many.as_secs_f64() / few.as_secs_f64()
    );
    let status = bench.status(1_000).await?;
    println!(
        "(c) project status median with 1,000 configs: {:.2} ms",
        ms(status)
    );
    served.stop().await;
    Ok(())
}

/// Runs `clients` loops of `operation`, each its own task (as each connection is on the
/// server), for `window` and returns successful operations/s.
async fn count_for<F, Fut>(clients: usize, window: Duration, operation: F) -> f64
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send + 'static,
{
    let done = Arc::new(AtomicU64::new(0));
    let operation = Arc::new(operation);
    let started = Instant::now();
    let loops: Vec<_> = (0..clients)
        .map(|client| {
            let (done, operation) = (Arc::clone(&done), Arc::clone(&operation));
            tokio::spawn(async move {
                let mut n = 0u64;
                while started.elapsed() < window {
                    if operation(client, n).await {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    n += 1;
                }
            })
        })
        .collect();
    join_all(loops).await;
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

impl Bench {
    async fn create_config(&self, name: &str) -> anyhow::Result<i64> {
        let response = self
            .http
            .post(format!("{}/projects/{PROJECT}/configs", self.base))
            .bearer_auth(&self.token)
            .json(
                &json!({"workflow_type": "sftp-to-storage", "workflow_name": name,
                          "config": {"host": "h", "username": "u", "host_key_fingerprint": "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU", "root": "/r", "bucket": "bkt"}}),
            )
            .send()
            .await?
            .error_for_status()?;
        let body: serde_json::Value = response.json().await?;
        body["config_id"].as_i64().context("config_id in response")
    }

    async fn register_run(&self, run_id: &str, config_id: i64) -> anyhow::Result<()> {
        self.http
            .post(format!("{}/projects/{PROJECT}/runs", self.base))
            .bearer_auth(&self.token)
            .json(&json!({"run_id": run_id, "name": run_id, "config_id": config_id, "version_number": 1}))
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }

    /// (a) merges per second through HTTP, then the same merges through the store directly: the
    /// statements the server issues (`Store::change_run`, prepared by sqlx's statement cache),
    /// over the server's own pool, each client on its own run. Both ask for what jobs ask for,
    /// only the merged keys back (`Prefer: return=minimal`).
    async fn merges(&self, args: &BenchApiArgs) -> anyhow::Result<(f64, f64)> {
        let config_id = self.create_config("merges").await?;
        let project = bench_project()?;
        let mut runs = Vec::with_capacity(args.clients);
        for client in 0..args.clients {
            let run_id = RunId::parse(format!("merge-{client}"))?;
            self.register_run(run_id.as_str(), config_id).await?;
            runs.push(run_id);
        }
        let window = Duration::from_secs(args.seconds);
        let (http, token) = (self.http.clone(), self.token.clone());
        let run_urls: Arc<Vec<String>> = Arc::new(
            runs.iter()
                .map(|run_id| format!("{}/projects/{PROJECT}/runs/{run_id}", self.base))
                .collect(),
        );
        let api = count_for(args.clients, window, move |client, n| {
            let request = http
                .patch(&run_urls[client])
                .bearer_auth(&token)
                .header("prefer", "return=minimal")
                .json(&json!({"state": {format!("k{}", n % 16): n}}));
            async move {
                request
                    .send()
                    .await
                    .map(|r| r.status().is_success())
                    .unwrap_or(false)
            }
        })
        .await;
        let (store, project, runs) = (self.store.clone(), Arc::new(project), Arc::new(runs));
        let direct = count_for(args.clients, window, move |client, n| {
            let mut state = serde_json::Map::new();
            state.insert(format!("k{}", n % 16), json!(n));
            let change = polyphemus_store::RunChange {
                state,
                answer: StateAnswer::MergedKeys,
                ..Default::default()
            };
            let (store, project, runs) = (store.clone(), Arc::clone(&project), Arc::clone(&runs));
            async move {
                store
                    .change_run(&project, &runs[client], &change, OutputLimit::DEFAULT)
                    .await
                    .is_ok()
            }
        })
        .await;
        Ok((api, direct))
    }

    /// (b) median latency of previous_state over configs with few and with many runs.
    async fn previous_state(&self, many_runs: i64) -> anyhow::Result<(Duration, Duration)> {
        let mut medians = Vec::new();
        for (name, runs) in [("few", 1_000), ("many", many_runs)] {
            let config_id = self.create_config(name).await?;
            bench::seed_runs(
                &self.store,
                &bench_project()?,
                ConfigId::new(config_id),
                VersionNumber::FIRST,
                &format!("seed-{name}"),
                "cursor",
                runs,
            )
            .await?;
            let url = format!(
                "{}/projects/{PROJECT}/configs/{config_id}/previous_state?keys=cursor",
                self.base
            );
            medians.push(self.median_get(&url, 300).await?);
        }
        Ok((medians[0], medians[1]))
    }

    /// (c) median latency of the status page of a project with `configs` configs, each with a run.
    async fn status(&self, configs: usize) -> anyhow::Result<Duration> {
        let existing = 4; // created by (a) and (b)
        for n in existing..configs {
            let config_id = self.create_config(&format!("pipeline {n}")).await?;
            if n % 2 == 0 {
                self.register_run(&format!("status-{n}"), config_id).await?;
            }
        }
        self.median_get(&format!("{}/projects/{PROJECT}/status", self.base), 100)
            .await
    }

    async fn median_get(&self, url: &str, samples: usize) -> anyhow::Result<Duration> {
        for _ in 0..5 {
            self.http
                .get(url)
                .bearer_auth(&self.token)
                .send()
                .await?
                .error_for_status()?;
        }
        let mut timings = Vec::with_capacity(samples);
        for _ in 0..samples {
            let started = Instant::now();
            let response = self
                .http
                .get(url)
                .bearer_auth(&self.token)
                .send()
                .await?
                .error_for_status()?;
            response.bytes().await?;
            timings.push(started.elapsed());
        }
        Ok(median(timings))
    }
}
