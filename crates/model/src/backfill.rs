//! Backfills: one run of a config per time window of `[from, to)`, one after another, each
//! with its window in the run's params.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use utoipa::ToSchema;

use crate::{BackfillId, ConfigId, InvalidValue, ProjectName, RunId};

/// The most windows one backfill may have.
pub const MAX_BACKFILL_WINDOWS: i64 = 10_000;

/// Where a backfill stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BackfillState {
    /// The scheduler launches its windows one after another.
    Running,
    /// Stopped by someone; `resume` continues from the first window not yet succeeded.
    Stopped,
    /// Every window's run succeeded.
    Done,
    /// A window's run failed (`reason` names it); `resume` retries that window.
    Failed,
}

impl BackfillState {
    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        match text {
            "running" => Ok(Self::Running),
            "stopped" => Ok(Self::Stopped),
            "done" => Ok(Self::Done),
            "failed" => Ok(Self::Failed),
            _ => Err(InvalidValue::new(
                "state",
                "must be one of running, stopped, done, failed",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Stopped => "stopped",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }

    /// Whether the backfill will launch nothing more by itself.
    pub fn has_ended(self) -> bool {
        matches!(self, Self::Done | Self::Failed)
    }
}

impl std::str::FromStr for BackfillState {
    type Err = InvalidValue;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl fmt::Display for BackfillState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

crate::stored_as_text!(BackfillState);

/// The length of a backfill's window: a positive whole number of seconds, written `90s`,
/// `30m`, `6h`, `1d` or plain seconds (`3600`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Every(i64);

impl Every {
    pub fn parse(field: &'static str, text: &str) -> Result<Self, InvalidValue> {
        let text = text.trim();
        let invalid = || {
            InvalidValue::new(
                field,
                format!(
                    "{text:?} is not an interval: give a positive whole number with a unit, \
                     s, m, h or d (90s, 30m, 6h, 1d), or plain seconds"
                ),
            )
        };
        let (digits, unit) = match text.char_indices().last() {
            Some((at, unit)) if unit.is_ascii_alphabetic() => (&text[..at], unit),
            _ => (text, 's'),
        };
        let scale = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            _ => return Err(invalid()),
        };
        let count: i64 = digits.parse().map_err(|_| invalid())?;
        match count.checked_mul(scale) {
            Some(seconds) if seconds > 0 => Ok(Self(seconds)),
            _ => Err(invalid()),
        }
    }

    pub fn from_seconds(seconds: i64) -> Option<Self> {
        (seconds > 0).then_some(Self(seconds))
    }

    pub fn seconds(self) -> i64 {
        self.0
    }
}

/// The largest unit that divides it: `86400` is `1d`, `5400` is `90m`.
impl fmt::Display for Every {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (unit, scale) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
            if self.0 % scale == 0 {
                return write!(f, "{}{unit}", self.0 / scale);
            }
        }
        write!(f, "{}s", self.0)
    }
}

/// A point in time given as RFC 3339 (`2026-11-01T06:00:00Z`) or a plain date (`2026-11-01`,
/// midnight UTC).
pub fn parse_instant(field: &'static str, text: &str) -> Result<DateTime<Utc>, InvalidValue> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .map(|at| at.and_utc())
        .ok_or_else(|| {
            InvalidValue::new(
                field,
                format!("{text:?} is not an RFC 3339 time (2026-11-01T06:00:00Z) or a date (2026-11-01)"),
            )
        })
}

/// One window of a backfill: runs see it as the params `start_time` and `end_time`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BackfillWindow {
    pub start_time: DateTime<Utc>,
    pub end_time: DateTime<Utc>,
}

/// The windows `[from + i*every, min(from + (i+1)*every, to))` of a span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackfillSpan {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub every: Every,
}

impl BackfillSpan {
    /// The span, or why not: `to` must be after `from`, with at most
    /// [`MAX_BACKFILL_WINDOWS`] windows.
    pub fn new(from: DateTime<Utc>, to: DateTime<Utc>, every: Every) -> Result<Self, InvalidValue> {
        if to <= from {
            return Err(InvalidValue::new(
                "to",
                format!("must be after from ({from})"),
            ));
        }
        let span = Self { from, to, every };
        if span.windows() > MAX_BACKFILL_WINDOWS {
            return Err(InvalidValue::new(
                "every",
                format!(
                    "makes {} windows; a backfill has at most {MAX_BACKFILL_WINDOWS}",
                    span.windows()
                ),
            ));
        }
        Ok(span)
    }

    /// How many windows cover the span (the last may be shorter).
    pub fn windows(&self) -> i64 {
        let seconds = (self.to - self.from).num_seconds();
        let every = self.every.seconds();
        seconds / every + i64::from(seconds % every != 0)
    }

