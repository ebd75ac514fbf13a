//! `polyphemus runs list|show|logs|resubmit`: runs of a config, their state, metadata and output.

use super::input::parse_interval;
use super::output::{
    emit, format_json, format_or_dash, format_time, hint, new_details, new_table, print_json,
    print_table, state_cell,
};
use super::{parse_value, watch, Context};
use anyhow::Context as _;
use clap::{Args, Subcommand};
use comfy_table::Cell;
use polyphemus_model::{ProjectName, Run, RunId, RunMetadata, StopMode, WAITING_FOR_RESUME};
use serde_json::json;

#[derive(Debug, Args)]
pub struct RunsArgs {
    #[command(subcommand)]
    command: RunsCommand,
}

#[derive(Debug, Subcommand)]
enum RunsCommand {
    /// List the project's runs, newest first, with phase and duration (filters: --config,
    /// --phase, --workflow-type, --since, --until).
    List(super::run_list::ListArgs),
    /// Show a run: its config version, state and the orchestrator's metadata.
    Show {
        /// Run: its uid, its workflow name, or the first 8+ characters of its uid.
        #[arg(value_parser = parse_value::<RunId>)]
        run_id: RunId,
    },
    /// Wait until a run ends, then show it; exits non-zero unless it succeeded.
    Watch {
        /// Run: its uid, its workflow name, or the first 8+ characters of its uid.
        #[arg(value_parser = parse_value::<RunId>)]
        run_id: RunId,
        /// How often to ask the server.
        #[arg(long, default_value = "2s", value_parser = parse_interval)]
        poll: i64,
    },
    /// Run a run's config version again with the same run params (a backfill window stays).
    Resubmit(super::resubmit::ResubmitArgs),
    /// Print a run's output (its log text); with --follow or --node, its steps' logs from
    /// the orchestrator.
    Logs {
        /// Run: its uid, its workflow name, or the first 8+ characters of its uid.
        #[arg(value_parser = parse_value::<RunId>)]
        run_id: RunId,
        /// Print the steps' lines as they come, until the run ends.
        #[arg(long, short = 'f')]
        follow: bool,
        /// Only this node's log (its name or display name).
        #[arg(long)]
        node: Option<String>,
    },
    /// Stop a run: running steps end, exit handlers still run (`argo stop`).
    Stop {
        /// Run: its uid, its workflow name, or the first 8+ characters of its uid.
        #[arg(value_parser = parse_value::<RunId>)]
        run_id: RunId,
    },
    /// Suspend a running run: steps already running go on, no new step starts until
    /// `runs resume` (`argo suspend`).
    Suspend {
        /// Run: its uid, its workflow name, or the first 8+ characters of its uid.
        #[arg(value_parser = parse_value::<RunId>)]
        run_id: RunId,
    },
    /// Resume a suspended run: its `suspend` steps waiting for a resume, and a workflow
    /// submitted with `spec.suspend: true`, go on (`argo resume`).
    Resume {
        /// Run: its uid, its workflow name, or the first 8+ characters of its uid.
        #[arg(value_parser = parse_value::<RunId>)]
        run_id: RunId,
    },
    /// Terminate a run: everything ends at once, exit handlers do not run (`argo terminate`).
    Terminate {
        /// Run: its uid, its workflow name, or the first 8+ characters of its uid.
        #[arg(value_parser = parse_value::<RunId>)]
        run_id: RunId,
    },
}

pub async fn run(context: &Context, args: RunsArgs) -> anyhow::Result<()> {
    let project = &context.project;
    match args.command {
        RunsCommand::List(args) => super::run_list::list_runs(context, args).await,
        RunsCommand::Show { run_id } => show_run(context, project, &run_id).await,
        RunsCommand::Watch { run_id, poll } => {
            // The server resolves a workflow name or uid prefix; the watch polls by uid.
            let run = context.client.get_run(project, &run_id).await?;
            watch::watch_run(context, project, &run.run_id, poll).await
        }
        RunsCommand::Resubmit(args) => super::resubmit::resubmit(context, args).await,
        RunsCommand::Logs {
            run_id,
            follow,
            node,
        } if follow || node.is_some() => {
            let node = node.as_deref();
            super::run_logs::print_node_logs(context, project, &run_id, node, follow).await
        }
        RunsCommand::Logs { run_id, .. } => show_logs(context, project, &run_id).await,
        RunsCommand::Stop { run_id } => stop_run(context, project, &run_id, StopMode::Stop).await,
        RunsCommand::Resume { run_id } => resume_run(context, project, &run_id).await,
        RunsCommand::Suspend { run_id } => suspend_run(context, project, &run_id).await,
        RunsCommand::Terminate { run_id } => {
            stop_run(context, project, &run_id, StopMode::Terminate).await
        }
    }
}

async fn stop_run(
    context: &Context,
    project: &ProjectName,
    run_id: &RunId,
    mode: StopMode,
) -> anyhow::Result<()> {
    let run = context.client.stop_run(project, run_id, mode).await?;
    if context.json() {
        return print_json(&run);
    }
    let action = mode.verb();
    println!(
        "asked the orchestrator to {action} run {} ({})",
        run.run_id, run.name
    );
    hint(&format!(
        "follow it with `polyphemus runs watch {}`",
        run.run_id
    ));
    Ok(())
}

async fn suspend_run(
    context: &Context,
    project: &ProjectName,
    run_id: &RunId,
) -> anyhow::Result<()> {
    let run = context.client.suspend_run(project, run_id).await?;
    if context.json() {
        return print_json(&run);
    }
    println!("suspended run {} ({})", run.run_id, run.name);
    hint(&format!(
        "steps already running go on; `polyphemus runs resume {}` lets the rest start",
        run.run_id
    ));
    Ok(())
}

