//! One run's page: node tree from its Argo-shaped metadata, output log (live while running)
//! and state; and ending a run early.

use crate::error::UiError;
use crate::layout::{badge, csrf_field, duration, json_block, time, Page};
use crate::pages::{config_crumbs, project_name, run_id as run_id_in_path};
use crate::session::{PostForm, Session};
use crate::UiState;
use axum::extract::{Path, State};
use axum::response::Redirect;
use maud::{html, Markup};
use polyphemus_core::{Access, CoreError};
use polyphemus_model::{Role, Run, RunId, RunMetadata, RunPhase, StopMode, WAITING_FOR_RESUME};

async fn metadata_of(
    state: &UiState,
    access: &Access,
    run_id: &RunId,
) -> Result<Option<RunMetadata>, UiError> {
    match state.services.get_run_metadata(access, run_id).await {
        Ok(metadata) => Ok(Some(metadata)),
        // Registered, but the orchestrator has not reported yet.
        Err(CoreError::NotFound(_)) => Ok(None),
        Err(other) => Err(other.into()),
    }
}

fn is_final(metadata: Option<&RunMetadata>) -> bool {
    metadata.is_some_and(|m| m.report.phase.is_final())
}

pub async fn show_run(
    State(state): State<UiState>,
    session: Session,
    Path((project, run_id)): Path<(String, String)>,
) -> Result<Markup, UiError> {
    let project = project_name(&project)?;
    let run_id = run_id_in_path(&run_id)?;
    let access = session.principal.access(&project);
    let services = &state.services;
    // The path may hold a workflow name or a uid prefix: the rest of the page uses the uid.
    let run = services.get_run(&access, &run_id).await?;
    let run_id = run.run_id.clone();
    let metadata = metadata_of(&state, &access, &run_id).await?;
    let finished = is_final(metadata.as_ref());
    // While it goes: the steps' logs so far (the page's script then follows them); what jobs
    // appended through the API shows apart until the end joins the two.
    let live_logs = if finished {
        None
    } else {
        let logs = services.run_logs_ending(&access, &run_id, None, LIVE_TAIL_BYTES);
        Some(logs.await.unwrap_or_default())
    };
    let config_name = services
        .config_version(&access, run.config_id, run.version_number)
        .await
        .map(|c| c.workflow_name)
        .unwrap_or_else(|_| format!("config {}", run.config_id));
    let phase = metadata
        .as_ref()
        .map_or(RunPhase::Pending, |m| m.report.phase);
    let may_end = !finished && session.can(&project, Role::Editor);
    let may_resubmit = finished && session.can(&project, Role::Editor);
    // Suspended while it runs (`argo suspend`) shows only in the orchestrator's workflow.
    let suspended = !finished
        && (metadata.as_ref().is_some_and(|m| m.report.is_suspended())
            || services.run_waits_for_resume(&access, &run).await);
    let may_resume = may_end && suspended;
    let run_path = format!("/projects/{project}/runs/{}", run.run_id);
    Ok(Page {
        title: run.name.clone(),
        session: Some(&session),
        crumbs: config_crumbs(&project, run.config_id, &config_name),
        live: !finished,
    }
    .render(html! {
        div.title-row {
            h1 { "Run " (run.name) }
            @if may_resubmit {
                div.actions {
                    form method="post" action={ (run_path) "/resubmit" } {
                        (csrf_field(&session))
                        button type="submit" title="A new run of the same config version and run params" { "Resubmit" }
                    }
                }
            }
            @if may_end {
                div.actions {
                    @if may_resume {
                        form method="post" action={ (run_path) "/resume" } {
                            (csrf_field(&session))
                            button type="submit" title="Its suspend steps waiting for a resume go on (argo resume)" { "Resume" }
                        }
                    } @else {
                        form method="post" action={ (run_path) "/suspend" } {
                            (csrf_field(&session))
                            button type="submit" title="Running steps go on; no new step starts until Resume (argo suspend)" { "Suspend" }
                        }
                    }
                    form method="post" action={ (run_path) "/stop" } {
                        (csrf_field(&session))
                        button type="submit" aria-describedby="end-help" { "Stop" }
                    }
                    form method="post" action={ (run_path) "/terminate" } {
                        (csrf_field(&session))
                        button type="submit" aria-describedby="end-help" { "Terminate" }
                    }
                }
            }
        }
        @if may_end {
            p.muted #end-help {
                "Stop ends the running steps and still runs the exit handler (which records the \
                 run and notifies); Terminate ends everything at once."
            }
        }
        p.run-phase { "Phase: " span #run-phase { (badge(phase.as_str())) } }
        @if suspended {
            @if metadata.as_ref().is_some_and(|m| m.report.is_suspended()) {
                p.notice #run-suspended { strong { "Suspended: " } "a step waits for a resume." }
            } @else {
                p.notice #run-suspended { strong { "Suspended: " } "no new step starts until it is resumed." }
            }
        }
        @if let Some(failure) = metadata.as_ref().and_then(|m| m.failure.as_deref()) {
            p.notice.bad #run-failure { strong { "Why it failed: " } (failure) }
        }
        @if !finished { p.muted.live-note { "This run is still going; the page refreshes itself." } }
        dl.summary {
            dt { "Run id" } dd { code { (run.run_id) } }
            dt { "Config version" } dd { "v" (run.version_number) }
            dt { "Started" } dd { (time(metadata.as_ref().and_then(|m| m.report.started_at).or(Some(run.created_at)))) }
            dt { "Finished" } dd { (time(metadata.as_ref().and_then(|m| m.report.finished_at))) }
            dt { "Duration" } dd { (duration(metadata.as_ref().and_then(|m| m.duration_s))) }
            @if let Some(metadata) = &metadata {
                dt { "Retries" } dd { (metadata.retries) }
                @if let Some(message) = &metadata.report.message {
                    dt { "Message" } dd { (message) }
                }
            }
        }
        @if let Some(metadata) = &metadata { (nodes(&run, metadata)) }
        h2 #output-heading { "Output" }
        p { a.button href={ (run_path) "/logs" } download { "Download the steps' logs" } }
        @if let Some(logs) = &live_logs {
            @if !run.output.is_empty() {
                h3 #appended-heading { "Appended by the job" }
                pre.log tabindex="0" aria-labelledby="appended-heading" { code { (run.output) } }
            }
            p.muted #output-empty hidden[!logs.is_empty()] { "No output yet." }
            pre.log #output tabindex="0" aria-labelledby="output-heading"
                data-follow={ (run_path) "/logs?follow=true" } { code { (logs) } }
        } @else if let Some(at) = run.output_pruned_at {
            p.muted { "The output was removed by the project's retention policy on " (time(Some(at))) "." }
        } @else if run.output.is_empty() {
            p.muted { "No output yet." }
        } @else {
            pre.log #output tabindex="0" aria-labelledby="output-heading" { code { (run.output) } }
        }
        h2 { "State" }
        (json_block(&run.state, "Run state"))
    }))
}

