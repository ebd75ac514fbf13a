//! `polyphemus runtime show|set` (schedule, disabled, runtime params) and `polyphemus launch`.

use super::input::{format_interval, parse_interval, read_json};
use super::output::{
    emit, format_json, format_or_dash, format_time, hint, new_details, print_json, print_table,
};
use super::watch::watch_run;
use super::{parse_value, Context};
use clap::{ArgGroup, Args, Subcommand};
use polyphemus_model::{
    ConcurrencyPolicy, ConfigId, CronExpr, LaunchRequest, PutRuntimeConfig, RuntimeConfig,
    VersionNumber,
};

#[derive(Debug, Args)]
pub struct RuntimeArgs {
    #[command(subcommand)]
    command: RuntimeCommand,
}

#[derive(Debug, Subcommand)]
enum RuntimeCommand {
    /// Show a config's schedule, disabled flag, next run and runtime params.
    Show {
        /// Config id (the ID column of `polyphemus configs list`).
        #[arg(value_parser = parse_value::<ConfigId>)]
        config_id: ConfigId,
    },
    /// Change the given fields of a config's runtime config; `none` clears a schedule field.
    ///
    /// A config runs either every --interval or on a --cron schedule: setting one clears the
    /// other.
    #[command(group(ArgGroup::new("change").required(true).multiple(true)
        .args(["interval", "cron", "timezone", "disabled", "params", "concurrency_policy",
               "starting_deadline", "pause_after_failures", "expected_duration"])))]
    Set {
        /// Config id (the ID column of `polyphemus configs list`).
        #[arg(value_parser = parse_value::<ConfigId>)]
        config_id: ConfigId,
        /// Run every so often: 90s, 30m, 1h, 1d, 1h30m; `none` clears it.
        #[arg(long, value_name = "DURATION|none", value_parser = parse_interval_setting)]
        interval: Option<Setting<i64>>,
        /// Cron expression (e.g. "0 3 * * *"); `none` clears it.
        #[arg(long, value_name = "EXPR|none", value_parser = parse_text_setting)]
        cron: Option<Setting<String>>,
        /// IANA time zone the cron expression is read in (e.g. Europe/Berlin); `none` for UTC.
        #[arg(long, value_name = "TZ|none", value_parser = parse_text_setting)]
        timezone: Option<Setting<String>>,
        /// Pause (true) or resume (false) scheduled runs.
        #[arg(long, value_name = "true|false", action = clap::ArgAction::Set)]
        disabled: Option<bool>,
        /// JSON file with the runtime params, or `-` for stdin.
        #[arg(long, value_name = "FILE|-")]
        params: Option<String>,
        /// What a due time does while a run is active: Forbid (skip it), Allow (overlap) or
        /// Replace (stop the active run, then launch).
        #[arg(long, value_name = "POLICY", value_parser = parse_value::<ConcurrencyPolicy>)]
        concurrency_policy: Option<ConcurrencyPolicy>,
        /// Skip a due time missed by more than this (e.g. 10m) instead of running it late;
        /// `none` runs it however late.
        #[arg(long, value_name = "DURATION|none", value_parser = parse_interval_setting)]
        starting_deadline: Option<Setting<i64>>,
        /// Pause the schedule after this many failed runs in a row (0: never).
        #[arg(long, value_name = "N")]
        pause_after_failures: Option<i32>,
        /// A run still going after this long (e.g. 2h) is overdue: channels told about
        /// run_overdue hear of it once; `none` clears it.
        #[arg(long, value_name = "DURATION|none", value_parser = parse_interval_setting)]
        expected_duration: Option<Setting<i64>>,
    },
    /// Resume a schedule that paused itself after failed runs.
    Resume {
        /// Config id (the ID column of `polyphemus configs list`).
        #[arg(value_parser = parse_value::<ConfigId>)]
        config_id: ConfigId,
    },
}

/// A value to store, or `none` to clear it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Setting<T> {
    Set(T),
    Clear,
}

impl<T> Setting<T> {
    fn into_option(self) -> Option<T> {
        match self {
            Setting::Set(value) => Some(value),
            Setting::Clear => None,
        }
    }
}

fn is_clear(text: &str) -> bool {
    matches!(text.trim(), "none" | "off" | "")
}

fn parse_interval_setting(text: &str) -> Result<Setting<i64>, String> {
    if is_clear(text) {
        return Ok(Setting::Clear);
    }
    parse_interval(text).map(Setting::Set)
}

fn parse_text_setting(text: &str) -> Result<Setting<String>, String> {
    if is_clear(text) {
        return Ok(Setting::Clear);
    }
    Ok(Setting::Set(text.trim().to_owned()))
}

#[derive(Debug, Args)]
pub struct LaunchArgs {
    /// Config id (the ID column of `polyphemus configs list`).
    #[arg(value_parser = parse_value::<ConfigId>)]
    config_id: ConfigId,
    /// Version to run (default: the latest).
    #[arg(long, value_parser = parse_value::<VersionNumber>)]
    version_number: Option<VersionNumber>,
    /// Wait until the run ends and show it; exit non-zero unless it succeeded.
    #[arg(long)]
    watch: bool,
    /// With --watch, how often to ask the server.
    #[arg(long, default_value = "2s", value_parser = parse_interval, requires = "watch")]
    poll: i64,
    /// Launch even while a run of the config is still active.
    #[arg(long)]
    force: bool,
}

