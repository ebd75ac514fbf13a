//! `Engine::retry`: a failed run started again in place, under its own name, uid and run
//! directory, keeping what succeeded (see `exec::retained`).

use std::sync::Arc;

use crate::error::EngineError;
use crate::exec::retained::{Retained, RetryRequest};
use crate::library::TemplateLibrary;
use crate::model::Workflow;
use crate::run::{Engine, RunHandle, SubmitOptions};
use crate::status::WorkflowObject;

impl Engine {
    /// Runs `prior` (a run of this engine's work dir that ended Failed or Error) again as
    /// `argo retry` does. `options` are the per-run options of a submission; the uid is the
    /// prior run's.
    pub fn retry(
        &self,
        prior: &WorkflowObject,
        request: &RetryRequest,
        library: &TemplateLibrary,
        mut options: SubmitOptions,
    ) -> Result<RunHandle, EngineError> {
        let retained = Retained::plan(prior, request)?;
        let uid = prior
            .metadata
            .uid
            .as_deref()
            .map(uuid::Uuid::parse_str)
            .transpose()
            .map_err(|_| EngineError::Invalid("the workflow's uid is not a UUID".into()))?;
        tracing::info!(
            workflow = prior.name(),
            kept = retained.len(),
            "retrying a workflow"
        );
        options.uid = uid.or(options.uid);
        options.retained = Arc::new(retained);
        let mut metadata = prior.metadata.clone();
        metadata.generate_name = None;
        metadata.uid = None;
        metadata.creation_timestamp = None;
        let workflow = Workflow {
            api_version: prior.api_version.clone(),
            kind: "Workflow".into(),
            metadata,
            spec: prior.spec.clone(),
            extra: Default::default(),
        };
        let handle = self.submit_with(workflow, request.parameters.clone(), library, options)?;
        // Argo keeps the object: it was created when the run first was.
        if let Ok(mut base) = handle.base.lock() {
            base.metadata.creation_timestamp = prior.metadata.creation_timestamp.clone();
            base.metadata.generate_name = prior.metadata.generate_name.clone();
        }
        Ok(handle)
    }
}
