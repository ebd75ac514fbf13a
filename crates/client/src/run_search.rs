//! Finding runs across a project (`GET /projects/{project}/runs`).

use crate::set_query;
use crate::{Client, Result};
use chrono::{DateTime, SecondsFormat, Utc};
use polyphemus_model::{Page, ProjectName, RunFilter, RunSummary};

/// Filters and paging of `list_project_runs` (newest first).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListProjectRuns {
    pub filter: RunFilter,
    /// Page size, 1-500 (server default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl Client {
    /// One page of the project's runs that pass the filter.
    pub async fn list_project_runs(
        &self,
        project: &ProjectName,
        query: &ListProjectRuns,
    ) -> Result<Page<RunSummary>> {
        let filter = &query.filter;
        let time = |at: Option<DateTime<Utc>>| {
            at.map(|at| at.to_rfc3339_opts(SecondsFormat::AutoSi, true))
        };
        let mut url = self.url(["projects", project.as_str(), "runs"]);
        set_query(
            &mut url,
            [
                ("phase", filter.phase.map(|p| p.as_str().to_owned())),
                (
                    "workflow_type",
                    filter.workflow_type.as_ref().map(|w| w.to_string()),
                ),
                ("config_id", filter.config_id.map(|c| c.to_string())),
                ("since", time(filter.since)),
                ("until", time(filter.until)),
                ("limit", query.limit.map(|l| l.to_string())),
                ("cursor", query.cursor.clone()),
            ],
        );
        self.get(url).await
    }
}
