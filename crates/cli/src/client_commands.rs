//! Client subcommands over the HTTP API (configs, secrets, runtime, runs, status, events,
//! retention, backfills).
//!
//! Each resource has its own module; they share the connection (`Context`), the `--project`
//! argument and the output helpers (tables by default, JSON with `--output json`).

mod backfills;
mod config_lifecycle;
mod configs;
mod diff;
mod input;
mod jobs;
mod notifications;
pub(crate) mod output;
mod packages;
mod project;
mod resubmit;
mod retention;
mod run_list;
mod run_logs;
mod runs;
mod runtime;
mod secrets;
mod submit;
mod watch;
mod workflows;

use crate::settings::{GlobalArgs, OutputFormat};
use anyhow::{anyhow, Context as _};
use clap::Subcommand;
use polyphemus_client::Client;
use polyphemus_model::{InvalidValue, ProjectName};
use std::process::ExitCode;
use std::str::FromStr;

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// List or show workflow manifests (the workflow types configs are made of); validate or
    /// export workflow packages.
    #[command(subcommand)]
    Workflows(workflows::WorkflowsCommand),
    /// List or show the ETL jobs run_job can run, with the config keys and secrets they read.
    #[command(subcommand)]
    Jobs(jobs::JobsCommand),
    /// List, show, create, update and compare versioned configs.
    Configs(configs::ConfigsArgs),
    /// Set or remove a config's secrets (values are never printed).
    Secrets(secrets::SecretsArgs),
    /// Show or set a config's schedule and runtime params.
    Runtime(runtime::RuntimeArgs),
    /// Run a config now (latest version unless given).
    Launch(runtime::LaunchArgs),
    /// Run an Argo workflow file for a config version, like `argo submit`.
    Submit(submit::SubmitArgs),
    /// List the project's runs, show one with its state and metadata, print its output.
    Runs(runs::RunsArgs),
    /// Show the project dashboard: every config's pipeline state, last and next run.
    Status(project::StatusArgs),
    /// Show the event log: who created, updated, launched what and when.
    Events(project::EventsArgs),
    /// List, add, remove or test where the project's alerts go (Slack, signed webhook, email).
    Notifications(notifications::NotificationsArgs),
    /// Show or set the project's retention policy (what `polyphemus prune` removes).
    Retention(retention::RetentionArgs),
    /// Backfill or rescan: run a config once per window of --from..--to, one after another,
    /// each with its window (`start_time`, `end_time`) in the run's params.
    Backfill(backfills::BackfillArgs),
    /// List, show, stop or resume a config's backfills.
    Backfills(backfills::BackfillsArgs),
}

/// Parses an argument into a type of the vocabulary; the message is only the reason, since
/// clap already names the argument and quotes the value.
pub(crate) fn parse_value<T>(value: &str) -> Result<T, String>
where
    T: FromStr<Err = InvalidValue>,
{
    value.parse().map_err(|error: InvalidValue| error.reason)
}

/// What every command needs: the connected client, the project and the output format.
pub struct Context {
    pub client: Client,
    pub project: ProjectName,
    pub output: OutputFormat,
}

impl Context {
    pub fn json(&self) -> bool {
        self.output == OutputFormat::Json
    }
}

pub async fn run(global: &GlobalArgs, command: ClientCommand) -> anyhow::Result<ExitCode> {
    if let ClientCommand::Workflows(local) = &command {
        if let Some(outcome) = packages::run_local(local) {
            return outcome;
        }
    }
    let context = Context {
        client: connect(global)?,
        project: global.project()?,
        output: global.output,
    };
    let outcome = match command {
        ClientCommand::Workflows(command) => workflows::run(&context, command).await,
        ClientCommand::Jobs(command) => jobs::run(&context, command).await,
        ClientCommand::Configs(args) => configs::run(&context, args).await,
        ClientCommand::Secrets(args) => secrets::run(&context, args).await,
        ClientCommand::Notifications(args) => notifications::run(&context, args).await,
        ClientCommand::Runtime(args) => runtime::run(&context, args).await,
        ClientCommand::Launch(args) => runtime::launch(&context, args).await,
        ClientCommand::Submit(args) => submit::submit(&context, args).await,
        ClientCommand::Runs(args) => runs::run(&context, args).await,
        ClientCommand::Status(args) => project::show_status(&context, args).await,
        ClientCommand::Events(args) => project::list_events(&context, args).await,
        ClientCommand::Retention(args) => retention::run(&context, args).await,
        ClientCommand::Backfill(args) => backfills::start(&context, args).await,
        ClientCommand::Backfills(args) => backfills::run(&context, args).await,
    };
    outcome
        .map(|()| ExitCode::SUCCESS)
        .map_err(|error| make_readable(error, &context.project))
}

/// The client for `--url`, with `--token`/`POLYPHEMUS_TOKEN` or the embedded default's admin
/// token file.
pub(crate) fn connect(global: &GlobalArgs) -> anyhow::Result<Client> {
    let token = match global.token.as_deref().map(str::trim) {
        Some(token) if !token.is_empty() => token.to_owned(),
        _ => read_admin_token(global)?,
    };
    Ok(Client::new(&global.url, Some(token))?)
}

fn read_admin_token(global: &GlobalArgs) -> anyhow::Result<String> {
    let path = global.admin_token_path();
    if !path.exists() {
        return Err(anyhow!(
            "no API token: pass --token or set POLYPHEMUS_TOKEN (an admin creates one with \
             `polyphemus token create --name NAME --project P --role editor`), or point \
             --data-dir at the server's data dir, where `polyphemus serve` writes admin.token \
             (looked for {})",
            path.display()
        ));
    }
    let token = std::fs::read_to_string(&path)
        .with_context(|| format!("reading the admin token {}", path.display()))?;
    let token = token.trim();
    if token.is_empty() {
        return Err(anyhow!("the admin token file {} is empty", path.display()));
    }
    Ok(token.to_owned())
}

/// Client errors as one line; a connection failure also says why (refused, timed out …), and
/// a 404 names the project it looked in.
fn make_readable(error: anyhow::Error, project: &ProjectName) -> anyhow::Error {
    use polyphemus_client::Error;
    let Some(client_error) = error.downcast_ref::<Error>() else {
        return error;
    };
    match client_error {
        Error::Connect { .. } | Error::Transport { .. } => {
            let cause = find_root_cause(client_error);
            anyhow!("{client_error} ({cause})")
        }
        Error::Api {
            status: 404,
            problem,
        } if !problem.detail.contains("project") => {
            anyhow!("{client_error} in project \"{project}\"")
        }
        Error::Api { status: 401, .. } => anyhow!(
            "{client_error} (check --token, POLYPHEMUS_TOKEN or the admin token file in --data-dir)"
        ),
        _ => error,
    }
}

fn find_root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    let text = cause.to_string();
    match text.find(" (os error") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}
