//! A run's `output` has a ceiling: what a step or a job writes past it is dropped and the
//! output ends with a marker saying so. Appends and the final sync both keep to it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::RunId;

/// The most bytes a run's `output` holds, marker included (`serve --max-run-output`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputLimit(u64);

/// Why a limit is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the run output limit must be between {min} and {max} bytes, not {given}", min = OutputLimit::MIN, max = OutputLimit::MAX)]
pub struct BadOutputLimit {
    pub given: u64,
}

/// Text cut to an [`OutputLimit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CappedText {
    pub text: String,
    /// Whether anything was dropped (the text then ends with the marker).
    pub truncated: bool,
}

impl OutputLimit {
    pub const DEFAULT: Self = Self(4 * 1024 * 1024);
    /// Room for the marker and some text.
    pub const MIN: u64 = 1024;
    /// PostgreSQL keeps at most 1 GB in a text value.
    pub const MAX: u64 = 512 * 1024 * 1024;

    pub fn new(bytes: u64) -> Result<Self, BadOutputLimit> {
        if (Self::MIN..=Self::MAX).contains(&bytes) {
            Ok(Self(bytes))
        } else {
            Err(BadOutputLimit { given: bytes })
        }
    }

    pub fn bytes(self) -> u64 {
        self.0
    }

    /// The line that ends an output cut at this limit.
    pub fn marker(self) -> String {
        format!(
            "\n[Polyphemus: output truncated at {} bytes; the steps' logs hold all of it]\n",
            self.0
        )
    }

    /// The most bytes an output holds before it is cut: room is kept for the marker.
    pub fn room(self) -> u64 {
        self.0.saturating_sub(self.marker().len() as u64)
    }

    /// `text` whole when it fits, else its start and the marker, within the limit (cut in
    /// place: an output can be megabytes).
    pub fn cap(self, mut text: String) -> CappedText {
        if text.len() as u64 <= self.room() {
            return CappedText {
                text,
                truncated: false,
            };
        }
        let end = prefix_end(&text, self.room_before_marker(0));
        text.truncate(end);
        text.push_str(&self.marker());
        CappedText {
            text,
            truncated: true,
        }
    }

    /// What of `append` goes after an output of `current` bytes (at most [`Self::room`]) that
    /// it would take past the room: the start that fits, then the marker.
    pub fn cap_append(self, current: u64, append: &str) -> String {
        let mut kept = prefix(append, self.room_before_marker(current));
        kept.push_str(&self.marker());
        kept
    }

    /// The output a run ends with: what its jobs appended (within the limit already), then
    /// its steps' logs, cut to the limit with the marker. An output that already ends with the
    /// marker is full: the logs stay in the steps' log files.
    pub fn join_logs(self, appended: &str, logs: &str) -> CappedText {
        if appended.is_empty() {
            return self.cap(logs.to_owned());
        }
        let logs = &lines_not_in(appended, logs);
        let mut text = appended.to_owned();
        if appended.ends_with(&self.marker()) {
            return CappedText {
                text,
                truncated: true,
            };
        }
        if !text.ends_with('\n') {
            text.push('\n');
        }
        let truncated = (text.len() + logs.len()) as u64 > self.room();
        if truncated {
            let piece = self.cap_append(text.len() as u64, logs);
            text.push_str(&piece);
        } else {
            text.push_str(logs);
        }
        CappedText { text, truncated }
    }

    fn room_before_marker(self, current: u64) -> usize {
        usize::try_from(self.room().saturating_sub(current)).unwrap_or(usize::MAX)
    }
}

/// The lines of `logs` that `appended` does not already hold as whole lines: a job's `log()`
/// writes each line both to its step's log and through the API, and the output keeps it once.
fn lines_not_in(appended: &str, logs: &str) -> String {
    let seen: std::collections::HashSet<&str> = appended.lines().collect();
    logs.split_inclusive('\n')
        .filter(|line| !seen.contains(line.trim_end_matches(['\n', '\r'])))
        .collect()
}

impl Default for OutputLimit {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The longest start of `text` of at most `max` bytes that ends on a character.
fn prefix(text: &str, max: usize) -> String {
    text[..prefix_end(text, max)].to_owned()
}

fn prefix_end(text: &str, max: usize) -> usize {
    let mut end = max.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    end
}

/// A run after a PATCH: its merged state and how much output it holds — not the output itself,
/// which a job appending line by line would otherwise receive again with every line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RunChanged {
    pub run_id: RunId,
    pub state: Value,
    /// Length of the stored output, in bytes.
    pub output_bytes: u64,
    /// Whether output was dropped at the server's limit (the output then ends with a marker).
    pub output_truncated: bool,
    pub updated_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_within_the_limit_is_kept_whole() {
        let limit = OutputLimit::new(1024).unwrap();
        let capped = limit.cap("hello".to_owned());
        assert_eq!((capped.text.as_str(), capped.truncated), ("hello", false));
    }

    #[test]
    fn text_past_the_limit_keeps_its_start_and_the_marker_within_the_limit() {
        let limit = OutputLimit::new(1024).unwrap();
        let text = "é".repeat(1000);
        let capped = limit.cap(text);
        assert!(capped.truncated);
        assert!(capped.text.len() as u64 <= 1024, "{}", capped.text.len());
        assert!(capped.text.ends_with(&limit.marker()));
        assert!(capped.text.starts_with("éé"));
    }

    #[test]
    fn an_append_past_the_limit_fills_the_room_left() {
        let limit = OutputLimit::new(1024).unwrap();
        let piece = limit.cap_append(900, &"x".repeat(500));
        assert_eq!(900 + piece.len() as u64, 1024);
        assert!(piece.ends_with(&limit.marker()));
    }

    #[test]
    fn logs_join_the_appended_output_within_the_limit() {
        let limit = OutputLimit::new(1024).unwrap();
        let joined = limit.join_logs("from the job", "=== step ===\nhi\n");
        assert_eq!(joined.text, "from the job\n=== step ===\nhi\n");
        assert!(!joined.truncated);
        let joined = limit.join_logs(&"a".repeat(600), &"b".repeat(600));
        assert!(joined.truncated && joined.text.len() as u64 == 1024);
        assert!(joined.text.starts_with(&"a".repeat(600)));
        let full = limit.cap("c".repeat(2000)).text;
        assert_eq!(limit.join_logs(&full, "more").text, full);
        let joined = limit.join_logs(
            "[discover] listing /in\n",
            "=== discover ===\n[discover] listing /in\nssh: warning\n",
        );
        assert_eq!(
            joined.text, "[discover] listing /in\n=== discover ===\nssh: warning\n",
            "a line the job both appended and printed is kept once"
        );
    }

    #[test]
    fn limits_outside_the_range_are_refused() {
        assert!(OutputLimit::new(10).is_err());
        assert!(OutputLimit::new(OutputLimit::MAX + 1).is_err());
        assert_eq!(OutputLimit::default().bytes(), 4 * 1024 * 1024);
    }
}
