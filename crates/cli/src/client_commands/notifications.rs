//! `polyphemus notifications list|add|remove|test`: where a project's alerts go. A channel's
//! settings (URL, signing secret, SMTP credentials) are read from a JSON file or stdin, so
//! they stay out of shell history, and are never printed.

use super::input::read_json;
use super::output::{emit, new_table, print_json, print_table};
use super::Context;
use anyhow::Context as _;
use clap::{Args, Subcommand};
use polyphemus_model::{AlertEvent, ChannelSettings, NewChannel};

#[derive(Debug, Args)]
pub struct NotificationsArgs {
    #[command(subcommand)]
    command: NotificationsCommand,
}

#[derive(Debug, Subcommand)]
enum NotificationsCommand {
    /// List the project's channels and what they are told about.
    List,
    /// Add a channel. SETTINGS is a JSON file (or `-` for stdin), one of:
    /// {"kind": "slack", "url": "https://hooks.slack.com/…"},
    /// {"kind": "webhook", "url": "…", "secret": "…"} (bodies signed with HMAC-SHA256),
    /// {"kind": "email", "smtp_host": "…", "smtp_port": 587, "username": "…", "password": "…",
    /// "from": "…", "to": ["…"]}.
    Add {
        /// Unique in the project: letters, digits, '.', '_', '-'.
        name: String,
        /// What to tell it: run_failed, schedule_paused, run_recovered, run_overdue (comma-separated).
        #[arg(long, value_delimiter = ',', required = true, value_parser = parse_event)]
        events: Vec<AlertEvent>,
        /// JSON file with the channel's settings, or `-` for stdin.
        #[arg(long, value_name = "FILE|-")]
        settings: String,
    },
    /// Remove a channel.
    Remove {
        /// Channel id (the ID column of `notifications list`).
        id: i64,
    },
    /// Send a test alert through a channel now and say how it went.
    Test {
        /// Channel id (the ID column of `notifications list`).
        id: i64,
    },
}

fn parse_event(text: &str) -> Result<AlertEvent, String> {
    serde_json::from_value(serde_json::Value::String(text.trim().to_owned())).map_err(|_| {
        format!("{text:?} is not an event: use run_failed, schedule_paused, run_recovered or run_overdue")
    })
}

pub async fn run(context: &Context, args: NotificationsArgs) -> anyhow::Result<()> {
    let project = &context.project;
    let client = &context.client;
    match args.command {
        NotificationsCommand::List => {
            let channels = client.list_channels(project).await?;
            if context.json() {
                return print_json(&channels);
            }
            let mut table = new_table(["ID", "NAME", "KIND", "EVENTS", "TARGET"]);
            for channel in &channels {
                let events: Vec<&str> = channel.events.iter().map(|e| e.as_str()).collect();
                table.add_row([
                    channel.id.to_string(),
                    channel.name.clone(),
                    channel.kind.clone(),
                    events.join(","),
                    channel.target.clone(),
                ]);
            }
            print_table(&table)
        }
        NotificationsCommand::Add {
            name,
            events,
            settings,
        } => {
            let settings: ChannelSettings =
                serde_json::from_value(read_json(&settings, "--settings")?).context(
                    "--settings: expected {\"kind\": \"slack\" | \"webhook\" | \"email\", …}",
                )?;
            let channel = client
                .create_channel(
                    project,
                    &NewChannel {
                        name,
                        events,
                        settings,
                    },
                )
                .await?;
            if context.json() {
                return print_json(&channel);
            }
            emit(&format!(
                "added channel {} ({}): {}",
                channel.id, channel.name, channel.target
            ))
        }
        NotificationsCommand::Remove { id } => {
            client.delete_channel(project, id).await?;
            emit(&format!("removed channel {id}"))
        }
        NotificationsCommand::Test { id } => {
            let test = client.test_channel(project, id).await?;
            if context.json() {
                return print_json(&test);
            }
            match test.error {
                None => emit(&format!("channel {id}: test alert delivered")),
                Some(why) => anyhow::bail!("channel {id}: the test alert was not delivered: {why}"),
            }
        }
    }
}
