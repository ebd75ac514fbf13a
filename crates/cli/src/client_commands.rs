//! Client subcommands over the HTTP API (configs, secrets, runtime, runs, status, events).

use crate::settings::GlobalArgs;
use clap::Subcommand;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum ClientCommand {}

pub async fn run(_global: &GlobalArgs, command: ClientCommand) -> anyhow::Result<ExitCode> {
    match command {}
}
