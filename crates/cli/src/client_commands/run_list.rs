//! `polyphemus runs list`: any run of the project, newest first, with its phase and
//! duration; filtered by config, phase, workflow type and time.

use super::input::parse_interval;
use super::output::{format_or_dash, format_time, hint, new_table, print_json, print_table};
use super::{parse_value, Context};
use chrono::{DateTime, Duration, Utc};
use clap::Args;
use comfy_table::Cell;
use polyphemus_client::ListProjectRuns;
use polyphemus_model::{parse_workflow_phase, ConfigId, RunFilter, RunPhase, WorkflowType};

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only runs of this config (same as --config; `runs list CONFIG_ID` still works).
    #[arg(value_parser = parse_value::<ConfigId>, conflicts_with = "config")]
    config_id: Option<ConfigId>,
    /// Only runs of this config (the ID column of `polyphemus configs list`).
    #[arg(long, value_parser = parse_value::<ConfigId>)]
    config: Option<ConfigId>,
    /// Only runs in this phase: pending, running, succeeded, failed or error.
    #[arg(long, value_parser = parse_phase)]
    phase: Option<RunPhase>,
    /// Only runs of configs of this workflow type.
    #[arg(long, value_parser = parse_value::<WorkflowType>)]
    workflow_type: Option<WorkflowType>,
    /// Only runs registered since then: a time (RFC 3339) or an age such as 1d, 6h, 30m.
    #[arg(long, value_parser = parse_time)]
    since: Option<DateTime<Utc>>,
    /// Only runs registered before then: a time (RFC 3339) or an age such as 1d, 6h.
    #[arg(long, value_parser = parse_time)]
    until: Option<DateTime<Utc>>,
    /// Every page, not only the newest 50 runs.
    #[arg(long)]
    all: bool,
}

fn parse_phase(text: &str) -> Result<RunPhase, String> {
    parse_workflow_phase(text).map_err(|error| error.reason)
}

/// An RFC 3339 time, or an age (`1d`: a day before now).
fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text.trim()) {
        return Ok(at.with_timezone(&Utc));
    }
    let seconds = parse_interval(text).map_err(|_| {
        format!("{text:?} is neither an RFC 3339 time nor an age such as 1d, 6h or 30m")
    })?;
    Ok(Utc::now() - Duration::seconds(seconds))
}

pub async fn list_runs(context: &Context, args: ListArgs) -> anyhow::Result<()> {
    let mut query = ListProjectRuns {
        filter: RunFilter {
            phase: args.phase,
            workflow_type: args.workflow_type,
            config_id: args.config.or(args.config_id),
            since: args.since,
            until: args.until,
        },
        limit: args.all.then_some(500),
        cursor: None,
    };
    let mut runs = Vec::new();
    loop {
        let page = context
            .client
            .list_project_runs(&context.project, &query)
            .await?;
        runs.extend(page.items);
        match page.next_cursor {
            Some(cursor) if args.all => query.cursor = Some(cursor),
            Some(_) => {
                hint("more runs: list them all with --all");
                break;
            }
            None => break,
        }
    }
    if context.json() {
        return print_json(&runs);
    }
    if runs.is_empty() {
        hint(&format!("no runs match in project \"{}\"", context.project));
        return Ok(());
    }
    let mut table = new_table([
        "RUN ID", "NAME", "CONFIG", "WORKFLOW", "PHASE", "STARTED", "DURATION",
    ]);
    for run in &runs {
        table.add_row([
            Cell::new(&run.run_id),
            Cell::new(&run.name),
            Cell::new(format!("{} v{}", run.config_id, run.version_number)),
            Cell::new(&run.workflow_type),
            super::output::state_cell(run.phase.as_str()),
            Cell::new(format_time(run.started_at.or(Some(run.created_at)))),
            Cell::new(format_or_dash(run.duration_s.map(|s| format!("{s:.1}s")))),
        ]);
    }
    print_table(&table)
}
