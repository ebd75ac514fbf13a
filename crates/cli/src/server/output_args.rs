//! `serve`'s and `scheduler`'s ceiling on a run's output.

use clap::Args;
use polyphemus_model::OutputLimit;

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// The most bytes a run's `output` keeps (appends through the API and the final copy of
    /// the steps' logs): what goes past it is dropped and the output ends with a line saying
    /// so. The steps' own logs keep everything.
    #[arg(long, env = "POLYPHEMUS_MAX_RUN_OUTPUT", default_value_t = OutputLimit::DEFAULT.bytes(),
          value_parser = clap::value_parser!(u64).range(OutputLimit::MIN..=OutputLimit::MAX))]
    pub max_run_output: u64,
}

impl OutputArgs {
    pub fn limit(&self) -> anyhow::Result<OutputLimit> {
        Ok(OutputLimit::new(self.max_run_output)?)
    }
}
