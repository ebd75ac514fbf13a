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

impl Schedule {
    /// The shortest time between two of the next due times after `from` (over a week of a
    /// cron's firings: enough to see its densest hours and days).
    pub fn shortest_gap(&self, from: DateTime<Utc>) -> Option<Duration> {
        let mut at = self.next_after(from)?;
        let mut shortest: Option<Duration> = None;
        let horizon = from + Duration::days(8);
        for _ in 0..20_000 {
            let next = self.next_after(at)?;
            let gap = next - at;
            shortest = Some(shortest.map_or(gap, |s| s.min(gap)));
            if next > horizon {
                break;
            }
            at = next;
        }
        shortest
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

    #[test]
    fn the_shortest_gap_is_the_densest_firing() {
        let from = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        let gap = |cron: &str| {
            Schedule::cron(&CronExpr::parse(cron).unwrap(), None)
                .unwrap()
                .shortest_gap(from)
                .unwrap()
                .num_seconds()
        };
        assert_eq!(gap("*/5 * * * *"), 300);
        assert_eq!(gap("30 2 * * *"), 86_400);
        assert_eq!(
            gap("0,1 3 * * 1"),
            60,
            "two firings a minute apart, once a week"
        );
        let every = Schedule::every_seconds(90).unwrap();
        assert_eq!(every.shortest_gap(from).unwrap().num_seconds(), 90);
    }

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
