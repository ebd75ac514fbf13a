//! The client commands end to end: a real `polyphemus serve` on SQLite in a temp dir, driven
//! by the real binary; asserts output and exit codes.

mod harness;

mod acting_on_failures;
mod argo_parity;
mod backfills;
mod cancel;
mod configs;
mod errors;
mod find_runs;
mod hostile_steps;
mod ingestion;
mod jobs;
mod live_logs;
mod local_engine;
mod notifications;
mod oidc;
mod oidc_signin;
mod packages;
mod pipeline;
mod prune;
mod readme_tour;
mod resume;
mod retries;
mod run_failure;
mod runs;
mod runtime;
mod secrets;
mod tokens;
mod ui;
