//! `polyphemus backfill CONFIG --from T --to T --every 1d [--watch]` and `polyphemus backfills
//! list|show|stop|resume`: one run of a config per time window, one after another.

use super::output::{emit, format_time, new_details, new_table, print_json, print_table};
use super::runs::find_metadata;
use super::{parse_value, Context};
use anyhow::bail;
use chrono::{DateTime, SecondsFormat, Utc};
use clap::{Args, Subcommand};
use polyphemus_model::{
    parse_instant, Backfill, BackfillId, BackfillState, ConfigId, ProjectName, StartBackfill,
};
use std::time::Duration;

#[derive(Debug, Args)]
pub struct BackfillArgs {
    /// The config to backfill (its latest version runs).
    #[arg(value_parser = parse_value::<ConfigId>)]
    config_id: ConfigId,
    /// Start of the first window: RFC 3339 or a date (2026-11-01, midnight UTC).
    #[arg(long, value_parser = parse_time)]
    from: DateTime<Utc>,
    /// End of the last window (not included).
    #[arg(long, value_parser = parse_time)]
    to: DateTime<Utc>,
    /// Window length: 90s, 30m, 6h, 1d, or seconds.
    #[arg(long)]
    every: String,
    #[command(flatten)]
    watch: WatchArgs,
}

#[derive(Debug, Clone, Args)]
struct WatchArgs {
    /// Print progress until the backfill ends; exit 1 if it failed.
    #[arg(long)]
    watch: bool,
    /// Seconds between progress checks with --watch.
    #[arg(long, default_value_t = 2, value_name = "SECONDS")]
    poll_seconds: u64,
}

#[derive(Debug, Args)]
pub struct BackfillsArgs {
    #[command(subcommand)]
    command: BackfillsCommand,
}

#[derive(Debug, Subcommand)]
enum BackfillsCommand {
    /// The config's backfills, newest first.
    List {
        #[arg(value_parser = parse_value::<ConfigId>)]
        config_id: ConfigId,
    },
    /// One backfill's progress and the runs of each window.
    Show {
        #[arg(value_parser = parse_value::<BackfillId>)]
        id: BackfillId,
    },
    /// Stop a running backfill; a run of it still going is left to finish.
    Stop {
        #[arg(value_parser = parse_value::<BackfillId>)]
        id: BackfillId,
    },
    /// Resume a stopped or failed backfill from its first window not yet succeeded.
    Resume {
        #[arg(value_parser = parse_value::<BackfillId>)]
        id: BackfillId,
        #[command(flatten)]
        watch: WatchArgs,
    },
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    parse_instant("time", text).map_err(|error| error.reason)
}

pub async fn start(context: &Context, args: BackfillArgs) -> anyhow::Result<()> {
    let project = &context.project;
    let text = |at: DateTime<Utc>| at.to_rfc3339_opts(SecondsFormat::Secs, true);
    let body = StartBackfill {
        from: text(args.from),
        to: text(args.to),
        every: args.every,
    };
    let backfill = context
        .client
        .start_backfill(project, args.config_id, &body)
        .await?;
    announce(context, &backfill, args.watch.watch)?;
    finish(context, project, backfill, &args.watch).await
}

pub async fn run(context: &Context, args: BackfillsArgs) -> anyhow::Result<()> {
    let project = &context.project;
    let client = &context.client;
    match args.command {
        BackfillsCommand::List { config_id } => {
            print_list(context, &client.list_backfills(project, config_id).await?)
        }
        BackfillsCommand::Show { id } => {
            print_backfill(context, &client.get_backfill(project, id).await?)
        }
        BackfillsCommand::Stop { id } => {
            let backfill = client.stop_backfill(project, id).await?;
            if !context.json() && backfill.current_run_id.is_some() {
                eprintln!("its active run is left to finish");
            }
            print_backfill(context, &backfill)
        }
        BackfillsCommand::Resume { id, watch } => {
            let backfill = client.resume_backfill(project, id).await?;
            announce(context, &backfill, watch.watch)?;
            finish(context, project, backfill, &watch).await
        }
    }
}

/// The backfill's id and size (JSON of it without --watch).
fn announce(context: &Context, backfill: &Backfill, watching: bool) -> anyhow::Result<()> {
    if context.json() {
        return if watching {
            Ok(())
        } else {
            print_json(backfill)
        };
    }
    emit(&format!(
        "backfill {} of config {}: {} window(s) of {} from {}, {} done, {}",
        backfill.id,
        backfill.config_id,
        backfill.windows,
        backfill.every,
        format_time(Some(backfill.from)),
        backfill.done_windows,
        backfill.state
    ))
}

