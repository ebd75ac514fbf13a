//! The end of a node's log, as the run's output and the run page show it, or the whole log a
//! piece at a time (a download): never the whole log in memory, which can be larger than it.

use super::OrchestratorError;
use futures::stream::{self, BoxStream, StreamExt};
use std::path::{Path, PathBuf};
use tokio::io::AsyncReadExt;

/// One node's log: its last bytes, and how long the whole log is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeLog {
    pub text: String,
    pub total_bytes: u64,
}

impl NodeLog {
    /// The bytes before `text` that were not read.
    pub fn dropped_bytes(&self) -> u64 {
        self.total_bytes.saturating_sub(self.text.len() as u64)
    }
}

/// Keeps the last `max` bytes of a log read front to back (Argo Server streams it whole).
#[derive(Debug)]
pub(crate) struct TailBuffer {
    text: String,
    max: usize,
    total: u64,
}

impl TailBuffer {
    pub(crate) fn new(max: u64) -> Self {
        Self {
            text: String::new(),
            max: usize::try_from(max).unwrap_or(usize::MAX),
            total: 0,
        }
    }

    pub(crate) fn push(&mut self, piece: &str) {
        self.total += piece.len() as u64;
        self.text.push_str(piece);
        // Trim only when twice over, so a long log costs amortised O(1) per byte.
        if self.text.len() > self.max.saturating_mul(2) {
            self.trim();
        }
    }

    fn trim(&mut self) {
        let mut cut = self.text.len().saturating_sub(self.max);
        while !self.text.is_char_boundary(cut) {
            cut += 1;
        }
        self.text.drain(..cut);
    }

    pub(crate) fn finish(mut self) -> NodeLog {
        self.trim();
        NodeLog {
            text: self.text,
            total_bytes: self.total,
        }
    }
}

/// A node's whole log from its start, a piece at a time: never whole in memory.
pub type LogPieces = BoxStream<'static, Result<String, OrchestratorError>>;

/// Text from bytes that arrive in pieces: a character split between two pieces is kept for the
/// next, invalid bytes become U+FFFD and NUL too (output must be storable as text).
#[derive(Debug, Default)]
pub(crate) struct Utf8Pieces {
    carry: Vec<u8>,
}

impl Utf8Pieces {
    pub(crate) fn push(&mut self, bytes: &[u8]) -> String {
        self.carry.extend_from_slice(bytes);
        let whole = match std::str::from_utf8(&self.carry) {
            Ok(_) => self.carry.len(),
            // Incomplete at the end (no error length): keep those bytes for the next piece.
            Err(error) if error.error_len().is_none() => error.valid_up_to(),
            Err(_) => self.carry.len(),
        };
        let rest = self.carry.split_off(whole);
        let text = String::from_utf8_lossy(&std::mem::replace(&mut self.carry, rest)).into_owned();
        polyphemus_model::text::scrub_owned(text)
    }

    pub(crate) fn finish(self) -> String {
        polyphemus_model::text::scrub_owned(String::from_utf8_lossy(&self.carry).into_owned())
    }
}

const FILE_PIECE_BYTES: usize = 64 * 1024;

/// The files one after another, 64 KiB at a time; a file that does not exist is skipped.
pub(crate) fn file_pieces(paths: Vec<PathBuf>) -> LogPieces {
    struct Reading {
        paths: std::vec::IntoIter<PathBuf>,
        file: Option<(PathBuf, tokio::fs::File)>,
        text: Utf8Pieces,
    }
    let start = Reading {
        paths: paths.into_iter(),
        file: None,
        text: Utf8Pieces::default(),
    };
    stream::unfold(Some(start), |reading| async move {
        let mut reading = reading?;
        let mut buffer = vec![0; FILE_PIECE_BYTES];
        loop {
            let Some((path, file)) = reading.file.as_mut() else {
                let Some(path) = reading.paths.next() else {
                    let rest = std::mem::take(&mut reading.text).finish();
                    return (!rest.is_empty()).then_some((Ok(rest), None));
                };
                match tokio::fs::File::open(&path).await {
                    Ok(file) => reading.file = Some((path, file)),
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                    Err(error) => {
                        let error = unreadable(&path, &error);
                        return Some((Err(error), None));
                    }
                }
                continue;
            };
            match file.read(&mut buffer).await {
                Ok(0) => reading.file = None,
                Ok(read) => {
                    let text = reading.text.push(&buffer[..read]);
                    if !text.is_empty() {
                        return Some((Ok(text), Some(reading)));
                    }
                }
                Err(error) => return Some((Err(unreadable(path, &error)), None)),
            }
        }
    })
    .boxed()
}

fn unreadable(path: &Path, error: &std::io::Error) -> OrchestratorError {
    OrchestratorError::Unavailable(format!("reading the log {}: {error}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_character_split_between_pieces_is_decoded_whole() {
        let bytes = "é\0x".as_bytes();
        let mut text = Utf8Pieces::default();
        let first = text.push(&bytes[..1]);
        let second = text.push(&bytes[1..]);
        assert_eq!(first, "");
        assert_eq!(second, "é\u{FFFD}x");
        let mut broken = Utf8Pieces::default();
        assert_eq!(broken.push(b"a\xffb"), "a\u{FFFD}b");
        assert_eq!(broken.push(&[0xc3]), "");
        assert_eq!(broken.finish(), "\u{FFFD}");
    }

    #[tokio::test]
    async fn file_pieces_read_each_file_whole_in_order_and_skip_missing_ones() {
        let dir = std::env::temp_dir().join(format!("node-log-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("dir");
        let big = "line of a long log\n".repeat(10_000);
        std::fs::write(dir.join("a.log"), &big).expect("write");
        std::fs::write(dir.join("b.log"), "end\n").expect("write");
        let paths = vec![
            dir.join("a.log"),
            dir.join("missing.log"),
            dir.join("b.log"),
        ];
        let pieces: Vec<String> = file_pieces(paths)
            .map(|piece| piece.expect("piece"))
            .collect()
            .await;
        assert!(pieces.len() > 2, "read in pieces");
        assert_eq!(pieces.concat(), format!("{big}end\n"));
        std::fs::remove_dir_all(&dir).expect("clean up");
    }

    #[test]
    fn a_tail_buffer_keeps_the_last_bytes_and_counts_them_all() {
        let mut tail = TailBuffer::new(5);
        for piece in ["abc\n", "déf\n", "ghi\n"] {
            tail.push(piece);
        }
        let log = tail.finish();
        assert_eq!(log.text, "\nghi\n");
        assert_eq!(log.total_bytes, 13);
        assert_eq!(log.dropped_bytes(), 8);
    }
}
