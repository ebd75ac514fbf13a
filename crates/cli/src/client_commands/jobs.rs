//! `polyphemus jobs list|show NAME`: the ETL jobs the server's `run_job` can run, in any
//! workflow, with the config keys and secrets each reads.

use super::output::{emit, format_json, new_details, new_table, print_json, print_table};
use super::Context;
use anyhow::bail;
use clap::Subcommand;
use polyphemus_model::JobSpec;

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// List every job.
    List,
    /// Show one job: the config keys it reads (a JSON Schema fragment) and its secrets.
    Show {
        /// Job name, e.g. sftp_discover.
        name: String,
    },
}

pub async fn run(context: &Context, command: JobsCommand) -> anyhow::Result<()> {
    let jobs = context.client.list_jobs().await?;
    match command {
        JobsCommand::List => list_jobs(context, &jobs),
        JobsCommand::Show { name } => match jobs.iter().find(|job| job.name == name) {
            Some(job) => show_job(context, job),
            None => {
                let known: Vec<&str> = jobs.iter().map(|job| job.name.as_str()).collect();
                bail!("there is no job {name} (the jobs: {})", known.join(", "))
            }
        },
    }
}

fn list_jobs(context: &Context, jobs: &[JobSpec]) -> anyhow::Result<()> {
    if context.json() {
        return print_json(jobs);
    }
    let mut table = new_table(["NAME", "REQUIRED CONFIG", "SECRETS", "DESCRIPTION"]);
    for job in jobs {
        table.add_row([
            job.name.clone(),
            required_keys(job).join(", "),
            secret_names(job),
            job.description.clone(),
        ]);
    }
    print_table(&table)
}

fn show_job(context: &Context, job: &JobSpec) -> anyhow::Result<()> {
    if context.json() {
        return print_json(job);
    }
    let mut details = new_details();
    details.add_row(["name", &job.name]);
    details.add_row(["description", &job.description]);
    details.add_row(["required config", &required_keys(job).join(", ")]);
    details.add_row(["secrets", &secret_names(job)]);
    print_table(&details)?;
    emit("\nconfig keys it reads:")?;
    emit(&format_json(&job.config_schema))
}

fn required_keys(job: &JobSpec) -> Vec<String> {
    job.config_schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|key| key.as_str().map(str::to_owned))
        .collect()
}

fn secret_names(job: &JobSpec) -> String {
    let names: Vec<&str> = job.secrets.iter().map(|name| name.as_str()).collect();
    names.join(", ")
}
