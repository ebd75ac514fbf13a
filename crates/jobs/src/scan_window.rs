//! The time window a scan covers, from the run's params: a backfill's `start_time`/`end_time`;
//! else, with `override_interval`, windows that follow one another (each from the end the
//! previous run recorded, or `initial_start_scan_time`, to an interval later); else from
//! `initial_start_scan_time` (if set) to now. Without a window every file counts: the ledgers
//! know what was copied, so a file arriving late with an old mtime (`rsync -t`) is still
//! copied. A window never ends past what has settled (now minus `min_age_s`), so a file too
//! young for this scan falls in the next one. Kept apart from listing so it is tested alone.

use crate::JobError;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use polyphemus_model::Every;
use serde_json::{json, Value};

/// The state key the window is recorded under, read back by the next run.
pub const SCAN_WINDOW_KEY: &str = "scan_window";

/// The window params of a run (merged runtime params).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WindowParams {
    pub start_time: Option<DateTime<Utc>>,
    pub end_time: Option<DateTime<Utc>>,
    pub initial_start_scan_time: Option<DateTime<Utc>>,
    pub override_interval: Option<Duration>,
    pub override_root_path: Option<String>,
}

/// `[start, end)`; no start means every file up to `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanWindow {
    pub start: Option<DateTime<Utc>>,
    pub end: DateTime<Utc>,
}

impl WindowParams {
    /// Reads the params; a present one that does not parse is a config error naming it.
    pub fn parse(params: &Value) -> Result<Self, JobError> {
        Ok(Self {
            start_time: time_param(params, "start_time")?,
            end_time: time_param(params, "end_time")?,
            initial_start_scan_time: time_param(params, "initial_start_scan_time")?,
            override_interval: interval_param(params)?,
            override_root_path: match &params["override_root_path"] {
                Value::Null => None,
                Value::String(path) if !path.trim().is_empty() => Some(path.clone()),
                _ => return Err(bad("override_root_path", "must be a non-empty path")),
            },
        })
    }

    /// The window to scan, given the end the previous run recorded and the newest mtime a
    /// file may have to be settled (now minus `min_age_s`).
    pub fn window(
        &self,
        previous_end: Option<DateTime<Utc>>,
        settled: DateTime<Utc>,
    ) -> ScanWindow {
        let start = match (self.start_time, self.override_interval) {
            (Some(start), _) => Some(start),
            (None, Some(_)) => previous_end.or(self.initial_start_scan_time),
            (None, None) => self.initial_start_scan_time,
        };
        let end = match (self.end_time, start, self.override_interval) {
            (Some(end), _, _) => end,
            (None, Some(start), Some(interval)) => (start + interval).min(settled),
            _ => settled,
        };
        ScanWindow { start, end }
    }
}

impl ScanWindow {
    /// Whether a file modified at `mtime` (Unix seconds) falls in the window.
    pub fn contains(&self, mtime: i64) -> bool {
        let after_start = self.start.is_none_or(|start| mtime >= start.timestamp());
        after_start && mtime < self.end.timestamp()
    }

    /// What the run records in its state.
    pub fn to_state(self) -> Value {
        let text = |at: DateTime<Utc>| at.to_rfc3339_opts(SecondsFormat::Secs, true);
        json!({"start_time": self.start.map(text), "end_time": text(self.end)})
    }
}

/// The `end_time` an earlier run recorded under [`SCAN_WINDOW_KEY`].
pub fn recorded_end(previous: &Value) -> Option<DateTime<Utc>> {
    let text = previous.get("end_time")?.as_str()?;
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|at| at.with_timezone(&Utc))
}

fn time_param(params: &Value, name: &'static str) -> Result<Option<DateTime<Utc>>, JobError> {
    match &params[name] {
        Value::Null => Ok(None),
        Value::String(text) => DateTime::parse_from_rfc3339(text.trim())
            .map(|at| Some(at.with_timezone(&Utc)))
            .map_err(|_| bad(name, "must be an RFC 3339 time, e.g. 2026-11-01T00:00:00Z")),
        _ => Err(bad(
            name,
            "must be an RFC 3339 time, e.g. 2026-11-01T00:00:00Z",
        )),
    }
}

