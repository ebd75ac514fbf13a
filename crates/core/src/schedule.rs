//! When a runtime config is next due: fixed intervals or 5-field cron in a time zone.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use croner::Cron;
use polyphemus_model::CronExpr;

/// A parsed schedule.
#[derive(Debug, Clone)]
pub enum Schedule {
    Every(Duration),
    Cron { cron: Box<Cron>, timezone: Tz },
}

impl Schedule {
    /// A cron expression read in a time zone (UTC when absent).
    pub fn cron(expression: &CronExpr, timezone: Option<&str>) -> Result<Self, String> {
        let cron = Cron::new(expression.as_str())
            .parse()
            .map_err(|error| error.to_string())?;
        Ok(Schedule::Cron {
            cron: Box::new(cron),
            timezone: parse_timezone(timezone)?,
        })
    }

    pub fn every_seconds(seconds: i64) -> Result<Self, String> {
        if !(1..=366 * 86_400).contains(&seconds) {
            return Err("must be between 1 second and 366 days".into());
        }
        Ok(Schedule::Every(Duration::seconds(seconds)))
    }

    /// The first due time strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Every(interval) => Some(after + *interval),
            Schedule::Cron { cron, timezone } => cron
                .find_next_occurrence(&after.with_timezone(timezone), false)
                .ok()
                .map(|at| at.with_timezone(&Utc)),
        }
    }
}

/// An IANA time zone name (`Europe/Berlin`); absent means UTC.
pub fn parse_timezone(name: Option<&str>) -> Result<Tz, String> {
    match name {
        None => Ok(Tz::UTC),
        Some(name) => name.parse::<Tz>().map_err(|_| {
            format!("unknown time zone {name:?} (use an IANA name such as Europe/Berlin)")
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn cron(expression: &str) -> CronExpr {
        CronExpr::parse(expression).expect("valid cron")
    }

    #[test]
    fn cron_is_read_in_its_time_zone() {
        let schedule = Schedule::cron(&cron("30 2 * * *"), Some("Europe/Berlin")).expect("parses");
        let after = Utc
            .with_ymd_and_hms(2026, 1, 10, 12, 0, 0)
            .single()
            .expect("valid");
        let next = schedule.next_after(after).expect("has a next time");
        // 02:30 in Berlin in winter is 01:30 UTC.
        assert_eq!(
            next,
            Utc.with_ymd_and_hms(2026, 1, 11, 1, 30, 0)
                .single()
                .expect("valid")
        );
    }

    #[test]
    fn bad_schedules_are_refused() {
        assert!(CronExpr::parse("* * * *").is_err());
        assert!(CronExpr::parse("61 * * * *").is_err());
        assert!(Schedule::cron(&cron("0 * * * *"), Some("Mars/Olympus")).is_err());
        assert!(Schedule::every_seconds(0).is_err());
    }

    #[test]
    fn intervals_add_to_the_last_time() {
        let schedule = Schedule::every_seconds(3600).expect("valid");
        let after = Utc
            .with_ymd_and_hms(2026, 1, 10, 12, 0, 0)
            .single()
            .expect("valid");
        assert_eq!(schedule.next_after(after), Some(after + Duration::hours(1)));
    }
}
