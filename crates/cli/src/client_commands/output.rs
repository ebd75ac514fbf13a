//! Printing: tables for people, JSON for scripts, times and durations in one format.

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, Color, ContentArrangement, Table};
use serde::Serialize;
use std::fmt::Display;
use std::io::{IsTerminal, Write};

/// Writes text to stdout; a closed pipe (`| head`) ends output quietly.
pub fn emit(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    let written = stdout
        .write_all(text.as_bytes())
        .and_then(|()| {
            if text.ends_with('\n') || text.is_empty() {
                Ok(())
            } else {
                stdout.write_all(b"\n")
            }
        })
        .and_then(|()| stdout.flush());
    match written {
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing to stdout"),
    }
}

/// Pretty JSON of a value on stdout.
pub fn print_json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    emit(&serde_json::to_string_pretty(value).context("encoding JSON output")?)
}

/// A table with these column headers.
pub fn new_table<I, S>(header: I) -> Table
where
    I: IntoIterator<Item = S>,
    S: Into<Cell>,
{
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header);
    table
}

/// A two-column table of `field  value` rows (no header).
pub fn new_details() -> Table {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    table
}

pub fn print_table(table: &Table) -> anyhow::Result<()> {
    emit(&table.to_string())
}

/// Whether stdout is a terminal that may be coloured (`NO_COLOR` unset).
pub fn colour_enabled() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// A cell coloured after a state or phase (only on a colour terminal).
pub fn state_cell(state: &str) -> Cell {
    let cell = Cell::new(state);
    if !colour_enabled() {
        return cell;
    }
    match state.to_ascii_lowercase().as_str() {
        "succeeded" => cell.fg(Color::Green),
        "failed" | "error" => cell.fg(Color::Red),
        "running" | "pending" => cell.fg(Color::Yellow),
        "disabled" => cell.fg(Color::DarkGrey),
        _ => cell,
    }
}

/// `2026-11-25 12:00:00Z`, or `-` when absent.
pub fn format_time(at: Option<DateTime<Utc>>) -> String {
    at.map(|at| at.format("%Y-%m-%d %H:%M:%SZ").to_string())
        .unwrap_or_else(|| "-".to_owned())
}

/// The value, or `-` when absent.
pub fn format_or_dash<T: Display>(value: Option<T>) -> String {
    value
        .map(|v| v.to_string())
        .unwrap_or_else(|| "-".to_owned())
}

/// Pretty JSON for a table cell or a block of text.
pub fn format_json(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

/// A line on stderr for hints that must not pollute stdout (e.g. "more pages").
pub fn hint(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_and_absent_values_format() {
        let at = Utc.with_ymd_and_hms(2026, 11, 25, 12, 3, 4).single();
        assert_eq!(format_time(at), "2026-11-25 12:03:04Z");
        assert_eq!(format_time(None), "-");
        assert_eq!(format_or_dash(Some(3)), "3");
        assert_eq!(format_or_dash(None::<i32>), "-");
    }
}
