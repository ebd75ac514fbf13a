//! The numeric ids: a config's id across its versions, a version's number, and the pair.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use utoipa::ToSchema;

use crate::InvalidValue;

/// Declares a `Copy` newtype over an integer that reads and writes as that integer.
macro_rules! integer_id {
    ($(#[$doc:meta])* $name:ident($inner:ty), $field:literal) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
        )]
        #[serde(transparent)]
        #[cfg_attr(feature = "sqlx", derive(sqlx::Type), sqlx(transparent))]
        pub struct $name($inner);

        impl $name {
            pub const fn new(value: $inner) -> Self {
                Self(value)
            }
            pub const fn get(self) -> $inner {
                self.0
            }
        }

        impl From<$inner> for $name {
            fn from(value: $inner) -> Self {
                Self(value)
            }
        }

        impl From<$name> for $inner {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = InvalidValue;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                text.trim()
                    .parse::<$inner>()
                    .map(Self)
                    .map_err(|_| InvalidValue::new($field, format!("{text:?} is not a whole number")))
            }
        }
    };
}

integer_id!(
    /// Names a config across all its versions.
    ConfigId(i64),
    "config_id"
);

integer_id!(
    /// One version of a config; the first is 1, each changed `config` adds one.
    VersionNumber(i32),
    "version_number"
);

integer_id!(
    /// Names one backfill of a config.
    BackfillId(i64),
    "backfill_id"
);

impl VersionNumber {
    pub const FIRST: Self = Self(1);

    /// The version a changed config gets.
    pub const fn next(self) -> Self {
        Self(self.0 + 1)
    }

    /// The version before this one; the first has none, so it stays itself.
    pub fn previous(self) -> Self {
        Self((self.0 - 1).max(1))
    }
}

/// One version of one config: what a run instantiates and a task token is bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConfigVersion {
    pub config_id: ConfigId,
    pub version_number: VersionNumber,
}

impl ConfigVersion {
    pub const fn new(config_id: ConfigId, version_number: VersionNumber) -> Self {
        Self {
            config_id,
            version_number,
        }
    }
}

impl fmt::Display for ConfigVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "config {} version {}",
            self.config_id, self.version_number
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_read_and_write_as_plain_integers() {
        let id: ConfigId = serde_json::from_str("42").expect("integer");
        assert_eq!(id, ConfigId::new(42));
        assert_eq!(
            serde_json::to_string(&VersionNumber::new(3)).expect("json"),
            "3"
        );
        assert!("x".parse::<ConfigId>().is_err());
        assert_eq!(" 7".parse::<VersionNumber>(), Ok(VersionNumber::new(7)));
        let pair = ConfigVersion::new(ConfigId::new(4), VersionNumber::FIRST);
        assert_eq!(pair.to_string(), "config 4 version 1");
    }
}
