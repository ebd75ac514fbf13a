//! The access rules: a caller's roles per project (user tokens) or its binding to one config
//! version and run (task tokens), resolved once per request into an [`Access`].

use crate::CoreError;
use polyphemus_model::{ConfigId, ConfigVersion, ProjectName, Role, RunId, VersionNumber};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The project a role applies to: one project, or `*` for all.
pub const ALL_PROJECTS: &str = "*";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskGrant {
    pub project: ProjectName,
    /// The config (and version) the task works on; `None` for a project task token, which
    /// the steps of every config of the project share (Argo steps read it from a Secret).
    pub config_id: Option<ConfigId>,
    pub version_number: Option<VersionNumber>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<RunId>,
}

impl TaskGrant {
    /// Whether the grant reaches this config version.
    fn covers(&self, version: ConfigVersion) -> bool {
        self.config_id.is_none_or(|own| own == version.config_id)
            && self
                .version_number
                .is_none_or(|own| own == version.version_number)
    }

    fn covers_config(&self, config_id: ConfigId) -> bool {
        self.config_id.is_none_or(|own| own == config_id)
    }
}

/// Who is calling, as proven by a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    User {
        token_id: String,
        name: String,
        roles: BTreeMap<String, Role>,
    },
    Task {
        token_id: String,
        name: String,
        grant: TaskGrant,
    },
}

impl Principal {
    /// The server itself, for what it does on its own (recovery after a restart).
    pub fn system() -> Self {
        Principal::User {
            token_id: String::new(),
            name: "system".into(),
            roles: BTreeMap::from([(ALL_PROJECTS.to_owned(), Role::Admin)]),
        }
    }

    /// The name recorded as actor in the event log.
    pub fn actor(&self) -> String {
        match self {
            Principal::User { name, .. } => name.clone(),
            Principal::Task { name, .. } => format!("task:{name}"),
        }
    }

    /// Requires the admin role on all projects (`*`): what changes the whole server.
    pub fn require_global_admin(&self) -> Result<(), CoreError> {
        match self {
            Principal::User { roles, .. } if roles.get(ALL_PROJECTS) == Some(&Role::Admin) => {
                Ok(())
            }
            _ => Err(CoreError::Forbidden(
                "this needs the admin role on all projects (*)".to_owned(),
            )),
        }
    }

    fn role_in(&self, project: &ProjectName) -> Option<Role> {
        match self {
            Principal::User { roles, .. } => {
                let own = roles.get(project.as_str()).copied();
                let all = roles.get(ALL_PROJECTS).copied();
                own.max(all)
            }
            Principal::Task { .. } => None,
        }
    }

    /// What this caller may do in `project`: resolved once, then passed to every rule.
    pub fn access(&self, project: &ProjectName) -> Access {
        let task = match self {
            Principal::Task { grant, .. } if grant.project == *project => Some(grant.clone()),
            _ => None,
        };
        Access {
            project: project.clone(),
            actor: self.actor(),
            role: self.role_in(project),
            task,
        }
    }
}

/// One caller's standing in one project: its role there, or its task binding, or neither.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    project: ProjectName,
    actor: String,
    role: Option<Role>,
    task: Option<TaskGrant>,
}

impl Access {
    pub fn project(&self) -> &ProjectName {
        &self.project
    }

    /// The name recorded as actor in the event log.
    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// The caller's user role in the project, if it has one.
    pub fn role(&self) -> Option<Role> {
        self.role
    }

    /// Whether the token reaches the project at all (any role, or a task of it).
    pub fn sees_project(&self) -> bool {
        self.role.is_some() || self.task.is_some()
    }

    /// A task token bound to one run reaches only that run; every other token is not limited
    /// here (roles and configs are checked elsewhere).
    pub fn may_reach_run(&self, run_id: &RunId) -> bool {
        self.task
            .as_ref()
            .and_then(|grant| grant.run_id.as_ref())
            .is_none_or(|own| own == run_id)
    }

    /// Requires a user role on the project. A token that cannot see the project gets 404,
    /// one that sees it with too low a role gets 403.
    pub fn require(&self, needed: Role) -> Result<(), CoreError> {
        let project = &self.project;
        match self.role {
            Some(role) if role >= needed => Ok(()),
            Some(role) => Err(CoreError::Forbidden(format!(
                "this needs the {needed} role on project {project}; the token has {role}"
            ))),
            None if self.task.is_some() => Err(CoreError::Forbidden(
                "a task token cannot do this".to_owned(),
            )),
            None => Err(CoreError::NotFound(format!("project {project}"))),
        }
    }