pub async fn run(context: &Context, args: RuntimeArgs) -> anyhow::Result<()> {
    let project = &context.project;
    match args.command {
        RuntimeCommand::Show { config_id } => {
            let runtime = context.client.get_runtime(project, config_id).await?;
            print_runtime(context, &runtime)
        }
        RuntimeCommand::Set {
            config_id,
            interval,
            cron,
            timezone,
            disabled,
            params,
            concurrency_policy,
            starting_deadline,
            pause_after_failures,
            expected_duration,
        } => {
            let (interval, cron) = keep_one_schedule(interval, cron);
            let body = PutRuntimeConfig {
                run_interval_s: interval.map(Setting::into_option),
                cron: cron.map(Setting::into_option),
                timezone: timezone.map(Setting::into_option),
                disabled,
                config: params.map(|p| read_json(&p, "--params")).transpose()?,
                concurrency_policy,
                starting_deadline_s: starting_deadline.map(Setting::into_option),
                pause_after_failures,
                expected_duration_s: expected_duration.map(Setting::into_option),
            };
            let runtime = context
                .client
                .put_runtime(project, config_id, &body)
                .await?;
            print_runtime(context, &runtime)
        }
        RuntimeCommand::Resume { config_id } => {
            let runtime = context.client.resume_schedule(project, config_id).await?;
            print_runtime(context, &runtime)
        }
    }
}

/// A config runs on an interval or on a cron expression: setting one clears the other.
fn keep_one_schedule(
    interval: Option<Setting<i64>>,
    cron: Option<Setting<String>>,
) -> (Option<Setting<i64>>, Option<Setting<String>>) {
    match (interval, cron) {
        (Some(Setting::Set(seconds)), None) => (Some(Setting::Set(seconds)), Some(Setting::Clear)),
        (None, Some(Setting::Set(expression))) => {
            (Some(Setting::Clear), Some(Setting::Set(expression)))
        }
        other => other,
    }
}

fn print_runtime(context: &Context, runtime: &RuntimeConfig) -> anyhow::Result<()> {
    if context.json() {
        return print_json(runtime);
    }
    let mut details = new_details();
    details.add_row(["config id", &runtime.config_id.to_string()]);
    details.add_row([
        "interval",
        &format_or_dash(runtime.run_interval_s.map(format_interval)),
    ]);
    details.add_row([
        "cron",
        &format_or_dash(runtime.cron.as_ref().map(CronExpr::as_str)),
    ]);
    details.add_row(["timezone", runtime.timezone.as_deref().unwrap_or("UTC")]);
    details.add_row(["disabled", &runtime.disabled.to_string()]);
    details.add_row(["concurrency", runtime.concurrency_policy.as_str()]);
    details.add_row([
        "starting deadline",
        &format_or_dash(runtime.starting_deadline_s.map(format_interval)),
    ]);
    details.add_row([
        "pause after",
        &match runtime.pause_after_failures {
            0 => "never".to_owned(),
            count => format!("{count} failed runs in a row"),
        },
    ]);
    details.add_row([
        "expected duration",
        &format_or_dash(runtime.expected_duration_s.map(format_interval)),
    ]);
    details.add_row([
        "paused",
        &format_or_dash(runtime.paused.as_ref().map(|pause| {
            format!(
                "since {}: {} ({}); `polyphemus runtime resume {}`",
                format_time(Some(pause.at)),
                pause.reason,
                pause
                    .run_ids
                    .iter()
                    .map(|id| id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                runtime.config_id
            )
        })),
    ]);
    details.add_row(["next run", &format_time(runtime.next_run_at)]);
    details.add_row(["updated", &format_time(runtime.updated_at)]);
    details.add_row(["params", &format_json(&runtime.config)]);
    print_table(&details)
}

pub async fn launch(context: &Context, args: LaunchArgs) -> anyhow::Result<()> {
    let body = LaunchRequest {
        version_number: args.version_number,
        force: args.force,
    };
    let run = context
        .client
        .launch_config(&context.project, args.config_id, &body)
        .await?;
    if args.watch {
        hint(&format!("launched run {}", run.run_id));
        return watch_run(context, &context.project, &run.run_id, args.poll).await;
    }
    if context.json() {
        return print_json(&run);
    }
    emit(&format!(
        "launched run {} ({}) of config {} version {}; follow it with `polyphemus runs show {}`",
        run.run_id, run.name, run.config_id, run.version_number, run.run_id
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_clears_and_durations_parse() {
        assert_eq!(parse_interval_setting("none"), Ok(Setting::Clear));
        assert_eq!(parse_interval_setting("1h"), Ok(Setting::Set(3600)));
        assert!(parse_interval_setting("soon").is_err());
        assert_eq!(
            parse_text_setting("0 3 * * *"),
            Ok(Setting::Set("0 3 * * *".to_owned()))
        );
        assert_eq!(parse_text_setting("off"), Ok(Setting::Clear));
    }

    #[test]
    fn setting_one_schedule_clears_the_other() {
        assert_eq!(
            keep_one_schedule(Some(Setting::Set(60)), None),
            (Some(Setting::Set(60)), Some(Setting::Clear))
        );
        let cron = Some(Setting::Set("0 3 * * *".to_owned()));
        assert_eq!(
            keep_one_schedule(None, cron.clone()),
            (Some(Setting::Clear), cron.clone())
        );
        assert_eq!(keep_one_schedule(None, None), (None, None));
        assert_eq!(
            keep_one_schedule(Some(Setting::Clear), cron.clone()),
            (Some(Setting::Clear), cron)
        );
    }
}
