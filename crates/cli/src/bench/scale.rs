//! `polyphemus bench scale`: whether the pages and queries a project uses most keep their
//! cost as its history grows. One project of `--configs` configs (each hourly and due) is
//! measured with `--runs-per-config` ended runs each and with 1% of them, on a fresh database
//! per store and size: the status page, the project's run list (first page, and a page deep
//! in the past by cursor), `previous_state`, and the scheduler's claim of every due config.

use super::{bench_project, fresh_postgres_database, median, ms, tempfile_dir, Served};
use anyhow::Context;
use clap::Args;
use polyphemus_core::services::Cursor;
use polyphemus_store::bench_scale::{analyze, make_due, seed_project};
use std::time::{Duration, Instant};

#[derive(Debug, Args)]
pub struct BenchScaleArgs {
    /// Configs in the project.
    #[arg(long, default_value_t = 10_000)]
    pub configs: i64,
    /// Ended runs of each config in the full history (1% of them in the small one, at least 1).
    #[arg(long, default_value_t = 100)]
    pub runs_per_config: i64,
    /// Requests timed per figure (the claim: claims timed).
    #[arg(long, default_value_t = 20)]
    pub samples: usize,
    /// PostgreSQL server to benchmark (fresh databases are created on it); default DATABASE_URL.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub postgres_url: Option<String>,
}

/// One size's medians.
struct Figures {
    status: Duration,
    first_page: Duration,
    deep_page: Duration,
    previous_state: Duration,
    claim: Duration,
}

pub async fn bench_scale(args: BenchScaleArgs) -> anyhow::Result<()> {
    let dir = tempfile_dir()?;
    let small = (args.runs_per_config / 100).max(1);
    println!(
        "# polyphemus bench scale ({} configs; {} and {} runs each; medians of {})",
        args.configs, small, args.runs_per_config, args.samples
    );
    for (label, per_config) in [("1%", small), ("100%", args.runs_per_config)] {
        let sqlite = format!(
            "sqlite://{}",
            dir.join(format!("scale-{per_config}.db")).display()
        );
        let figures = measure(&sqlite, per_config, &args).await?;
        print_figures("sqlite", label, args.configs * per_config, &figures);
    }
    match &args.postgres_url {
        Some(url) => {
            for (label, per_config) in [("1%", small), ("100%", args.runs_per_config)] {
                let fresh = fresh_postgres_database(url).await?;
                let figures = measure(&fresh, per_config, &args).await?;
                print_figures("postgres", label, args.configs * per_config, &figures);
            }
        }
        None => println!("postgres: skipped (set DATABASE_URL or --postgres-url)"),
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn print_figures(store: &str, label: &str, runs: i64, f: &Figures) {
    println!(
        "{store} {label:>4} ({runs} runs): status {:.1} ms, runs first page {:.2} ms, \
         deep page {:.2} ms, previous_state {:.2} ms, claim of every due config {:.0} ms",
        ms(f.status),
        ms(f.first_page),
        ms(f.deep_page),
        ms(f.previous_state),
        ms(f.claim)
    );
}

async fn measure(url: &str, per_config: i64, args: &BenchScaleArgs) -> anyhow::Result<Figures> {
    let served = Served::start(url, 8).await?;
    let bench = &served.bench;
    let project = bench_project()?;
    let due = chrono::Utc::now() - chrono::Duration::minutes(5);
    let seeding = Instant::now();
    seed_project(&bench.store, &project, args.configs, per_config, due).await?;
    analyze(&bench.store).await?;
    eprintln!(
        "  seeded {} runs in {:.1} s",
        args.configs * per_config,
        seeding.elapsed().as_secs_f64()
    );
    let base = &bench.base;
    let status = bench
        .median_get(&format!("{base}/projects/bench/status"), args.samples)
        .await?;
    let runs = format!("{base}/projects/bench/runs");
    let first_page = bench.median_get(&runs, args.samples).await?;
    // A tenth of the way from the oldest run: nine tenths of the history are newer.
    let deep = Cursor(args.configs * per_config / 10 + 1).encode();
    let deep_page = bench
        .median_get(&format!("{runs}?cursor={deep}"), args.samples)
        .await?;
    let config_id = args.configs / 2;
    let previous_state = bench
        .median_get(
            &format!("{base}/projects/bench/configs/{config_id}/previous_state?keys=cursor"),
            args.samples,
        )
        .await?;
    let claim = time_claims(bench, &project, args).await?;
    served.stop().await;
    Ok(Figures {
        status,
        first_page,
        deep_page,
        previous_state,
        claim,
    })
}

/// The scheduler's claim of every due config (one claim of up to all of them), made due again
/// before each.
async fn time_claims(
    bench: &super::Bench,
    project: &polyphemus_model::ProjectName,
    args: &BenchScaleArgs,
) -> anyhow::Result<Duration> {
    let mut timings = Vec::new();
    for _ in 0..args.samples.clamp(1, 5) {
        let now = chrono::Utc::now();
        make_due(&bench.store, project, now - chrono::Duration::minutes(5)).await?;
        let started = Instant::now();
        let claimed = bench
            .store
            .claim_due_runtimes(now, args.configs, |_| {
                Some(now + chrono::Duration::hours(1))
            })
            .await?;
        timings.push(started.elapsed());
        let expected = usize::try_from(args.configs).context("configs")?;
        anyhow::ensure!(
            claimed.len() == expected,
            "claimed {} of {expected} due configs",
            claimed.len()
        );
    }
    Ok(median(timings))
}