    /// Window `index` (0-based), `None` past the last.
    pub fn window(&self, index: i64) -> Option<BackfillWindow> {
        if index < 0 || index >= self.windows() {
            return None;
        }
        let offset = |i: i64| chrono::Duration::seconds(i.saturating_mul(self.every.seconds()));
        let start_time = self.from + offset(index);
        let end_time = (self.from + offset(index + 1)).min(self.to);
        Some(BackfillWindow {
            start_time,
            end_time,
        })
    }
}

/// `POST …/configs/{config_id}/backfills`: `from` and `to` in RFC 3339 or as dates, `every` as
/// `1d`, `6h`, `30m`, `90s` or seconds.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartBackfill {
    pub from: String,
    pub to: String,
    pub every: String,
}

/// The runs launched for one window, oldest first (a retried window has several).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WindowRuns {
    pub index: i64,
    #[serde(flatten)]
    pub window: BackfillWindow,
    pub run_ids: Vec<RunId>,
}

/// A backfill and its progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Backfill {
    pub id: BackfillId,
    pub project_name: ProjectName,
    pub config_id: ConfigId,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// The window length, as `1d`, `6h`, `30m` or `90s`.
    pub every: String,
    pub every_s: i64,
    pub state: BackfillState,
    /// How many windows the span has.
    pub windows: i64,
    /// How many windows' runs succeeded.
    pub done_windows: i64,
    /// The first window not yet succeeded (absent once done).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_window: Option<BackfillWindow>,
    /// The run of the current window, while one is launched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_run_id: Option<RunId>,
    /// Why it failed or stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Every window that has runs, with them (only on `GET …/backfills/{id}`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub window_runs: Vec<WindowRuns>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        parse_instant("at", text).expect("a time")
    }

    #[test]
    fn intervals_read_with_a_unit_or_as_seconds() {
        for (text, seconds) in [
            ("90s", 90),
            ("30m", 1_800),
            ("6h", 21_600),
            ("1d", 86_400),
            ("3600", 3_600),
        ] {
            assert_eq!(
                Every::parse("every", text).map(Every::seconds),
                Ok(seconds),
                "{text}"
            );
        }
        for bad in ["0d", "", "d", "1w", "-1h", "1.5h", "99999999999999999d"] {
            let error = Every::parse("every", bad).expect_err(bad);
            assert_eq!(error.field, "every");
            assert!(error.reason.contains("s, m, h or d"), "{error}");
        }
        assert_eq!(
            Every::parse("every", "90m").map(|e| e.to_string()),
            Ok("90m".into())
        );
        assert_eq!(
            Every::parse("every", "24h").map(|e| e.to_string()),
            Ok("1d".into())
        );
    }

    #[test]
    fn instants_read_as_rfc_3339_or_dates() {
        assert_eq!(at("2026-11-01"), at("2026-11-01T00:00:00Z"));
        assert_eq!(at("2026-11-01T02:00:00+02:00"), at("2026-11-01"));
        assert_eq!(
            parse_instant("from", "yesterday").map_err(|e| e.field),
            Err("from")
        );
    }

    #[test]
    fn windows_cover_the_span_and_the_last_is_cut_at_to() {
        let every = Every::parse("every", "1d").expect("1d");
        let span =
            BackfillSpan::new(at("2026-11-01"), at("2026-11-03T12:00:00Z"), every).expect("span");
        assert_eq!(span.windows(), 3);
        let window = |i| span.window(i).map(|w| (w.start_time, w.end_time));
        assert_eq!(window(0), Some((at("2026-11-01"), at("2026-11-02"))));
        assert_eq!(
            window(2),
            Some((at("2026-11-03"), at("2026-11-03T12:00:00Z")))
        );
        assert_eq!(window(3), None);
        let exact = BackfillSpan::new(at("2026-11-01"), at("2026-11-06"), every).expect("span");
        assert_eq!(exact.windows(), 5);
    }

    #[test]
    fn a_span_must_move_forward_and_stay_under_the_window_limit() {
        let every = Every::parse("every", "1s").expect("1s");
        let backwards = BackfillSpan::new(at("2026-11-02"), at("2026-11-01"), every);
        assert_eq!(backwards.map_err(|e| e.field), Err("to"));
        let empty = BackfillSpan::new(at("2026-11-01"), at("2026-11-01"), every);
        assert_eq!(empty.map_err(|e| e.field), Err("to"));
        let too_many = BackfillSpan::new(at("2026-11-01"), at("2026-11-02"), every);
        assert_eq!(too_many.map_err(|e| e.field), Err("every"));
    }
}
