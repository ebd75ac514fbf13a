//! The API suite: every test runs against SQLite and PostgreSQL through a real server.

mod harness;

mod argo;
mod argo_contract;
mod argo_control;
mod argo_double;
mod argo_nodes;
mod argo_resume;
mod argo_server_api;
mod backfills;
mod cancel;
mod resume;

mod access;
mod acting_on_failures;
mod concurrency;
mod configs;
mod ended_runs;
mod errors;
mod find_runs;
mod http_limits;
mod ledgers;
mod live_logs;
mod live_status;
mod memoize;
mod notifications;
mod oidc;
mod ops;
mod orchestrator_contract;
mod personal_tokens;
mod recent_runs;
mod reload;
mod retention;
mod retention_prune;
mod run_failure;
mod run_output;
mod run_tokens;
mod runs;
mod runtime_and_status;
mod schedule_pause;
mod scheduler;
mod schedules;
mod secrets;
mod state_rows;
mod suspend;
mod text_rule;
