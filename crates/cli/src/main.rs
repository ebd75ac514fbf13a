//! The `polyphemus` binary: server, store administration, the local engine and the API client.

mod bench;
mod client_commands;
mod server;
mod settings;
mod step_commands;

use clap::{CommandFactory, Parser, Subcommand};
use settings::GlobalArgs;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "polyphemus",
    version,
    about = "Control plane for research ETL pipelines"
)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Migrate the store and serve the HTTP API (embedded default: SQLite in the data dir).
    Serve(Box<server::ServeArgs>),
    /// Run the scheduler alone: launch every due runtime config once per due time.
    Scheduler(Box<server::SchedulerCommandArgs>),
    /// Apply store migrations and exit.
    Migrate,
    /// Create, list or revoke API tokens (talks to the store directly).
    #[command(subcommand)]
    Token(server::TokenCommand),
    /// Remove ended runs, outputs and run directories as the projects' retention policies say
    /// (talks to the store and data dir directly); `--dry-run` says what would go.
    Prune(server::PruneArgs),
    /// Run one ETL job of a workflow (what a workflow step executes).
    #[command(name = "run_job")]
    RunJob(step_commands::RunJobArgs),
    /// The onExit hook: record the orchestrator's status and logs of a run.
    #[command(name = "write_run_metadata")]
    WriteRunMetadata(step_commands::WriteRunMetadataArgs),
    /// Print benchmark figures (see README, Performance).
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Run Argo workflows on this machine with the local engine, no server needed.
    #[command(subcommand)]
    Engine(EngineCommand),
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    #[command(flatten)]
    Client(client_commands::ClientCommand),
}

#[derive(Debug, Subcommand)]
enum EngineCommand {
    /// Run a Workflow YAML to completion; exits 0 only if it Succeeded.
    Run(polyphemus_engine::cli::EngineRunArgs),
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Run-state merges/s (API vs direct SQL), previous_state and status latency, per store.
    Api(bench::BenchApiArgs),
    /// What sftp_discover's "copied before?" check costs with 10 and with 100,000 earlier runs.
    Ledger(bench::BenchLedgerArgs),
    /// Whether a state merge slows as the run's state grows: first vs last 1,000 of 10,000 keys.
    StateMerge(bench::BenchStateMergeArgs),
    /// An idle server on the embedded default: time to ready, resident memory and what holds it.
    Idle(bench::BenchIdleArgs),
    /// Status page, run list, previous_state and the scheduler's claim at 1% and 100% of a
    /// large history (10,000 configs, 1,000,000 runs by default).
    Scale(bench::BenchScaleArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let code = if error.use_stderr() { 2 } else { 0 };
            let _ = error.print();
            return ExitCode::from(code);
        }
    };
    if matches!(cli.command, Command::Serve(_) | Command::Scheduler(_)) {
        settings::scrub_environment();
    }
    settings::init_tracing(&cli.command_name(), cli.log_format());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {}", one_line(&error));
            ExitCode::from(1)
        }
    }
}

impl Cli {
    fn log_format(&self) -> settings::LogFormat {
        match &self.command {
            Command::Serve(args) => args.log_format,
            Command::Scheduler(args) => args.log_format,
            _ => settings::LogFormat::Text,
        }
    }

    fn command_name(&self) -> String {
        match &self.command {
            Command::Serve(_) => "serve".into(),
            Command::Bench(_) => "bench".into(),
            _ => "client".into(),
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => server::serve(&cli.global, *args).await?,
        Command::Migrate => server::migrate(&cli.global).await?,
        Command::Scheduler(args) => server::scheduler(&cli.global, *args).await?,
        Command::Token(command) => server::token(&cli.global, command).await?,
        Command::Prune(args) => server::prune(&cli.global, args).await?,
        Command::Bench(BenchCommand::Api(args)) => bench::bench_api(args).await?,
        Command::Bench(BenchCommand::Ledger(args)) => bench::bench_ledger(args).await?,
        Command::Bench(BenchCommand::StateMerge(args)) => bench::bench_state_merge(args).await?,
        Command::Bench(BenchCommand::Idle(args)) => bench::bench_idle(args).await?,
        Command::Bench(BenchCommand::Scale(args)) => bench::bench_scale(args).await?,
        Command::RunJob(args) => return step_commands::run_job(&cli.global, args).await,
        Command::WriteRunMetadata(args) => {
            return step_commands::write_run_metadata(&cli.global, args).await
        }
        Command::Engine(EngineCommand::Run(mut args)) => {
            if cli.global.output == settings::OutputFormat::Json {
                args.output = polyphemus_engine::cli::OutputFormat::Json;
            }
            let code = polyphemus_engine::cli::run_command(args).await;
            return Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)));
        }
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "polyphemus",
                &mut std::io::stdout(),
            );
        }
        Command::Client(command) => return client_commands::run(&cli.global, command).await,
    }
    Ok(ExitCode::SUCCESS)
}

/// An error and its causes on one line: `what: why: root cause`.
fn one_line(error: &anyhow::Error) -> String {
    error
        .chain()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
        .replace('\n', " ")
}
