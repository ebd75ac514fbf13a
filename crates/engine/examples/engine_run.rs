//! `cargo run -p polyphemus-engine --example engine_run -- -f wf.yaml [-p k=v] [-o json] [--watch]`

use clap::Parser;
use polyphemus_engine::cli::{run_command, EngineRunArgs, OutputFormat};

#[derive(Parser)]
#[command(
    name = "engine_run",
    about = "Run an Argo Workflow YAML file with the local engine"
)]
struct Cli {
    #[command(flatten)]
    run: EngineRunArgs,
    /// `json` prints the final Workflow object, `text` a node tree.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = OutputFormat::Text)]
    output: OutputFormat,
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let mut run = cli.run;
    run.output = cli.output;
    let code = run_command(run).await;
    std::process::exit(code);
}
