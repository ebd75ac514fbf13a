//! A project's Argo WorkflowTemplates (the Argo Server API's WorkflowTemplateService): checked
//! with the engine as `argo template lint` does, stored per project, read back as Argo's
//! WorkflowTemplate objects. Viewers read and lint; admins create, update and delete, since a
//! template is code that workflows run (as `submit`).

use super::argo_server::drop_nulls;
use super::Services;
use crate::orchestrators::ProjectTemplates;
use crate::{Access, CoreError};
use chrono::SecondsFormat;
use polyphemus_model::{ProjectName, Role, WorkflowTemplateName};
use polyphemus_store::{NewEvent, NewWorkflowTemplate, StoreError, WorkflowTemplateRecord};
use serde_json::{json, Map, Value};

/// Metadata the server sets on every answer, dropped from a given document.
const SERVER_METADATA: [&str; 7] = [
    "namespace",
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "generation",
    "managedFields",
    "selfLink",
];

/// A template document that passed the checks.
struct Checked {
    name: WorkflowTemplateName,
    /// What is stored: the document without [`SERVER_METADATA`].
    document: Value,
    /// The `metadata.resourceVersion` it was read at, when it says.
    resource_version: Option<i64>,
}

impl Services {
    /// The project's templates now, as a workflow created now resolves them.
    pub(crate) async fn project_templates(
        &self,
        project: &ProjectName,
    ) -> Result<ProjectTemplates, CoreError> {
        let records = self.store.list_workflow_templates(project).await?;
        Ok(ProjectTemplates::new(
            records
                .into_iter()
                .map(|r| (r.name, r.document.0))
                .collect(),
        ))
    }

    /// `argo template lint`: the document as given, with its namespace, once it passes.
    pub async fn lint_workflow_template(
        &self,
        access: &Access,
        template: Value,
    ) -> Result<Value, CoreError> {
        access.require(Role::Viewer)?;
        let checked = self.check_template(access, template, None).await?;
        Ok(unsaved(access.project(), checked))
    }

    /// Stores a new template (admins); with `dry_run` it is only checked.
    pub async fn create_workflow_template(
        &self,
        access: &Access,
        template: Value,
        dry_run: bool,
    ) -> Result<Value, CoreError> {
        access.require(Role::Admin)?;
        let checked = self.check_template(access, template, None).await?;
        if dry_run {
            return Ok(unsaved(access.project(), checked));
        }
        self.refuse_unsandboxed()?;
        let new = NewWorkflowTemplate {
            name: checked.name,
            uid: uuid::Uuid::new_v4().to_string(),
            document: checked.document,
        };
        let event = NewEvent::new(
            access.project(),
            access.actor(),
            "workflow_template.created",
            json!({"name": new.name, "uid": new.uid}),
        );
        match self
            .store
            .insert_workflow_template(access.project(), &new, &event)
            .await
        {
            Ok(record) => Ok(answer(access.project(), record)),
            Err(StoreError::Conflict(_)) => Err(CoreError::AlreadyExists(format!(
                "workflowtemplates.argoproj.io \"{}\" already exists",
                new.name
            ))),
            Err(other) => Err(other.into()),
        }
    }

    /// The project's template `name` (viewers).
    pub async fn workflow_template(
        &self,
        access: &Access,
        name: &WorkflowTemplateName,
    ) -> Result<Value, CoreError> {
        access.require(Role::Viewer)?;
        match self.store.workflow_template(access.project(), name).await? {
            Some(record) => Ok(answer(access.project(), record)),
            None => Err(not_found(name)),
        }
    }

    /// Every template of the project, by name (viewers).
    pub async fn list_workflow_templates(&self, access: &Access) -> Result<Vec<Value>, CoreError> {
        access.require(Role::Viewer)?;
        let records = self.store.list_workflow_templates(access.project()).await?;
        Ok(records
            .into_iter()
            .map(|record| answer(access.project(), record))
            .collect())
    }

    /// Replaces template `name` (admins). A `metadata.resourceVersion` in the document must
    /// still be the stored one (Kubernetes' optimistic lock); without one the update is
    /// unconditional. Workflows already created keep the template they started with.
    pub async fn update_workflow_template(
        &self,
        access: &Access,
        name: &WorkflowTemplateName,
        template: Value,
    ) -> Result<Value, CoreError> {
        access.require(Role::Admin)?;
        let checked = self.check_template(access, template, Some(name)).await?;
        self.refuse_unsandboxed()?;
        if checked.name != *name {
            return Err(CoreError::bad_field(
                "/template/metadata/name",
                format!(
                    "is {}, not the name of the template updated ({name})",
                    checked.name
                ),
            ));
        }
        let event = NewEvent::new(
            access.project(),
            access.actor(),
            "workflow_template.updated",
            json!({"name": name}),
        );
        let updated = self
            .store
            .update_workflow_template(
                access.project(),
                name,
                &checked.document,
                checked.resource_version,
                &event,
            )
            .await;
        match updated {
            Ok(record) => Ok(answer(access.project(), record)),
            Err(StoreError::NotFound) => Err(not_found(name)),
            Err(StoreError::Conflict(_)) => Err(CoreError::Outdated(format!(
                "Operation cannot be fulfilled on workflowtemplates.argoproj.io \"{name}\": the \
                 object has been modified; please apply your changes to the latest version and \
                 try again"
            ))),
            Err(other) => Err(other.into()),
        }
    }

