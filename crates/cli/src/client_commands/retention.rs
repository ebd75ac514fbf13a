//! `polyphemus retention show|set`: a project's retention policy (what `polyphemus prune` and
//! serve's background pruning may remove).

use super::output::{format_time, new_details, print_json, print_table};
use super::Context;
use clap::{ArgGroup, Args, Subcommand};
use polyphemus_model::{PutRetentionPolicy, RetentionPolicy};
use std::fmt::Display;

#[derive(Debug, Args)]
pub struct RetentionArgs {
    #[command(subcommand)]
    command: RetentionCommand,
}

#[derive(Debug, Subcommand)]
enum RetentionCommand {
    /// Show the project's retention policy (a project that never set one keeps everything).
    Show,
    /// Change the given parts of the project's retention policy (project admin); `forever`
    /// (or `none`) keeps that part forever.
    ///
    /// Unfinished runs, run metadata and, for each config and state key, the run holding the
    /// latest value are always kept.
    #[command(group(ArgGroup::new("change").required(true).multiple(true)
        .args(["keep_runs_days", "keep_output_days", "successful_runs_history_limit",
               "failed_runs_history_limit"])))]
    Set {
        /// Delete ended runs this many days after they ended.
        #[arg(long, value_name = "DAYS|forever", value_parser = parse_count, allow_hyphen_values = true)]
        keep_runs_days: Option<Count>,
        /// Empty the output of runs this many days after they ended (the run stays).
        #[arg(long, value_name = "DAYS|forever", value_parser = parse_count, allow_hyphen_values = true)]
        keep_output_days: Option<Count>,
        /// Keep this many succeeded runs of each config, newest first.
        #[arg(long, value_name = "N|forever", value_parser = parse_count, allow_hyphen_values = true)]
        successful_runs_history_limit: Option<Count>,
        /// Keep this many failed (Failed or Error) runs of each config, newest first.
        #[arg(long, value_name = "N|forever", value_parser = parse_count, allow_hyphen_values = true)]
        failed_runs_history_limit: Option<Count>,
    },
}

/// A number of days or runs to keep; `None`: keep forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Count(Option<i64>);

/// A whole number from 0, or `forever`/`none` (keep forever).
fn parse_count(text: &str) -> Result<Count, String> {
    match text.trim() {
        "forever" | "none" => Ok(Count(None)),
        number => number
            .parse::<u32>()
            .map(|count| Count(Some(i64::from(count))))
            .map_err(|_| "give a whole number from 0, or `forever`".to_owned()),
    }
}

pub async fn run(context: &Context, args: RetentionArgs) -> anyhow::Result<()> {
    let project = &context.project;
    let policy = match args.command {
        RetentionCommand::Show => context.client.get_retention(project).await?,
        RetentionCommand::Set {
            keep_runs_days,
            keep_output_days,
            successful_runs_history_limit,
            failed_runs_history_limit,
        } => {
            let given = |count: Option<Count>| count.map(|Count(value)| value);
            let body = PutRetentionPolicy {
                keep_runs_days: given(keep_runs_days),
                keep_output_days: given(keep_output_days),
                successful_runs_history_limit: given(successful_runs_history_limit),
                failed_runs_history_limit: given(failed_runs_history_limit),
            };
            context.client.put_retention(project, &body).await?
        }
    };
    print_policy(context, &policy)
}

fn print_policy(context: &Context, policy: &RetentionPolicy) -> anyhow::Result<()> {
    if context.json() {
        return print_json(policy);
    }
    let mut details = new_details();
    details.add_row(["project", policy.project_name.as_str()]);
    details.add_row([
        "keep runs",
        &kept(policy.keep_runs_days, "days after they ended"),
    ]);
    details.add_row([
        "keep output",
        &kept(policy.keep_output_days, "days after its run ended"),
    ]);
    details.add_row([
        "succeeded runs kept",
        &kept(policy.successful_runs_history_limit, "per config"),
    ]);
    details.add_row([
        "failed runs kept",
        &kept(policy.failed_runs_history_limit, "per config"),
    ]);
    details.add_row(["updated", &format_time(policy.updated_at)]);
    print_table(&details)
}

fn kept<T: Display>(value: Option<T>, unit: &str) -> String {
    match value {
        Some(value) => format!("{value} {unit}"),
        None => "forever".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_whole_numbers_or_forever() {
        assert_eq!(parse_count("30"), Ok(Count(Some(30))));
        assert_eq!(parse_count("0"), Ok(Count(Some(0))));
        assert_eq!(parse_count("forever"), Ok(Count(None)));
        assert_eq!(parse_count("none"), Ok(Count(None)));
        assert!(parse_count("-1").is_err());
        assert!(parse_count("1.5").is_err());
    }
}