async fn finish(
    context: &Context,
    project: &ProjectName,
    backfill: Backfill,
    watch: &WatchArgs,
) -> anyhow::Result<()> {
    if !watch.watch {
        return Ok(());
    }
    let ended = watch_backfill(context, project, backfill, watch.poll_seconds).await?;
    if context.json() {
        print_json(&ended)?;
    }
    match ended.state {
        BackfillState::Failed => bail!(
            "backfill {} failed: {}",
            ended.id,
            ended.reason.as_deref().unwrap_or("a window's run failed")
        ),
        BackfillState::Stopped => bail!("backfill {} was stopped", ended.id),
        _ => Ok(()),
    }
}

/// Prints a line each time the backfill moves (window k/n, run id, phase) until it is no
/// longer running.
async fn watch_backfill(
    context: &Context,
    project: &ProjectName,
    mut backfill: Backfill,
    poll_seconds: u64,
) -> anyhow::Result<Backfill> {
    let poll = Duration::from_secs(poll_seconds.max(1));
    let mut last = String::new();
    loop {
        let line = progress_line(context, project, &backfill).await?;
        if line != last && !context.json() {
            emit(&line)?;
        }
        last = line;
        if backfill.state != BackfillState::Running {
            return Ok(backfill);
        }
        tokio::time::sleep(poll).await;
        backfill = context.client.get_backfill(project, backfill.id).await?;
    }
}

async fn progress_line(
    context: &Context,
    project: &ProjectName,
    backfill: &Backfill,
) -> anyhow::Result<String> {
    let mut line = format!(
        "backfill {}: {}/{} done, {}",
        backfill.id, backfill.done_windows, backfill.windows, backfill.state
    );
    if let (Some(window), false) = (
        backfill.current_window,
        backfill.state == BackfillState::Done,
    ) {
        line.push_str(&format!(
            "; window {}/{} {} to {}",
            backfill.done_windows + 1,
            backfill.windows,
            format_time(Some(window.start_time)),
            format_time(Some(window.end_time))
        ));
    }
    if let Some(run_id) = &backfill.current_run_id {
        let phase = find_metadata(context, project, run_id)
            .await?
            .map_or("Pending".to_owned(), |m| m.report.phase.as_str().to_owned());
        line.push_str(&format!(", run {run_id} {phase}"));
    }
    if let Some(reason) = &backfill.reason {
        line.push_str(&format!(" ({reason})"));
    }
    Ok(line)
}

fn print_list(context: &Context, backfills: &[Backfill]) -> anyhow::Result<()> {
    if context.json() {
        return print_json(backfills);
    }
    let mut table = new_table(["id", "state", "progress", "from", "to", "every", "created"]);
    for backfill in backfills {
        table.add_row([
            backfill.id.to_string(),
            backfill.state.to_string(),
            format!("{}/{}", backfill.done_windows, backfill.windows),
            format_time(Some(backfill.from)),
            format_time(Some(backfill.to)),
            backfill.every.clone(),
            format_time(Some(backfill.created_at)),
        ]);
    }
    print_table(&table)
}

fn print_backfill(context: &Context, backfill: &Backfill) -> anyhow::Result<()> {
    if context.json() {
        return print_json(backfill);
    }
    let mut details = new_details();
    details.add_row(["backfill", &backfill.id.to_string()]);
    details.add_row(["config", &backfill.config_id.to_string()]);
    details.add_row(["state", backfill.state.as_str()]);
    details.add_row([
        "progress",
        &format!("{}/{} windows", backfill.done_windows, backfill.windows),
    ]);
    details.add_row([
        "span",
        &format!(
            "{} to {} every {}",
            format_time(Some(backfill.from)),
            format_time(Some(backfill.to)),
            backfill.every
        ),
    ]);
    if let Some(run_id) = &backfill.current_run_id {
        details.add_row(["current run", run_id.as_str()]);
    }
    if let Some(reason) = &backfill.reason {
        details.add_row(["reason", reason]);
    }
    details.add_row([
        "created",
        &format!(
            "{} by {}",
            format_time(Some(backfill.created_at)),
            backfill.created_by
        ),
    ]);
    print_table(&details)?;
    if backfill.window_runs.is_empty() {
        return Ok(());
    }
    let mut table = new_table(["window", "start", "end", "runs"]);
    for window in &backfill.window_runs {
        let runs: Vec<&str> = window.run_ids.iter().map(|id| id.as_str()).collect();
        table.add_row([
            (window.index + 1).to_string(),
            format_time(Some(window.window.start_time)),
            format_time(Some(window.window.end_time)),
            runs.join(", "),
        ]);
    }
    print_table(&table)
}
