//! The checks a package passes before it is used, each problem naming its file and a JSON
//! pointer (or a YAML line) in it, so an author can fix them all in one go.

use super::PackageFiles;
use crate::validate::{compile, field_errors};
use polyphemus_model::{SecretSpec, WorkflowType};
use serde_json::Value;
use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;

/// Parameters every package's workflow declares: the server sets them on every run.
const REQUIRED_PARAMETERS: [&str; 2] = ["config_id", "version_number"];

/// One thing wrong with a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    /// A JSON pointer into the file, `line N` for YAML syntax, or empty for the whole file.
    pub location: String,
    pub message: String,
}

impl Problem {
    pub fn new(file: PathBuf, location: &str, message: impl Into<String>) -> Self {
        Self {
            file,
            location: location.to_owned(),
            message: message.into(),
        }
    }

    pub fn io(file: PathBuf, error: &std::io::Error) -> Self {
        Self::new(file, "", format!("cannot be read: {error}"))
    }

    /// A YAML or shape error; serde_yaml says where (line and column).
    pub fn yaml(file: PathBuf, error: &serde_yaml::Error) -> Self {
        let location = error
            .location()
            .map(|at| format!("line {}", at.line()))
            .unwrap_or_default();
        Self::new(file, &location, error.to_string())
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if !self.location.is_empty() {
            write!(f, " {}", self.location)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found; empty when the packages are sound.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    pub fn one(problem: Problem) -> Self {
        Self(vec![problem])
    }

    pub fn push(&mut self, problem: Problem) {
        self.0.push(problem);
    }

    pub fn extend(&mut self, more: Problems) {
        self.0.extend(more.0);
    }

    pub fn into_result(self) -> Result<(), Problems> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, problem) in self.0.iter().enumerate() {
            if n > 0 {
                writeln!(f)?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

/// `^[a-z][a-z0-9-]{1,62}$`: a name that is also a valid Kubernetes label value.
pub(super) fn name(
    files: &PackageFiles,
    name: &str,
    problems: &mut Problems,
) -> Option<WorkflowType> {
    let valid = name.len() >= 2
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let parsed = WorkflowType::parse(name).ok().filter(|_| valid);
    if parsed.is_none() {
        problems.push(manifest_problem(
            files,
            "/name",
            format!(
                "{name:?} must be 2-63 lowercase letters, digits or '-', starting with a letter"
            ),
        ));
    }
    parsed
}

/// The workflow file: one the local engine accepts, declaring the parameters the server sets.
pub(super) fn workflow(
    files: &PackageFiles,
    file: &str,
    problems: &mut Problems,
) -> Option<String> {
    let text = match files.read(file) {
        Ok(text) => text,
        Err(problem) => {
            problems.push(problem);
            return None;
        }
    };
    let path = files.path(file);
    let workflow = match polyphemus_engine::Workflow::from_yaml(&text) {
        Ok(workflow) => workflow,
        Err(error) => {
            problems.push(Problem::new(
                path,
                "",
                format!("the local engine refuses it: {error}"),
            ));
            return None;
        }
    };
    let declared: Vec<&str> = workflow
        .spec
        .arguments
        .as_ref()
        .map(|arguments| {
            arguments
                .parameters
                .iter()
                .map(|p| p.name.as_str())
                .collect()
        })
        .unwrap_or_default();
    let mut sound = true;
    for parameter in REQUIRED_PARAMETERS {
        if !declared.contains(&parameter) {
            sound = false;
            problems.push(Problem::new(
                path.clone(),
                "/spec/arguments/parameters",
                format!("must declare the parameter {parameter} (the server sets it on every run)"),
            ));
        }
    }
    if sound {
        // What the server sets on every run: with these alone the engine must start it.
        let given: Vec<(String, String)> = REQUIRED_PARAMETERS
            .iter()
            .chain(["project"].iter())
            .map(|name| ((*name).to_owned(), "1".to_owned()))
            .collect();
        if let Err(error) = polyphemus_engine::check_startable(&workflow, &given) {
            sound = false;
            problems.push(Problem::new(
                path,
                "",
                format!("the local engine would not start it: {error}"),
            ));
        }
    }
    sound.then_some(text)
}

/// Each schema compiles, and the example config validates against the config schema.
pub(super) fn schemas(
    files: &PackageFiles,
    config_schema: &Value,
    runtime_params_schema: &Value,
    state_schema: Option<&Value>,
    example_config: &Value,
    problems: &mut Problems,
) {
    let compiled = [
        ("/config_schema", Some(config_schema)),
        ("/runtime_params_schema", Some(runtime_params_schema)),
        ("/state_schema", state_schema),
    ]
    .into_iter()
    .filter_map(|(pointer, schema)| schema.map(|schema| (pointer, compile(schema))));
    for (pointer, result) in compiled {
        match result {
            Ok(validator) if pointer == "/config_schema" => {
                for error in field_errors(&validator, example_config, "/example_config") {
                    problems.push(manifest_problem(files, &error.pointer, error.message));
                }
            }
            Ok(_) => {}
            Err(why) => problems.push(manifest_problem(
                files,
                pointer,
                format!("is not a valid JSON Schema: {why}"),
            )),
        }
    }
}

/// Secret names are unique.
pub(super) fn secrets(files: &PackageFiles, secrets: &[SecretSpec], problems: &mut Problems) {
    let mut seen = BTreeSet::new();
    for (n, secret) in secrets.iter().enumerate() {
        if !seen.insert(secret.name.as_str()) {
            problems.push(manifest_problem(
                files,
                &format!("/secrets/{n}/name"),
                format!("{} is listed twice", secret.name),
            ));
        }
    }
}

fn manifest_problem(files: &PackageFiles, pointer: &str, message: impl Into<String>) -> Problem {
    Problem::new(files.path(super::MANIFEST_FILE), pointer, message)
}
