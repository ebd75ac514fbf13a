//! `polyphemus bench state-merge`: whether a state merge costs more as the run's state grows.
//! Keys are merged one at a time, over HTTP, into one run; the rate of the first and of the
//! last thousand are printed, per store, with the whole-state answer and with
//! `Prefer: return=minimal`.

use super::{fresh_postgres_database, tempfile_dir, Served, PROJECT};
use clap::Args;
use serde_json::json;
use std::time::Instant;

#[derive(Debug, Args)]
pub struct BenchStateMergeArgs {
    /// Keys merged one at a time into the one run.
    #[arg(long, default_value_t = 10_000)]
    pub keys: usize,
    /// PostgreSQL server to benchmark (a fresh database is created on it); default DATABASE_URL.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub postgres_url: Option<String>,
}

pub async fn bench_state_merge(args: BenchStateMergeArgs) -> anyhow::Result<()> {
    let dir = tempfile_dir()?;
    let sqlite_url = format!("sqlite://{}", dir.join("bench.db").display());
    println!(
        "# polyphemus bench state-merge ({} keys into one run, one at a time)",
        args.keys
    );
    run_store("sqlite", &sqlite_url, args.keys).await?;
    match &args.postgres_url {
        Some(url) => run_store("postgres", &fresh_postgres_database(url).await?, args.keys).await?,
        None => println!("\n## postgres: skipped (set DATABASE_URL or --postgres-url)"),
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

async fn run_store(label: &str, url: &str, keys: usize) -> anyhow::Result<()> {
    let served = Served::start(url, 4).await?;
    let bench = &served.bench;
    let config_id = bench.create_config("state-merge").await?;
    println!("\n## {label}");
    for (run, minimal) in [("grow-minimal", true), ("grow-whole", false)] {
        bench.register_run(run, config_id).await?;
        let url = format!("{}/projects/{PROJECT}/runs/{run}", bench.base);
        let mut rates = Vec::new();
        let mut started = Instant::now();
        for n in 0..keys {
            let mut request = bench.http.patch(&url).bearer_auth(&bench.token);
            if minimal {
                request = request.header("prefer", "return=minimal");
            }
            let body = json!({"state": {format!("key{n}"): {"n": n, "at": "2026-12-02"}}});
            request.json(&body).send().await?.error_for_status()?;
            if (n + 1) % 1000 == 0 {
                rates.push(1000.0 / started.elapsed().as_secs_f64());
                started = Instant::now();
            }
        }
        let (Some(first), Some(last)) = (rates.first(), rates.last()) else {
            anyhow::bail!("--keys must be at least 1000");
        };
        let answer = if minimal {
            "Prefer: return=minimal"
        } else {
            "whole state answered"
        };
        println!(
            "{answer}: first 1000 {first:.0} merges/s, last 1000 {last:.0} merges/s, \
             last/first {:.0}%",
            100.0 * last / first
        );
    }
    served.stop().await;
    Ok(())
}