/// `Stop` on a run's page: running steps end, the exit handler still runs.
pub async fn stop_run(
    State(state): State<UiState>,
    Path((project, run_id)): Path<(String, String)>,
    form: PostForm,
) -> Result<Redirect, UiError> {
    end_run(&state, &project, &run_id, &form, StopMode::Stop).await
}

/// `Terminate` on a run's page: everything ends at once, exit handler included.
pub async fn terminate_run(
    State(state): State<UiState>,
    Path((project, run_id)): Path<(String, String)>,
    form: PostForm,
) -> Result<Redirect, UiError> {
    end_run(&state, &project, &run_id, &form, StopMode::Terminate).await
}

async fn end_run(
    state: &UiState,
    project: &str,
    run_id: &str,
    form: &PostForm,
    mode: StopMode,
) -> Result<Redirect, UiError> {
    let project = project_name(project)?;
    let run_id = run_id_in_path(run_id)?;
    let access = form.session.principal.access(&project);
    state.services.stop_run(&access, &run_id, mode).await?;
    Ok(Redirect::to(&format!("/projects/{project}/runs/{run_id}")))
}

/// How much of each step's log the run page shows while the run goes on.
const LIVE_TAIL_BYTES: u64 = 64 * 1024;

/// Nesting depth of an Argo node from its name (`wf[0].step`, `wf.task`).
fn depth(run_name: &str, node_name: &str) -> usize {
    let rest = node_name.strip_prefix(run_name).unwrap_or(node_name);
    rest.matches(['.', '[']).count().min(6)
}