fn interval_param(params: &Value) -> Result<Option<Duration>, JobError> {
    const NAME: &str = "override_interval";
    let every = match &params[NAME] {
        Value::Null => return Ok(None),
        Value::Number(seconds) => seconds.as_i64().and_then(Every::from_seconds),
        Value::String(text) => Every::parse(NAME, text).ok(),
        _ => None,
    };
    every
        .map(|every| Some(Duration::seconds(every.seconds())))
        .ok_or_else(|| {
            bad(
                NAME,
                "must be positive seconds or an interval like 90s, 30m, 6h, 1d",
            )
        })
}

fn bad(name: &str, why: &str) -> JobError {
    JobError::Config(format!("runtime param {name} {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("time")
            .with_timezone(&Utc)
    }

    fn params(value: Value) -> WindowParams {
        WindowParams::parse(&value).expect("params")
    }

    #[test]
    fn a_backfill_window_wins_over_everything() {
        let given = params(json!({"start_time": "2026-11-01T00:00:00Z",
            "end_time": "2026-11-02T00:00:00Z", "initial_start_scan_time": "2026-01-01T00:00:00Z",
            "override_interval": "6h"}));
        let window = given.window(Some(at("2026-10-01T00:00:00Z")), at("2026-12-01T00:00:00Z"));
        assert_eq!(window.start, Some(at("2026-11-01T00:00:00Z")));
        assert_eq!(window.end, at("2026-11-02T00:00:00Z"));
    }

    #[test]
    fn the_initial_start_bounds_every_scan_unless_windows_follow_one_another() {
        let now = at("2026-12-01T00:00:00Z");
        let given = params(json!({"initial_start_scan_time": "2026-01-01T00:00:00Z"}));
        let first = given.window(None, now);
        assert_eq!(
            (first.start, first.end),
            (Some(at("2026-01-01T00:00:00Z")), now)
        );
        let next = given.window(Some(at("2026-11-30T00:00:00Z")), now);
        assert_eq!(
            next.start,
            Some(at("2026-01-01T00:00:00Z")),
            "without override_interval a late file with an old mtime is still seen"
        );
        let following = params(json!({"initial_start_scan_time": "2026-01-01T00:00:00Z",
            "override_interval": "1d"}));
        assert_eq!(
            following.window(None, now).start,
            Some(at("2026-01-01T00:00:00Z"))
        );
        let next = following.window(Some(at("2026-11-30T00:00:00Z")), now);
        assert_eq!(next.start, Some(at("2026-11-30T00:00:00Z")));
        assert_eq!(next.end, now, "never past what has settled");
        assert_eq!(
            params(json!({})).window(None, now),
            ScanWindow {
                start: None,
                end: now
            }
        );
    }

    #[test]
    fn override_interval_ends_the_window_after_its_start() {
        let now = at("2026-12-01T00:00:00Z");
        for interval in [json!("1d"), json!(86_400)] {
            let given = params(json!({"override_interval": interval}));
            let window = given.window(Some(at("2026-11-01T00:00:00Z")), now);
            assert_eq!(window.end, at("2026-11-02T00:00:00Z"));
            assert_eq!(given.window(None, now).end, now, "no start: up to now");
        }
    }

    #[test]
    fn files_count_from_the_start_up_to_but_not_at_the_end() {
        let window = ScanWindow {
            start: Some(at("2026-11-01T00:00:00Z")),
            end: at("2026-11-02T00:00:00Z"),
        };
        let start = at("2026-11-01T00:00:00Z").timestamp();
        assert!(window.contains(start));
        assert!(!window.contains(start - 1));
        assert!(!window.contains(start + 86_400));
        assert_eq!(
            window.to_state(),
            json!({"start_time": "2026-11-01T00:00:00Z", "end_time": "2026-11-02T00:00:00Z"})
        );
        assert_eq!(
            recorded_end(&window.to_state()),
            Some(at("2026-11-02T00:00:00Z"))
        );
    }

    #[test]
    fn bad_params_are_named() {
        for (value, name) in [
            (json!({"start_time": "yesterday"}), "start_time"),
            (json!({"override_interval": "1w"}), "override_interval"),
            (json!({"override_interval": 0}), "override_interval"),
            (json!({"override_root_path": 3}), "override_root_path"),
        ] {
            let error = WindowParams::parse(&value).expect_err(name).to_string();
            assert!(error.contains(name), "{error}");
        }
    }
}
