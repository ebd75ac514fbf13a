//! `serve`'s and `scheduler`'s limits on runs: how much output a run keeps and how often a
//! schedule may fire.

use clap::Args;
use polyphemus_core::{Services, DEFAULT_MIN_INTERVAL_S};
use polyphemus_model::OutputLimit;

#[derive(Debug, Args)]
pub struct LimitArgs {
    /// The most bytes a run's `output` keeps (appends through the API and the final copy of
    /// the steps' logs): what goes past it is dropped and the output ends with a line saying
    /// so. The steps' own logs keep everything.
    #[arg(long, env = "POLYPHEMUS_MAX_RUN_OUTPUT", default_value_t = OutputLimit::DEFAULT.bytes(),
          value_parser = clap::value_parser!(u64).range(OutputLimit::MIN..=OutputLimit::MAX))]
    pub max_run_output: u64,
    /// The shortest `run_interval_s` a runtime config may set, in seconds; cron schedules
    /// that fire more often are refused too (422 naming the field).
    #[arg(long, env = "POLYPHEMUS_MIN_INTERVAL_S", default_value_t = DEFAULT_MIN_INTERVAL_S,
          value_parser = clap::value_parser!(i64).range(1..))]
    pub min_interval_s: i64,
}

impl LimitArgs {
    /// `services` with these limits.
    pub fn apply(&self, services: Services) -> anyhow::Result<Services> {
        Ok(services
            .with_output_limit(OutputLimit::new(self.max_run_output)?)
            .with_min_interval_s(self.min_interval_s))
    }
}
