//! Reading what commands take: JSON from a file or stdin, secret values, intervals.

use anyhow::{anyhow, bail, Context as _};
use serde_json::Value;
use std::io::{IsTerminal, Read, Write};

/// Reads JSON from `FILE`, or from stdin when the source is `-`; `flag` names the option in
/// errors (e.g. `--config`).
pub fn read_json(source: &str, flag: &str) -> anyhow::Result<Value> {
    let (text, origin) = if source == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .with_context(|| format!("{flag} -: reading stdin"))?;
        (text, "stdin".to_owned())
    } else {
        let text = std::fs::read_to_string(source)
            .with_context(|| format!("{flag} {source}: cannot read the file"))?;
        (text, source.to_owned())
    };
    if text.trim().is_empty() {
        bail!("{flag}: {origin} is empty; expected a JSON document");
    }
    serde_json::from_str(&text).map_err(|e| anyhow!("{flag}: {origin} is not valid JSON: {e}"))
}

/// A secret's value: the argument, or stdin when it is `-` or absent (a prompt without echo
/// on a terminal). One trailing newline is dropped.
pub fn read_secret(name: &str, value: Option<String>) -> anyhow::Result<String> {
    let value = match value {
        Some(value) if value != "-" => value,
        _ => read_secret_from_stdin(name)?,
    };
    if value.is_empty() {
        bail!(
            "the value of secret {name} is empty; to remove a secret use \
             `polyphemus secrets unset CONFIG_ID {name}`"
        );
    }
    Ok(value)
}

fn read_secret_from_stdin(name: &str) -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    let mut text = String::new();
    if stdin.is_terminal() {
        let mut stderr = std::io::stderr();
        let _ = write!(stderr, "value of secret {name} (not echoed): ");
        let _ = stderr.flush();
        let echo = EchoOff::new();
        stdin
            .read_line(&mut text)
            .context("reading the secret from the terminal")?;
        drop(echo);
        let _ = writeln!(stderr);
    } else {
        stdin
            .lock()
            .read_to_string(&mut text)
            .context("reading the secret from stdin")?;
    }
    Ok(strip_newline(text))
}

fn strip_newline(mut text: String) -> String {
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    text
}

/// Turns terminal echo off while it lives (best effort, through `stty`).
struct EchoOff {
    active: bool,
}

impl EchoOff {
    fn new() -> Self {
        Self {
            active: stty("-echo"),
        }
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        if self.active {
            stty("echo");
        }
    }
}

#[cfg(unix)]
fn stty(setting: &str) -> bool {
    std::process::Command::new("stty")
        .arg(setting)
        .stdin(std::process::Stdio::inherit())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

#[cfg(not(unix))]
fn stty(_setting: &str) -> bool {
    false
}

/// `90s`, `30m`, `1h`, `1d`, `1h30m` or plain seconds, as seconds (at least 1).
pub fn parse_interval(text: &str) -> Result<i64, String> {
    let invalid = || format!("{text:?} is not an interval such as 90s, 30m, 1h, 1d or 1h30m");
    let text = text.trim();
    if let Ok(seconds) = text.parse::<i64>() {
        return if seconds > 0 {
            Ok(seconds)
        } else {
            Err("the interval must be at least 1s".to_owned())
        };
    }
    let mut total: i64 = 0;
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(invalid()),
        };
        let amount: i64 = digits.parse().map_err(|_| invalid())?;
        total = amount
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(invalid)?;
        digits.clear();
    }
    if !digits.is_empty() || total == 0 {
        return Err(invalid());
    }
    Ok(total)
}

/// Seconds as `1d2h`, `1h30m`, `90s` → `1m30s`.
pub fn format_interval(seconds: i64) -> String {
    if seconds <= 0 {
        return format!("{seconds}s");
    }
    let mut rest = seconds;
    let mut text = String::new();
    for (unit, suffix) in [(86_400, "d"), (3600, "h"), (60, "m"), (1, "s")] {
        if rest >= unit {
            text.push_str(&format!("{}{suffix}", rest / unit));
            rest %= unit;
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_parse_with_units() {
        assert_eq!(parse_interval("90s"), Ok(90));
        assert_eq!(parse_interval("30m"), Ok(1800));
        assert_eq!(parse_interval("1h"), Ok(3600));
        assert_eq!(parse_interval("1h30m"), Ok(5400));
        assert_eq!(parse_interval("1d"), Ok(86_400));
        assert_eq!(parse_interval("600"), Ok(600));
        for bad in [
            "",
            "0",
            "-5",
            "1x",
            "h",
            "1h30",
            "0s",
            "99999999999999999999d",
        ] {
            assert!(parse_interval(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn intervals_format_compactly() {
        assert_eq!(format_interval(3600), "1h");
        assert_eq!(format_interval(5400), "1h30m");
        assert_eq!(format_interval(90), "1m30s");
        assert_eq!(format_interval(90_061), "1d1h1m1s");
    }

    #[test]
    fn one_trailing_newline_is_dropped() {
        assert_eq!(strip_newline("pw\n".into()), "pw");
        assert_eq!(strip_newline("pw\r\n".into()), "pw");
        assert_eq!(strip_newline("pw\n\n".into()), "pw\n");
        assert_eq!(strip_newline("pw".into()), "pw");
    }
}
