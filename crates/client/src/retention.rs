//! A project's retention policy.

use crate::retry::Idempotency;
use crate::{Client, Result};
use polyphemus_model::{ProjectName, PutRetentionPolicy, RetentionPolicy};
use reqwest::Method;

impl Client {
    /// The project's retention policy (every field `None` when it keeps everything).
    pub async fn get_retention(&self, project: &ProjectName) -> Result<RetentionPolicy> {
        self.get(self.url(["projects", project.as_str(), "retention"]))
            .await
    }

    /// Changes the given fields of the project's retention policy (project admin).
    pub async fn put_retention(
        &self,
        project: &ProjectName,
        body: &PutRetentionPolicy,
    ) -> Result<RetentionPolicy> {
        let url = self.url(["projects", project.as_str(), "retention"]);
        self.send(Method::PUT, url, Some(body), Idempotency::Idempotent)
            .await
            .map(|(_, policy)| policy)
    }
}
