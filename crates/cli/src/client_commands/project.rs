//! `polyphemus status` (the project dashboard) and `polyphemus events` (the event log).

use super::output::{
    format_or_dash, format_time, hint, new_table, print_json, print_table, state_cell,
};
use super::{parse_value, Context};
use clap::Args;
use comfy_table::Cell;
use polyphemus_client::ListEvents;
use polyphemus_model::{ConfigId, RunId, RunPhase};

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Also list archived configs (hidden by default).
    #[arg(long)]
    archived: bool,
}

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Only events of this config.
    #[arg(long, value_parser = parse_value::<ConfigId>)]
    config_id: Option<ConfigId>,
    /// How many events, newest first.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i64).range(1..=500))]
    limit: i64,
    /// Every event, following all pages.
    #[arg(long, conflicts_with = "limit")]
    all: bool,
}

pub async fn show_status(context: &Context, args: StatusArgs) -> anyhow::Result<()> {
    let rows = if args.archived {
        let client = &context.client;
        client
            .get_project_status_with_archived(&context.project)
            .await?
    } else {
        context.client.get_project_status(&context.project).await?
    };
    if context.json() {
        return print_json(&rows);
    }
    if rows.is_empty() {
        hint("no configs in this project yet");
        return Ok(());
    }
    let mut table = new_table([
        "CONFIG",
        "VERSION",
        "TYPE",
        "NAME",
        "STATE",
        "LAST RUN",
        "PHASE",
        "LAST SUCCESS",
        "NEXT RUN",
    ]);
    for row in &rows {
        let last_run = row.last_run.as_ref();
        table.add_row([
            Cell::new(row.config_id),
            Cell::new(row.version_number),
            Cell::new(&row.workflow_type),
            Cell::new(&row.workflow_name),
            state_cell(match row.archived_at {
                Some(_) => "archived",
                None => row.pipeline_state.as_str(),
            }),
            Cell::new(format_or_dash(last_run.map(|r| r.run_id.as_str()))),
            Cell::new(format_or_dash(
                last_run.and_then(|r| r.phase.map(RunPhase::as_str)),
            )),
            Cell::new(format_time(row.last_success_at)),
            Cell::new(format_time(row.next_run_at)),
        ]);
    }
    print_table(&table)
}

pub async fn list_events(context: &Context, args: EventsArgs) -> anyhow::Result<()> {
    let project = &context.project;
    let mut query = ListEvents {
        config_id: args.config_id,
        limit: Some(if args.all { 500 } else { args.limit }),
        cursor: None,
    };
    let mut events = Vec::new();
    loop {
        let page = context.client.list_events(project, &query).await?;
        events.extend(page.items);
        match page.next_cursor {
            Some(cursor) if args.all => query.cursor = Some(cursor),
            Some(_) => {
                hint("more events: see them all with --all");
                break;
            }
            None => break,
        }
    }
    if context.json() {
        return print_json(&events);
    }
    if events.is_empty() {
        hint(&format!("no events in project {project}"));
        return Ok(());
    }
    let mut table = new_table([
        "ID", "AT", "ACTOR", "ACTION", "CONFIG", "VERSION", "RUN", "DETAIL",
    ]);
    for event in &events {
        let detail = match &event.detail {
            serde_json::Value::Null => "-".to_owned(),
            serde_json::Value::Object(map) if map.is_empty() => "-".to_owned(),
            other => other.to_string(),
        };
        table.add_row([
            event.id.to_string(),
            format_time(Some(event.at)),
            event.actor.clone(),
            event.action.clone(),
            format_or_dash(event.config_id),
            format_or_dash(event.version_number),
            format_or_dash(event.run_id.as_ref().map(RunId::as_str)),
            detail,
        ]);
    }
    print_table(&table)
}
