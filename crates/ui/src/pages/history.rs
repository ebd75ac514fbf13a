//! Version history of a config and a side-by-side diff of any two versions.

use crate::error::UiError;
use crate::layout::{csrf_field, time, Page};
use crate::pages::{config_crumbs, project_name};
use crate::session::Session;
use crate::UiState;
use axum::extract::{Path, Query, State};
use maud::{html, Markup};
use polyphemus_model::{Config, ConfigId, Role, VersionNumber};
use serde::Deserialize;
use similar::{DiffOp, TextDiff};

#[derive(Deserialize)]
pub struct DiffQuery {
    a: Option<VersionNumber>,
    b: Option<VersionNumber>,
}

pub async fn show_history(
    State(state): State<UiState>,
    session: Session,
    Path((project, config_id)): Path<(String, ConfigId)>,
    Query(query): Query<DiffQuery>,
) -> Result<Markup, UiError> {
    let project = project_name(&project)?;
    let access = session.principal.access(&project);
    let services = &state.services;
    let versions = services.list_versions(&access, config_id).await?;
    let latest = versions
        .last()
        .map(|v| v.version_number)
        .unwrap_or(VersionNumber::FIRST);
    let b = query.b.unwrap_or(latest);
    let a = query.a.unwrap_or(b.previous());
    let left = services.config_version(&access, config_id, a).await?;
    let right = services.config_version(&access, config_id, b).await?;
    let editor = session.can(&project, Role::Editor);
    let base = crate::pages::config_href(&project, config_id);
    Ok(Page {
        title: "History".to_owned(),
        session: Some(&session),
        crumbs: config_crumbs(&project, config_id, &right.workflow_name),
        live: false,
    }
    .render(html! {
        h1 { "Version history" }
        div.table-wrap {
            table {
                caption { (versions.len()) " version" @if versions.len() != 1 { "s" } ", oldest first" }
                thead {
                    tr {
                        th scope="col" { "Version" } th scope="col" { "Saved" } th scope="col" { "Comment" }
                        @if editor { th scope="col" { span.visually-hidden { "Actions" } } }
                    }
                }
                tbody {
                    @for version in &versions {
                        tr {
                            td { "v" (version.version_number) }
                            td { (time(Some(version.created_at))) }
                            td { (version.comment.as_deref().unwrap_or("—")) }
                            @if editor {
                                td {
                                    @if version.version_number != latest {
                                        form method="post" action={ (base) "/versions/" (version.version_number) "/restore" } {
                                            (csrf_field(&session))
                                            button type="submit" aria-label={ "Restore v" (version.version_number) } { "Restore" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 #diff { "Compare versions" }
        form.inline method="get" action="#diff" {
            div.field {
                label for="a" { "From" }
                select #a name="a" {
                    @for version in &versions {
                        option value=(version.version_number) selected[version.version_number == a] { "v" (version.version_number) }
                    }
                }
            }
            div.field {
                label for="b" { "To" }
                select #b name="b" {
                    @for version in &versions {
                        option value=(version.version_number) selected[version.version_number == b] { "v" (version.version_number) }
                    }
                }
            }
            button type="submit" { "Compare" }
        }
        (side_by_side(&left, &right))
    }))
}

/// What is compared: the name and settings of a version (secrets are never shown).
fn comparable(config: &Config) -> String {
    let value = serde_json::json!({
        "workflow_name": config.workflow_name,
        "config": config.config,
    });
    serde_json::to_string_pretty(&value).unwrap_or_default() + "\n"
}

fn side_by_side(left: &Config, right: &Config) -> Markup {
    let old = comparable(left);
    let new = comparable(right);
    let diff = TextDiff::from_lines(&old, &new);
    let old_lines: Vec<&str> = old.lines().collect();
    let new_lines: Vec<&str> = new.lines().collect();
    let mut rows: Vec<(Option<usize>, Option<usize>, &str)> = Vec::new();
    for op in diff.ops() {
        match *op {
            DiffOp::Equal {
                old_index,
                new_index,
                len,
            } => {
                for i in 0..len {
                    rows.push((Some(old_index + i), Some(new_index + i), "same"));
                }
            }
            DiffOp::Delete {
                old_index, old_len, ..
            } => {
                for i in 0..old_len {
                    rows.push((Some(old_index + i), None, "changed"));
                }
            }
            DiffOp::Insert {
                new_index, new_len, ..
            } => {
                for i in 0..new_len {
                    rows.push((None, Some(new_index + i), "changed"));
                }
            }
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => {
                for i in 0..old_len.max(new_len) {
                    rows.push((
                        (i < old_len).then_some(old_index + i),
                        (i < new_len).then_some(new_index + i),
                        "changed",
                    ));
                }
            }
        }
    }
    let changed = rows.iter().filter(|r| r.2 == "changed").count();
    html! {
        div.table-wrap {
            table.diff {
                caption {
                    "v" (left.version_number) " and v" (right.version_number) ": "
                    @if changed == 0 { "no differences" } @else { (changed) " changed line" @if changed != 1 { "s" } }
                }
                thead {
                    tr {
                        th scope="col" { "v" (left.version_number) " — " (left.comment.as_deref().unwrap_or("no comment")) }
                        th scope="col" { "v" (right.version_number) " — " (right.comment.as_deref().unwrap_or("no comment")) }
                    }
                }
                tbody {
                    @for (l, r, class) in &rows {
                        tr class=(class) {
                            @match l {
                                Some(i) => td.old.del[*class == "changed"] { @if *class == "changed" { span.visually-hidden { "removed: " } } code { (old_lines.get(*i).copied().unwrap_or("")) } },
                                None => td.old.empty {},
                            }
                            @match r {
                                Some(i) => td.new.ins[*class == "changed"] { @if *class == "changed" { span.visually-hidden { "added: " } } code { (new_lines.get(*i).copied().unwrap_or("")) } },
                                None => td.new.empty {},
                            }
                        }
                    }
                }
            }
        }
    }
}
