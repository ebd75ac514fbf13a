//! The named vocabulary: projects, runs, workflow types and secrets, each checked once when it
//! is parsed, so inner layers never see an invalid one.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use utoipa::ToSchema;

use crate::{check_key, InvalidValue};

/// Declares a newtype over `String` that reads and writes as a string, checked by `$check`;
/// `$pattern` says the same in the OpenAPI document (a unit test holds the two together).
macro_rules! text_name {
    ($(#[$doc:meta])* $name:ident, $pattern:literal, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        #[cfg_attr(feature = "sqlx", derive(sqlx::Type), sqlx(transparent))]
        pub struct $name(String);

        impl $name {
            /// The JSON Schema `pattern` of the name.
            pub const PATTERN: &'static str = $pattern;
        }

        // By hand: utoipa's derive takes no `pattern` on a newtype's field.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .pattern(Some($pattern))
                    .into()
            }
        }

        impl ToSchema for $name {}

        impl $name {
            pub fn parse(value: impl Into<String>) -> Result<Self, InvalidValue> {
                let value = value.into();
                let check: fn(&str) -> Result<(), InvalidValue> = $check;
                check(&value).map(|()| Self(value))
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidValue;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(value)
            }
        }

        impl FromStr for $name {
            type Err = InvalidValue;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Self::parse(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

fn is_slug(value: &str, max: usize) -> bool {
    !value.is_empty()
        && value.len() <= max
        && value
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn slug(field: &'static str) -> impl Fn(&str) -> Result<(), InvalidValue> {
    move |value| {
        if is_slug(value, 63) {
            Ok(())
        } else {
            Err(InvalidValue::new(
                field,
                "must be 1-63 lowercase letters, digits, '-' or '_', starting with a letter or digit",
            ))
        }
    }
}

text_name!(
    /// A project's name: lowercase letters, digits, `-` and `_`, at most 63 characters.
    ProjectName,
    "^[a-z0-9][a-z0-9_-]{0,62}$",
    |value| slug("project")(value)
);

text_name!(
    /// A workflow type: the name of a workflow manifest (`sftp-to-storage`).
    WorkflowType,
    "^[a-z0-9][a-z0-9_-]{0,62}$",
    |value| slug("workflow_type")(value)
);

text_name!(
    /// The name of one secret of a config: 1-128 letters, digits, `_`, `-` or `.`.
    SecretName,
    "^[A-Za-z0-9_.-]{1,128}$",
    |value| check_key("secrets", value)
);

text_name!(
    /// A config's ledger (`copied`, `deposited`): 1-128 letters, digits, `_`, `-` or `.`.
    LedgerName,
    "^[A-Za-z0-9_.-]{1,128}$",
    |value| check_key("ledger", value)
);

text_name!(
    /// A run id: the orchestrator's workflow uid (a UUID for Argo; any 1-128 visible ASCII).
    RunId,
    "^[A-Za-z0-9_.:-]{1,128}$",
    |value| {
        let valid = !value.is_empty()
            && value.len() <= 128
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
        if valid {
            Ok(())
        } else {
            Err(InvalidValue::new(
                "run_id",
                "must be 1-128 characters of letters, digits, '-', '_', '.' or ':'",
            ))
        }
    }
);

text_name!(
    /// A WorkflowTemplate's `metadata.name`, as Kubernetes names objects (a DNS-1123
    /// subdomain): lowercase letters, digits, `-` and `.`, starting and ending with a letter or
    /// digit, at most 253 characters.
    WorkflowTemplateName,
    "^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$",
    |value| {
        let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        let bytes = value.as_bytes();
        let valid = !bytes.is_empty()
            && bytes.len() <= 253
            && bytes.first().copied().is_some_and(alnum)
            && bytes.last().copied().is_some_and(alnum)
            && bytes.iter().all(|&b| alnum(b) || b == b'-' || b == b'.');
        if valid {
            Ok(())
        } else {
            Err(InvalidValue::new(
                "metadata.name",
                "must be 1-253 lowercase letters, digits, '-' or '.', starting and ending with \
                 a letter or digit",
            ))
        }
    }
);

text_name!(
    /// A 5-field cron expression (minute hour day-of-month month day-of-week).
    CronExpr,
    "^\\s*\\S+(\\s+\\S+){4}\\s*$",
    |value| {
        let invalid = |reason: String| InvalidValue::new("cron", reason);
        if value.split_whitespace().count() != 5 {
            return Err(invalid(
                "must have 5 fields: minute hour day-of-month month day-of-week".into(),
            ));
        }
        croner::Cron::new(value)
            .parse()
            .map(|_| ())
            .map_err(|error| invalid(error.to_string()))
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_names_are_slugs() {
        assert!(ProjectName::parse("labors").is_ok());
        assert!(ProjectName::parse("lab-2_x").is_ok());
        assert!(ProjectName::parse("").is_err());
        assert!(ProjectName::parse("Labors").is_err());
        assert!(ProjectName::parse("-x").is_err());
        assert!(ProjectName::parse("a/b").is_err());
    }

    #[test]
    fn run_ids_reject_path_characters() {
        assert!(RunId::parse("3f1c-aa").is_ok());
        assert!(RunId::parse("a/b").is_err());
        assert!(RunId::parse("").is_err());
    }

    #[test]
    fn workflow_template_names_are_dns_subdomains() {
        for good in ["hello", "etl.copy-2", "a"] {
            assert!(WorkflowTemplateName::parse(good).is_ok(), "{good}");
        }
        for bad in ["", "Hello", "-x", "x-", "a/b", "a_b", &"a".repeat(254)] {
            assert!(WorkflowTemplateName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_parse_as_strings_on_the_wire() {
        let name: SecretName = serde_json::from_str("\"password\"").expect("valid");
        assert_eq!(name.as_str(), "password");
        assert!(serde_json::from_str::<SecretName>("\"pass word\"").is_err());
        assert!(serde_json::from_str::<WorkflowType>("\"Bad Type\"").is_err());
        assert_eq!(
            "sftp-to-storage".parse::<WorkflowType>().map(String::from),
            Ok("sftp-to-storage".to_owned())
        );
    }
}
