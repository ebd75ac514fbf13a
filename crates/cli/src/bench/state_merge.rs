//! `polyphemus bench state-merge`: whether a state merge costs more as the run's state grows.
//! Keys are merged one at a time, over HTTP, into one run; the rate (from the median latency)
//! of the first and of the last thousand are printed, per store, with `Prefer: return=minimal` (what the jobs send)
//! and, with `--whole-state`, with the whole-state answer.

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
    /// Also measure merges answered with the whole state (what clients without
    /// `Prefer: return=minimal` get): that answer grows with the state by nature.
    #[arg(long)]
    pub whole_state: bool,
}

pub async fn bench_state_merge(args: BenchStateMergeArgs) -> anyhow::Result<()> {
    let dir = tempfile_dir()?;
    let sqlite_url = format!("sqlite://{}", dir.join("bench.db").display());
    println!(
        "# polyphemus bench state-merge ({} keys into one run, one at a time)",
        args.keys
    );
    run_store("sqlite", &sqlite_url, &args).await?;
    match &args.postgres_url {
        Some(url) => run_store("postgres", &fresh_postgres_database(url).await?, &args).await?,
        None => println!("\n## postgres: skipped (set DATABASE_URL or --postgres-url)"),
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

async fn run_store(label: &str, url: &str, args: &BenchStateMergeArgs) -> anyhow::Result<()> {
    let keys = args.keys;
    let served = Served::start(url, 4).await?;
    let bench = &served.bench;
    let config_id = bench.create_config("state-merge").await?;
    println!("\n## {label}");
    let modes = [("grow-minimal", true), ("grow-whole", false)];
    for (run, minimal) in modes
        .into_iter()
        .filter(|(_, minimal)| *minimal || args.whole_state)
    {
        bench.register_run(run, config_id).await?;
        let url = format!("{}/projects/{PROJECT}/runs/{run}", bench.base);
        // Each thousand's median latency: a median shrugs off the stalls other work on a
        // shared machine causes, which a thousand's total time would count.
        let mut medians = Vec::new();
        let mut latencies = Vec::with_capacity(1000);
        for n in 0..keys {
            let mut request = bench.http.patch(&url).bearer_auth(&bench.token);
            if minimal {
                request = request.header("prefer", "return=minimal");
            }
            let body = json!({"state": {format!("key{n}"): {"n": n, "at": "2026-12-02"}}});
            let started = Instant::now();
            request.json(&body).send().await?.error_for_status()?;
            latencies.push(started.elapsed());
            if latencies.len() == 1000 {
                medians.push(super::median(std::mem::take(&mut latencies)));
            }
        }
        let (Some(first), Some(last)) = (medians.first(), medians.last()) else {
            anyhow::bail!("--keys must be at least 1000");
        };
        let answer = if minimal {
            "Prefer: return=minimal"
        } else {
            "whole state answered"
        };
        let rate = |median: &std::time::Duration| 1.0 / median.as_secs_f64();
        println!(
            "{answer}: first 1000 {:.0} merges/s ({:.2} ms median), last 1000 {:.0} merges/s \
             ({:.2} ms median), last/first {:.0}%",
            rate(first),
            super::ms(*first),
            rate(last),
            super::ms(*last),
            100.0 * rate(last) / rate(first)
        );
    }
    served.stop().await;
    Ok(())
}
