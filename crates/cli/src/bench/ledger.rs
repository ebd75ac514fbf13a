//! `polyphemus bench ledger`: what sftp_discover's "copied before?" check costs as a config's
//! history grows. One config has 10 earlier runs, the other `--many-runs` (each with a `copied`
//! record of its own); both ledgers hold the same `--files` files, and the figure is the median
//! time to look all of them up over HTTP, in batches as the job does.

use super::{bench_project, fresh_postgres_database, median, ms, tempfile_dir, Bench, Served};
use anyhow::Context;
use clap::Args;
use polyphemus_model::{ConfigId, VersionNumber};
use polyphemus_store::bench::seed_ended_runs;
use serde_json::{json, Map, Value};
use std::time::{Duration, Instant};

#[derive(Debug, Args)]
pub struct BenchLedgerArgs {
    /// Earlier runs of the config with a long history.
    #[arg(long, default_value_t = 100_000)]
    pub many_runs: i64,
    /// Files each ledger holds and each check looks up.
    #[arg(long, default_value_t = 2_000)]
    pub files: usize,
    /// Checks timed per config.
    #[arg(long, default_value_t = 30)]
    pub samples: usize,
    /// PostgreSQL server to benchmark (a fresh database is created on it); default DATABASE_URL.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub postgres_url: Option<String>,
}

/// Names per lookup request, as `JobContext::lookup_ledger` sends them.
const BATCH: usize = 1_000;

pub async fn bench_ledger(args: BenchLedgerArgs) -> anyhow::Result<()> {
    let dir = tempfile_dir()?;
    println!(
        "# polyphemus bench ledger ({} files looked up per check, median of {})",
        args.files, args.samples
    );
    let sqlite_url = format!("sqlite://{}", dir.join("bench.db").display());
    run_store("sqlite", &sqlite_url, &args).await?;
    match &args.postgres_url {
        Some(url) => run_store("postgres", &fresh_postgres_database(url).await?, &args).await?,
        None => println!("postgres: skipped (set DATABASE_URL or --postgres-url)"),
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

async fn run_store(label: &str, url: &str, args: &BenchLedgerArgs) -> anyhow::Result<()> {
    let served = Served::start(url, 8).await?;
    let bench = &served.bench;
    let names: Vec<String> = (0..args.files)
        .map(|n| format!("run-{:04}/sample-{n}.fastq.gz", n / 100))
        .collect();
    let mut figures = Vec::new();
    for (config, runs) in [("few", 10), ("many", args.many_runs)] {
        let config_id = bench.create_config(config).await?;
        bench.fill_ledger(config, config_id, &names).await?;
        let later = json!({"copied": {"elsewhere.fastq.gz": {"size": 1, "mtime": 1}}});
        seed_ended_runs(
            &bench.store,
            &bench_project()?,
            (ConfigId::new(config_id), VersionNumber::FIRST),
            &format!("later-{config}"),
            later.as_object().context("state")?,
            runs,
        )
        .await?;
        figures.push(bench.time_lookups(config_id, &names, args.samples).await?);
    }
    println!(
        "{label}: lookup of {} files, median: 10 earlier runs {:.2} ms, {} earlier runs {:.2} ms ({:.2}x)",
        args.files,
        ms(figures[0]),
        args.many_runs,
        ms(figures[1]),
        figures[1].as_secs_f64() / figures[0].as_secs_f64()
    );
    served.stop().await;
    Ok(())
}

impl Bench {
    /// A first run of the config records every name in the `copied` ledger.
    async fn fill_ledger(
        &self,
        config: &str,
        config_id: i64,
        names: &[String],
    ) -> anyhow::Result<()> {
        let run = format!("first-{config}");
        self.register_run(&run, config_id).await?;
        for batch in names.chunks(BATCH) {
            let entries: Map<String, Value> = batch
                .iter()
                .map(|name| (name.clone(), json!({"size": 1000, "mtime": 1_700_000_000})))
                .collect();
            self.post(
                &format!("/projects/{}/runs/{run}/ledgers/copied", super::PROJECT),
                &json!({ "entries": entries }),
            )
            .await?;
        }
        Ok(())
    }

    /// The median time of looking every name up, a batch per request.
    async fn time_lookups(
        &self,
        config_id: i64,
        names: &[String],
        samples: usize,
    ) -> anyhow::Result<Duration> {
        let path = format!(
            "/projects/{}/configs/{config_id}/ledgers/copied/lookup",
            super::PROJECT
        );
        let mut timings = Vec::with_capacity(samples);
        for sample in 0..samples + 3 {
            let started = Instant::now();
            let mut found = 0;
            for batch in names.chunks(BATCH) {
                let answer = self.post(&path, &json!({ "names": batch })).await?;
                found += answer["entries"].as_object().map_or(0, Map::len);
            }
            anyhow::ensure!(
                found == names.len(),
                "found {found} of {} names",
                names.len()
            );
            // The first few warm the connection and caches.
            if sample >= 3 {
                timings.push(started.elapsed());
            }
        }
        Ok(median(timings))
    }

    async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await?
            .error_for_status()?;
        Ok(response.json().await?)
    }
}
