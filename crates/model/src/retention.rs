//! Retention: how long a project keeps its ended runs and their outputs, how many of them, and
//! what one pruning removed (or would remove).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use utoipa::ToSchema;

use crate::{InvalidValue, ProjectName, RunId};

/// Declares a non-negative count that reads and writes as a plain integer.
macro_rules! bounded_count {
    ($(#[$doc:meta])* $name:ident, max = $max:expr, $unit:literal) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
            ToSchema,
        )]
        #[serde(try_from = "i64", into = "i32")]
        #[cfg_attr(feature = "sqlx", derive(sqlx::Type), sqlx(transparent))]
        pub struct $name(i32);

        impl $name {
            pub const MAX: i32 = $max;

            /// `value` if it is between 0 and [`Self::MAX`]; the error names `field`.
            pub fn parse(field: &'static str, value: i64) -> Result<Self, InvalidValue> {
                match i32::try_from(value) {
                    Ok(value) if (0..=Self::MAX).contains(&value) => Ok(Self(value)),
                    _ => Err(InvalidValue::new(
                        field,
                        format!(
                            "must be a whole number of {} from 0 to {}, or null to keep forever",
                            $unit,
                            Self::MAX
                        ),
                    )),
                }
            }

            pub const fn get(self) -> i32 {
                self.0
            }
        }

        impl TryFrom<i64> for $name {
            type Error = InvalidValue;
            fn try_from(value: i64) -> Result<Self, Self::Error> {
                Self::parse(stringify!($name), value)
            }
        }

        impl From<$name> for i32 {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

bounded_count!(
    /// Days something is kept after its run ended (0: pruned at the next pass).
    RetentionDays,
    max = 36_500,
    "days"
);

bounded_count!(
    /// How many ended runs of one outcome each config keeps, newest first (Argo's
    /// `successfulJobsHistoryLimit` / `failedJobsHistoryLimit`).
    HistoryLimit,
    max = 1_000_000,
    "runs"
);

/// A project's retention policy. `null` keeps that part forever; a project that never set a
/// policy keeps everything. Whatever the policy says, unfinished runs are never touched, and
/// for each config and state key the run holding its latest value is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RetentionPolicy {
    pub project_name: ProjectName,
    /// Ended runs older than this many days are deleted (their metadata stays).
    #[schema(value_type = Option<i32>, minimum = 0, maximum = 36_500)]
    pub keep_runs_days: Option<RetentionDays>,
    /// Outputs of runs that ended more than this many days ago are emptied (the run stays).
    #[schema(value_type = Option<i32>, minimum = 0, maximum = 36_500)]
    pub keep_output_days: Option<RetentionDays>,
    /// Each config keeps this many succeeded runs; older ones are deleted.
    #[schema(value_type = Option<i32>, minimum = 0, maximum = 1_000_000)]
    pub successful_runs_history_limit: Option<HistoryLimit>,
    /// Each config keeps this many failed (Failed or Error) runs; older ones are deleted.
    #[schema(value_type = Option<i32>, minimum = 0, maximum = 1_000_000)]
    pub failed_runs_history_limit: Option<HistoryLimit>,
    /// When the policy was last changed; `null` if it never was.
    pub updated_at: Option<DateTime<Utc>>,
}

impl RetentionPolicy {
    /// The policy of a project that never set one: keep everything.
    pub fn keep_everything(project_name: ProjectName) -> Self {
        Self {
            project_name,
            keep_runs_days: None,
            keep_output_days: None,
            successful_runs_history_limit: None,
            failed_runs_history_limit: None,
            updated_at: None,
        }
    }

    /// Whether the policy prunes nothing.
    pub fn keeps_everything(&self) -> bool {
        self.keep_runs_days.is_none()
            && self.keep_output_days.is_none()
            && self.successful_runs_history_limit.is_none()
            && self.failed_runs_history_limit.is_none()
    }
}

/// `PUT /projects/{project}/retention`: the given fields change, absent ones stay, `null`
/// keeps that part forever.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutRetentionPolicy {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::config::double_option"
    )]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 36_500)]
    pub keep_runs_days: Option<Option<i64>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::config::double_option"
    )]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 36_500)]
    pub keep_output_days: Option<Option<i64>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::config::double_option"
    )]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 1_000_000)]
    pub successful_runs_history_limit: Option<Option<i64>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::config::double_option"
    )]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 1_000_000)]
    pub failed_runs_history_limit: Option<Option<i64>>,
}

/// What one pruning of a project removed, or with `dry_run` would remove.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PruneReport {
    pub project_name: ProjectName,
    pub dry_run: bool,
    /// Runs deleted with their task tokens (their metadata stays).
    pub deleted_runs: Vec<RunId>,
    /// Runs kept whose output was emptied.
    pub emptied_outputs: Vec<RunId>,
    /// Bytes of output freed: the emptied outputs and those of the deleted runs.
    pub output_bytes: u64,
    /// Local run directories (node logs, work files) removed.
    pub run_dirs: u64,
    /// Bytes of the files in those directories.
    pub run_dir_bytes: u64,
}

impl PruneReport {
    pub fn is_empty(&self) -> bool {
        self.deleted_runs.is_empty() && self.emptied_outputs.is_empty() && self.run_dirs == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_whole_numbers_from_zero_to_their_maximum() {
        assert_eq!(
            RetentionDays::parse("keep_runs_days", 0).map(|d| d.get()),
            Ok(0)
        );
        let refused = RetentionDays::parse("keep_runs_days", -1).expect_err("negative");
        assert_eq!(refused.field, "keep_runs_days");
        assert!(RetentionDays::parse("d", 36_501).is_err());
        assert!(HistoryLimit::parse("l", i64::MAX).is_err());
        let limit: HistoryLimit = serde_json::from_str("10").expect("integer");
        assert_eq!(serde_json::to_string(&limit).expect("json"), "10");
        assert!(serde_json::from_str::<HistoryLimit>("-3").is_err());
    }

    #[test]
    fn a_put_tells_an_absent_field_from_null() {
        let put: PutRetentionPolicy =
            serde_json::from_str(r#"{"keep_runs_days": null, "keep_output_days": 7}"#)
                .expect("body");
        assert_eq!(put.keep_runs_days, Some(None));
        assert_eq!(put.keep_output_days, Some(Some(7)));
        assert_eq!(put.successful_runs_history_limit, None);
        assert!(serde_json::from_str::<PutRetentionPolicy>(r#"{"keep": 1}"#).is_err());
    }
}