    /// Deletes template `name` (admins); workflows already created keep it.
    pub async fn delete_workflow_template(
        &self,
        access: &Access,
        name: &WorkflowTemplateName,
    ) -> Result<(), CoreError> {
        access.require(Role::Admin)?;
        let event = NewEvent::new(
            access.project(),
            access.actor(),
            "workflow_template.deleted",
            json!({"name": name}),
        );
        self.store
            .delete_workflow_template(access.project(), name, &event)
            .await
            .map_err(|error| match error {
                StoreError::NotFound => not_found(name),
                other => other.into(),
            })
    }

    /// A template is code that runs: refused where workflow documents are (a local engine
    /// without a sandbox), as creating a workflow is.
    fn refuse_unsandboxed(&self) -> Result<(), CoreError> {
        let refused = self
            .orchestrator()
            .and_then(|o| o.refuses_workflow_documents());
        match refused {
            Some(why) => Err(CoreError::Unavailable(why)),
            None => Ok(()),
        }
    }

    /// Checks a WorkflowTemplate document: its kind, name and namespace, then the engine must
    /// parse it and resolve every template it holds (its `templateRef`s against the project's
    /// other templates). A document without a name takes `default_name`, else one made from
    /// its `generateName`.
    async fn check_template(
        &self,
        access: &Access,
        template: Value,
        default_name: Option<&WorkflowTemplateName>,
    ) -> Result<Checked, CoreError> {
        let Value::Object(mut document) = template else {
            return Err(CoreError::bad_field(
                "/template",
                "must be a WorkflowTemplate object",
            ));
        };
        match document.get("kind") {
            None => {
                document.insert("kind".into(), json!("WorkflowTemplate"));
            }
            Some(kind) if kind == "WorkflowTemplate" => {}
            Some(other) => {
                return Err(CoreError::bad_field(
                    "/template/kind",
                    format!("must be WorkflowTemplate, not {other}"),
                ))
            }
        }
        document
            .entry("apiVersion")
            .or_insert_with(|| json!("argoproj.io/v1alpha1"));
        let metadata = document
            .entry("metadata")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .ok_or_else(|| CoreError::bad_field("/template/metadata", "must be an object"))?;
        let (name, resource_version) = own_metadata(metadata, access.project(), default_name)?;
        let mut document = Value::Object(document);
        drop_nulls(&mut document);
        let parsed = polyphemus_engine::Workflow::from_yaml(&document.to_string())
            .map_err(|error| CoreError::bad_field("/template", error.to_string()))?;
        let templates = self
            .project_templates(access.project())
            .await?
            .with(name.clone(), document.clone());
        polyphemus_engine::check_template(&parsed, &templates.library())
            .map_err(|error| CoreError::bad_field("/template", error.to_string()))?;
        Ok(Checked {
            name,
            document,
            resource_version,
        })
    }
}

/// Takes the server's metadata out of `metadata` and sets its name: the template's name and
/// the resource version it was read at.
fn own_metadata(
    metadata: &mut Map<String, Value>,
    project: &ProjectName,
    default_name: Option<&WorkflowTemplateName>,
) -> Result<(WorkflowTemplateName, Option<i64>), CoreError> {
    if let Some(namespace) = metadata.get("namespace").and_then(Value::as_str) {
        if namespace != project.as_str() {
            return Err(CoreError::bad_field(
                "/template/metadata/namespace",
                format!("is {namespace}, not the namespace of the request ({project})"),
            ));
        }
    }
    let resource_version = match metadata.get("resourceVersion").and_then(Value::as_str) {
        None | Some("") => None,
        Some(text) => Some(text.parse::<i64>().map_err(|_| {
            CoreError::bad_field(
                "/template/metadata/resourceVersion",
                "must be a resourceVersion this server gave",
            )
        })?),
    };
    let text = |key: &str| {
        metadata
            .get(key)
            .and_then(Value::as_str)
            .filter(|value| !value.is_empty())
            .map(str::to_owned)
    };
    let name = match (text("name"), default_name, text("generateName")) {
        (Some(name), _, _) => WorkflowTemplateName::parse(name)
            .map_err(|error| CoreError::bad_field("/template/metadata/name", error.reason))?,
        (None, Some(name), _) => name.clone(),
        (None, None, Some(prefix)) => {
            let suffix = &uuid::Uuid::new_v4().simple().to_string()[..5];
            WorkflowTemplateName::parse(format!("{prefix}{suffix}")).map_err(|error| {
                CoreError::bad_field("/template/metadata/generateName", error.reason)
            })?
        }
        (None, None, None) => {
            return Err(CoreError::bad_field(
                "/template/metadata/name",
                "is required (or metadata.generateName)",
            ))
        }
    };
    for key in SERVER_METADATA {
        metadata.remove(key);
    }
    metadata.insert("name".into(), json!(name));
    Ok((name, resource_version))
}

/// The WorkflowTemplate object of a stored template, with the server's metadata.
fn answer(project: &ProjectName, record: WorkflowTemplateRecord) -> Value {
    let mut document = record.document.0;
    if let Some(metadata) = document.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.insert("name".into(), json!(record.name));
        metadata.insert("namespace".into(), json!(project));
        metadata.insert("uid".into(), json!(record.uid));
        metadata.insert(
            "resourceVersion".into(),
            json!(record.resource_version.to_string()),
        );
        metadata.insert(
            "creationTimestamp".into(),
            json!(record.created_at.to_rfc3339_opts(SecondsFormat::Secs, true)),
        );
    }
    document
}

/// A checked template that is not stored (lint, dry run): its document with its namespace.
fn unsaved(project: &ProjectName, checked: Checked) -> Value {
    let mut document = checked.document;
    if let Some(metadata) = document.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.insert("namespace".into(), json!(project));
    }
    document
}

fn not_found(name: &WorkflowTemplateName) -> CoreError {
    CoreError::not_found(format!("workflow template {name}"))
}
