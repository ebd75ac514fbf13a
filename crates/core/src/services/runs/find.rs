//! Finding runs across a project: the filtered list, and a run named by its uid, its
//! workflow name or a unique uid prefix.

use super::super::{PageRequest, Services};
use crate::{Access, CoreError};
use polyphemus_model::{ConfigId, Page, Role, RunFilter, RunId, RunSummary, MIN_RUN_ID_PREFIX};
use polyphemus_store::{RunCandidate, RunRecord};
use std::collections::BTreeMap;

/// How many candidates an ambiguous reference lists.
const MAX_CANDIDATES: i64 = 10;

/// The most recent runs per config one call returns.
const MAX_RECENT_PER_CONFIG: i64 = 100;

impl Services {
    /// The project's runs that pass `filter`, newest first.
    pub async fn list_project_runs(
        &self,
        access: &Access,
        filter: &RunFilter,
        page: PageRequest,
    ) -> Result<Page<RunSummary>, CoreError> {
        access.require(Role::Viewer)?;
        let records = self
            .store
            .list_project_runs(
                access.project(),
                filter,
                page.cursor.map(|c| c.0),
                page.fetch_limit(),
            )
            .await?;
        let (records, next_cursor) = page.finish(records, |r| r.seq);
        Ok(Page {
            items: records.into_iter().map(|r| r.summary).collect(),
            next_cursor,
        })
    }

    /// The newest `per_config` runs (at most `MAX_RECENT_PER_CONFIG`) of every config of the
    /// project that has runs, newest first, in one query.
    pub async fn recent_runs_by_config(
        &self,
        access: &Access,
        per_config: i64,
    ) -> Result<BTreeMap<ConfigId, Vec<RunSummary>>, CoreError> {
        access.require(Role::Viewer)?;
        let per_config = per_config.clamp(1, MAX_RECENT_PER_CONFIG);
        let records = self
            .store
            .recent_runs_per_config(access.project(), per_config)
            .await?;
        let mut by_config: BTreeMap<ConfigId, Vec<RunSummary>> = BTreeMap::new();
        for record in records {
            let summary = record.summary;
            by_config
                .entry(summary.config_id)
                .or_default()
                .push(summary);
        }
        Ok(by_config)
    }

    /// Like `visible_run`, but `reference` may also be the run's workflow name or a unique
    /// prefix of its uid. Only for people's tokens: a task token names its run exactly.
    pub(crate) async fn find_run(
        &self,
        access: &Access,
        reference: &RunId,
        role: Role,
    ) -> Result<RunRecord, CoreError> {
        match self.visible_run(access, reference, role).await {
            Err(CoreError::NotFound(_)) if access.require(Role::Viewer).is_ok() => {}
            found => return found,
        }
        let run_id = self.resolve_run_reference(access, reference).await?;
        self.visible_run(access, &run_id, role).await
    }

    /// The one run a workflow name (first) or a uid prefix means; 409 listing the
    /// candidates when several match.
    async fn resolve_run_reference(
        &self,
        access: &Access,
        reference: &RunId,
    ) -> Result<RunId, CoreError> {
        let project = access.project();
        let mut candidates = self
            .store
            .runs_named(project, reference.as_str(), MAX_CANDIDATES)
            .await?;
        if candidates.is_empty() && reference.as_str().len() >= MIN_RUN_ID_PREFIX {
            candidates = self
                .store
                .runs_with_id_prefix(project, reference, MAX_CANDIDATES)
                .await?;
        }
        match candidates.as_slice() {
            [] => Err(CoreError::not_found(format!("run {reference}"))),
            [one] => Ok(one.run_id.clone()),
            many => Err(ambiguous(reference, many)),
        }
    }
}

fn ambiguous(reference: &RunId, candidates: &[RunCandidate]) -> CoreError {
    let listed: Vec<String> = candidates
        .iter()
        .map(|c| format!("{} ({})", c.run_id, c.name))
        .collect();
    let more = if candidates.len() as i64 >= MAX_CANDIDATES {
        ", …"
    } else {
        ""
    };
    CoreError::Conflict(format!(
        "run {reference} is ambiguous: it may be {}{more}; give more of the uid",
        listed.join(", ")
    ))
}