fn nodes(run: &Run, metadata: &RunMetadata) -> Markup {
    let mut nodes: Vec<_> = metadata.report.nodes.iter().collect();
    nodes.sort_by(|a, b| (a.1.started_at, &a.1.name).cmp(&(b.1.started_at, &b.1.name)));
    html! {
        h2 { "Steps" }
        @if !metadata.failed_nodes.is_empty() {
            p.notice.bad { "Failed: " (metadata.failed_nodes.join(", ")) }
        }
        div.table-wrap {
            table.nodes.stack {
                caption.visually-hidden { "Steps of the run, in the order they started" }
                thead {
                    tr {
                        th scope="col" { "Step" }
                        th scope="col" { "Type" }
                        th scope="col" { "Phase" }
                        th scope="col" { "Started" }
                        th scope="col" { "Duration" }
                        th scope="col" { "Retries" }
                        th scope="col" { "Message" }
                    }
                }
                tbody {
                    @for (id, node) in &nodes {
                        @let failed = metadata.failed_nodes.iter().any(|f| f == *id || *f == node.name);
                        @let took = match (node.started_at, node.finished_at) {
                            (Some(s), Some(f)) => Some((f - s).num_milliseconds() as f64 / 1000.0),
                            _ => None,
                        };
                        tr.failed[failed] {
                            td data-label="Step" class={ "depth-" (depth(&run.name, &node.name)) } {
                                (node.display_name.as_deref().unwrap_or(&node.name))
                            }
                            td data-label="Type" { (node.node_type) }
                            td data-label="Phase" { (badge(node.phase.as_str())) }
                            td data-label="Started" { (time(node.started_at)) }
                            td data-label="Duration" { (duration(took)) }
                            td data-label="Retries" { (node.retries.unwrap_or(0)) }
                            td data-label="Message" {
                                (node.message.as_deref().or(node.waits_for_resume().then_some(WAITING_FOR_RESUME)).unwrap_or(""))
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `Suspend` on a run's page: running steps go on, nothing new starts until `Resume`.
pub async fn suspend_run(
    State(state): State<UiState>,
    Path((project, run_id)): Path<(String, String)>,
    form: PostForm,
) -> Result<Redirect, UiError> {
    let project = project_name(&project)?;
    let run_id = run_id_in_path(&run_id)?;
    let access = form.session.principal.access(&project);
    state.services.suspend_run(&access, &run_id).await?;
    Ok(Redirect::to(&format!("/projects/{project}/runs/{run_id}")))
}

/// `Resume` on a run's page: its suspend steps waiting for a resume go on.
pub async fn resume_run(
    State(state): State<UiState>,
    Path((project, run_id)): Path<(String, String)>,
    form: PostForm,
) -> Result<Redirect, UiError> {
    let project = project_name(&project)?;
    let run_id = run_id_in_path(&run_id)?;
    let access = form.session.principal.access(&project);
    state.services.resume_run(&access, &run_id).await?;
    Ok(Redirect::to(&format!("/projects/{project}/runs/{run_id}")))
}
