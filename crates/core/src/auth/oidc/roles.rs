//! The role mapping file (`serve --oidc-roles FILE`): rules from a person's claims to
//! project roles, checked whole when the server starts.

use crate::auth::ALL_PROJECTS;
use polyphemus_model::{ProjectName, Role};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Why a mapping file was refused; names the rule (counted from 1).
#[derive(Debug, thiserror::Error)]
pub enum RoleMappingError {
    #[error("the role mapping is not valid YAML: {0}")]
    Yaml(String),
    #[error("rule {rule}: {message}")]
    Rule { rule: usize, message: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingFile {
    rules: Vec<RawRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    claim: String,
    #[serde(default)]
    contains: Option<String>,
    #[serde(default)]
    equals: Option<String>,
    #[serde(default)]
    ends_with: Option<String>,
    grant: BTreeMap<String, String>,
}

/// How a rule matches the claim's value (a string, or each string of an array).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Test {
    /// An array claim (`groups`) holds this string.
    Contains(String),
    Equals(String),
    /// A string claim ends with this, e.g. `@example.org` for an email domain.
    EndsWith(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    claim: String,
    test: Test,
    grant: BTreeMap<String, Role>,
}

/// The parsed, validated mapping.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleMapping {
    rules: Vec<Rule>,
}

impl RoleMapping {
    pub fn parse(text: &str) -> Result<Self, RoleMappingError> {
        let file: MappingFile =
            serde_yaml::from_str(text).map_err(|e| RoleMappingError::Yaml(e.to_string()))?;
        let rules = file
            .rules
            .into_iter()
            .enumerate()
            .map(|(index, raw)| {
                parse_rule(raw).map_err(|message| RoleMappingError::Rule {
                    rule: index + 1,
                    message,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { rules })
    }

    /// The roles these claims earn: for each project, the highest role any matching rule
    /// grants.
    pub fn roles_for(&self, claims: &serde_json::Value) -> BTreeMap<String, Role> {
        let mut roles: BTreeMap<String, Role> = BTreeMap::new();
        for rule in self.rules.iter().filter(|rule| rule.matches(claims)) {
            for (project, role) in &rule.grant {
                let entry = roles.entry(project.clone()).or_insert(*role);
                *entry = (*entry).max(*role);
            }
        }
        roles
    }
}

fn parse_rule(raw: RawRule) -> Result<Rule, String> {
    if raw.claim.trim().is_empty() {
        return Err("`claim` must name a claim, e.g. groups or email".into());
    }
    let test = match (raw.contains, raw.equals, raw.ends_with) {
        (Some(value), None, None) => Test::Contains(value),
        (None, Some(value), None) => Test::Equals(value),
        (None, None, Some(value)) => Test::EndsWith(value),
        _ => return Err("needs exactly one of `contains`, `equals`, `ends_with`".into()),
    };
    if raw.grant.is_empty() {
        return Err("`grant` must give at least one `project: role`".into());
    }
    let mut grant = BTreeMap::new();
    for (project, role) in raw.grant {
        if project != ALL_PROJECTS {
            ProjectName::parse(project.clone())
                .map_err(|e| format!("grant: `{project}` is not a project name: {e}"))?;
        }
        let role: Role = role.parse().map_err(|_| {
            format!("grant: `{role}` for `{project}` is not viewer, editor or admin")
        })?;
        grant.insert(project, role);
    }
    Ok(Rule {
        claim: raw.claim,
        test,
        grant,
    })
}

impl Rule {
    fn matches(&self, claims: &serde_json::Value) -> bool {
        let value = &claims[self.claim.as_str()];
        let strings: Vec<&str> = match value {
            serde_json::Value::String(one) => vec![one.as_str()],
            serde_json::Value::Array(many) => many.iter().filter_map(|v| v.as_str()).collect(),
            _ => Vec::new(),
        };
        strings.iter().any(|s| match &self.test {
            Test::Contains(wanted) | Test::Equals(wanted) => s == wanted,
            Test::EndsWith(suffix) => s.ends_with(suffix.as_str()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const MAPPING: &str = r#"
rules:
  - claim: groups
    contains: labors-editors
    grant: { labors: editor }
  - claim: groups
    contains: platform-admins
    grant: { "*": admin }
  - claim: email
    ends_with: "@labors.example"
    grant: { labors: viewer, archive: viewer }
"#;

    #[test]
    fn the_highest_matching_role_per_project_wins() {
        let mapping = RoleMapping::parse(MAPPING).expect("valid");
        let roles = mapping.roles_for(&json!({
            "email": "alice@labors.example", "groups": ["labors-editors"]
        }));
        assert_eq!(roles.get("labors"), Some(&Role::Editor));
        assert_eq!(roles.get("archive"), Some(&Role::Viewer));
        assert_eq!(roles.get("*"), None);
        let admin = mapping.roles_for(&json!({"groups": ["platform-admins"]}));
        assert_eq!(admin.get("*"), Some(&Role::Admin));
    }

    #[test]
    fn a_person_no_rule_matches_has_no_role() {
        let mapping = RoleMapping::parse(MAPPING).expect("valid");
        let roles = mapping.roles_for(&json!({
            "email": "olaf@labors.example.evil", "groups": ["labors-editors-not"]
        }));
        assert!(roles.is_empty(), "{roles:?}");
    }

    #[test]
    fn bad_rules_are_refused_naming_the_rule() {
        let unknown_role =
            "rules:\n  - claim: groups\n    contains: a\n    grant: { labors: owner }\n";
        let error = RoleMapping::parse(unknown_role).unwrap_err().to_string();
        assert!(
            error.starts_with("rule 1: ") && error.contains("owner"),
            "{error}"
        );
        let two_tests = "rules:\n  - claim: groups\n    contains: a\n    grant: { labors: viewer }\n  - claim: email\n    contains: a\n    ends_with: b\n    grant: { labors: viewer }\n";
        let error = RoleMapping::parse(two_tests).unwrap_err().to_string();
        assert!(error.starts_with("rule 2: "), "{error}");
        let bad_project =
            "rules:\n  - claim: groups\n    contains: a\n    grant: { 'Not A Project': viewer }\n";
        let error = RoleMapping::parse(bad_project).unwrap_err().to_string();
        assert!(error.contains("Not A Project"), "{error}");
    }
}