async fn resume_run(
    context: &Context,
    project: &ProjectName,
    run_id: &RunId,
) -> anyhow::Result<()> {
    let run = context.client.resume_run(project, run_id).await?;
    if context.json() {
        return print_json(&run);
    }
    println!("resumed run {} ({})", run.run_id, run.name);
    hint(&format!(
        "follow it with `polyphemus runs watch {}`",
        run.run_id
    ));
    Ok(())
}

/// The run's metadata, or `None` while the orchestrator has not reported.
pub(super) async fn find_metadata(
    context: &Context,
    project: &ProjectName,
    run_id: &RunId,
) -> anyhow::Result<Option<RunMetadata>> {
    match context.client.get_run_metadata(project, run_id).await {
        Ok(metadata) => Ok(Some(metadata)),
        Err(error) if error.is_not_found() => Ok(None),
        Err(error) => Err(error.into()),
    }
}

async fn show_run(context: &Context, project: &ProjectName, run_id: &RunId) -> anyhow::Result<()> {
    let run = context.client.get_run(project, run_id).await?;
    let metadata = find_metadata(context, project, &run.run_id).await?;
    print_run_and_metadata(context, &run, metadata.as_ref())
}

/// `runs show`: the run and its metadata as tables, or as one JSON object.
pub(super) fn print_run_and_metadata(
    context: &Context,
    run: &Run,
    metadata: Option<&RunMetadata>,
) -> anyhow::Result<()> {
    if context.json() {
        let mut value = serde_json::to_value(run).context("encoding the run")?;
        if let Some(object) = value.as_object_mut() {
            object.insert("metadata".to_owned(), json!(metadata));
        }
        return print_json(&value);
    }
    print_run(run, metadata)
}

fn print_run(run: &Run, metadata: Option<&RunMetadata>) -> anyhow::Result<()> {
    if let Some(failure) = metadata.and_then(|m| m.failure.as_deref()) {
        emit(&format!("failed: {failure}\n"))?;
    }
    let mut details = new_details();
    details.add_row(["run id", run.run_id.as_str()]);
    details.add_row(["name", &run.name]);
    details.add_row([
        "config",
        &format!("{} version {}", run.config_id, run.version_number),
    ]);
    details.add_row(["created", &format_time(Some(run.created_at))]);
    details.add_row(["updated", &format_time(Some(run.updated_at))]);
    match metadata {
        Some(metadata) => {
            details.add_row([
                Cell::new("phase"),
                state_cell(metadata.report.phase.as_str()),
            ]);
            details.add_row(["started", &format_time(metadata.report.started_at)]);
            details.add_row(["finished", &format_time(metadata.report.finished_at)]);
            let duration = metadata.duration_s.map(|s| format!("{s:.1}s"));
            details.add_row(["duration", &format_or_dash(duration)]);
            details.add_row(["retries", &metadata.retries.to_string()]);
            if !metadata.failed_nodes.is_empty() {
                details.add_row(["failed nodes", &metadata.failed_nodes.join(", ")]);
            }
            if let Some(message) = &metadata.report.message {
                details.add_row(["message", message]);
            }
            if metadata.report.is_suspended() {
                let resume = format!(
                    "{WAITING_FOR_RESUME}: polyphemus runs resume {}",
                    run.run_id
                );
                details.add_row(["suspended", &resume]);
            }
        }
        None => {
            details.add_row(["phase", "- (no metadata from the orchestrator yet)"]);
        }
    }
    let lines = run.output.lines().count();
    let output = if let Some(at) = run.output_pruned_at {
        format!(
            "removed by the retention policy on {}",
            format_time(Some(at))
        )
    } else if lines == 0 {
        "-".to_owned()
    } else {
        format!("{lines} lines (polyphemus runs logs {})", run.run_id)
    };
    details.add_row(["output", &output]);
    print_table(&details)?;
    if run.state.as_object().is_some_and(|s| !s.is_empty()) {
        emit("\nstate:")?;
        emit(&format_json(&run.state))?;
    }
    if let Some(metadata) = metadata.filter(|m| !m.report.nodes.is_empty()) {
        emit("\nnodes:")?;
        let mut table = new_table(["NODE", "TYPE", "PHASE", "DURATION", "RETRIES", "MESSAGE"]);
        for entry in metadata.report.tree() {
            let node = entry.node;
            let name = node.display_name.as_deref().unwrap_or(&node.name);
            let took = match (node.started_at, node.finished_at) {
                (Some(start), Some(end)) => Some(format!(
                    "{:.1}s",
                    (end - start).num_milliseconds() as f64 / 1000.0
                )),
                _ => None,
            };
            table.add_row([
                Cell::new(format!("{}{name}", "  ".repeat(entry.depth))),
                Cell::new(&node.node_type),
                state_cell(node.phase.as_str()),
                Cell::new(format_or_dash(took)),
                Cell::new(format_or_dash(node.retries)),
                Cell::new(format_or_dash(
                    node.message
                        .as_deref()
                        .or(node.waits_for_resume().then_some(WAITING_FOR_RESUME)),
                )),
            ]);
        }
        print_table(&table)?;
    }
    Ok(())
}

async fn show_logs(context: &Context, project: &ProjectName, run_id: &RunId) -> anyhow::Result<()> {
    let run = context.client.get_run(project, run_id).await?;
    if context.json() {
        return print_json(&json!({"run_id": run.run_id, "output": run.output}));
    }
    if let Some(at) = run.output_pruned_at {
        hint(&format!(
            "the output of run {run_id} was removed by the retention policy on {}",
            format_time(Some(at))
        ));
        return Ok(());
    }
    if run.output.is_empty() {
        hint(&format!("run {run_id} has no output yet"));
        return Ok(());
    }
    emit(&run.output)
}
