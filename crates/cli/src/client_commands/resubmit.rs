//! `polyphemus runs resubmit`: a new run of a run's config version with the same params.

use super::input::parse_interval;
use super::output::{emit, hint, print_json};
use super::watch::watch_run;
use super::{parse_value, Context};
use clap::Args;
use polyphemus_model::{ResubmitRequest, RunId};

#[derive(Debug, Args)]
pub struct ResubmitArgs {
    /// Run: its uid, its workflow name, or the first 8+ characters of its uid.
    #[arg(value_parser = parse_value::<RunId>)]
    run_id: RunId,
    /// Wait until the new run ends and show it; exit non-zero unless it succeeded.
    #[arg(long)]
    watch: bool,
    /// With --watch, how often to ask the server.
    #[arg(long, default_value = "2s", value_parser = parse_interval, requires = "watch")]
    poll: i64,
    /// Resubmit even while a run of the config is still active.
    #[arg(long)]
    force: bool,
}

pub async fn resubmit(context: &Context, args: ResubmitArgs) -> anyhow::Result<()> {
    let body = ResubmitRequest { force: args.force };
    let run = context
        .client
        .resubmit_run(&context.project, &args.run_id, &body)
        .await?;
    if args.watch {
        hint(&format!(
            "resubmitted {} as run {}",
            args.run_id, run.run_id
        ));
        return watch_run(context, &context.project, &run.run_id, args.poll).await;
    }
    if context.json() {
        return print_json(&run);
    }
    emit(&format!(
        "resubmitted {} as run {} ({}) of config {} version {}; follow it with \
         `polyphemus runs show {}`",
        args.run_id, run.run_id, run.name, run.config_id, run.version_number, run.run_id
    ))
}