    /// A user role on the project, or a task token of this config (any of its versions).
    pub fn require_role_or_task(&self, needed: Role, config_id: ConfigId) -> Result<(), CoreError> {
        match &self.task {
            Some(grant) if grant.covers_config(config_id) => Ok(()),
            Some(_) => Err(CoreError::NotFound(format!("config {config_id}"))),
            None => self.require(needed),
        }
    }

    /// Only the task token of exactly this config version (the secrets route).
    pub fn require_task_of_version(&self, version: ConfigVersion) -> Result<(), CoreError> {
        match &self.task {
            Some(grant) if grant.covers(version) => Ok(()),
            Some(_) => Err(CoreError::NotFound(version.to_string())),
            None => {
                // Users who may see the project learn that only a task token may read secrets.
                self.require(Role::Viewer)?;
                Err(CoreError::Forbidden(
                    "secrets in clear are given only to the task token of this config version"
                        .to_owned(),
                ))
            }
        }
    }

    /// The config version a task token may read, or any version for users with the role.
    pub fn require_config_read(
        &self,
        config_id: ConfigId,
        version_number: Option<VersionNumber>,
    ) -> Result<(), CoreError> {
        match (&self.task, version_number) {
            (Some(grant), Some(version))
                if grant.covers(ConfigVersion::new(config_id, version)) =>
            {
                Ok(())
            }
            (Some(_), _) => Err(CoreError::NotFound(format!("config {config_id}"))),
            (None, _) => self.require(Role::Viewer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(name: &str) -> ProjectName {
        ProjectName::parse(name).expect("valid")
    }

    fn version(config_id: i64, version_number: i32) -> ConfigVersion {
        ConfigVersion::new(ConfigId::new(config_id), VersionNumber::new(version_number))
    }

    fn user(roles: &[(&str, Role)]) -> Principal {
        Principal::User {
            token_id: "t".into(),
            name: "ann".into(),
            roles: roles.iter().map(|(p, r)| (p.to_string(), *r)).collect(),
        }
    }

    fn task(config_id: Option<i64>, version_number: Option<i32>) -> Principal {
        Principal::Task {
            token_id: "t".into(),
            name: "run".into(),
            grant: TaskGrant {
                project: project("labors"),
                config_id: config_id.map(ConfigId::new),
                version_number: version_number.map(VersionNumber::new),
                run_id: None,
            },
        }
    }

    #[test]
    fn roles_apply_per_project_and_star_covers_all() {
        let viewer = user(&[("labors", Role::Viewer)]);
        let labors = viewer.access(&project("labors"));
        assert!(labors.require(Role::Viewer).is_ok());
        assert!(matches!(
            labors.require(Role::Editor),
            Err(CoreError::Forbidden(_))
        ));
        assert!(matches!(
            viewer.access(&project("other")).require(Role::Viewer),
            Err(CoreError::NotFound(_))
        ));
        let admin = user(&[("*", Role::Admin), ("labors", Role::Viewer)]);
        assert!(admin
            .access(&project("labors"))
            .require(Role::Editor)
            .is_ok());
    }

    #[test]
    fn task_tokens_reach_only_their_config() {
        let task = task(Some(3), Some(2));
        let labors = task.access(&project("labors"));
        assert!(labors
            .require_role_or_task(Role::Editor, ConfigId::new(3))
            .is_ok());
        assert!(labors
            .require_role_or_task(Role::Editor, ConfigId::new(4))
            .is_err());
        assert!(labors.require_task_of_version(version(3, 2)).is_ok());
        assert!(labors.require_task_of_version(version(3, 1)).is_err());
        assert!(matches!(
            labors.require(Role::Viewer),
            Err(CoreError::Forbidden(_))
        ));
        assert!(task
            .access(&project("other"))
            .require_role_or_task(Role::Viewer, ConfigId::new(3))
            .is_err());
    }

    #[test]
    fn project_task_tokens_reach_every_config_of_their_project_only() {
        let task = task(None, None);
        let labors = task.access(&project("labors"));
        assert!(labors
            .require_role_or_task(Role::Editor, ConfigId::new(4))
            .is_ok());
        assert!(labors.require_task_of_version(version(9, 1)).is_ok());
        assert!(labors.require(Role::Viewer).is_err());
        assert!(task
            .access(&project("other"))
            .require_task_of_version(version(9, 1))
            .is_err());
    }
}
