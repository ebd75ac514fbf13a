//! A project's WorkflowTemplates as one workflow sees them: the documents stored when it was
//! created, so a template changed or deleted later does not change a workflow already running.

use polyphemus_engine::TemplateLibrary;
use polyphemus_model::WorkflowTemplateName;
use serde_json::Value;

/// WorkflowTemplate documents by name.
#[derive(Debug, Clone, Default)]
pub struct ProjectTemplates(Vec<(WorkflowTemplateName, Value)>);

impl ProjectTemplates {
    pub fn new(templates: Vec<(WorkflowTemplateName, Value)>) -> Self {
        Self(templates)
    }

    /// These with `document` in place of any template of that name (a template being checked
    /// may refer to itself).
    pub fn with(mut self, name: WorkflowTemplateName, document: Value) -> Self {
        self.0.retain(|(known, _)| *known != name);
        self.0.push((name, document));
        self
    }

    pub fn contains(&self, name: &str) -> bool {
        self.0.iter().any(|(known, _)| known == name)
    }

    /// The engine's library of these templates; one the engine cannot run is refused with its
    /// reason when a workflow refers to it.
    pub fn library(&self) -> TemplateLibrary {
        let mut library = TemplateLibrary::new();
        for (name, document) in &self.0 {
            library.add_text(name.as_str(), &document.to_string());
        }
        library
    }
}
