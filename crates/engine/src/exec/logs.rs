//! A node's logs go to files as the step prints them, never into memory: `<base>.log` holds
//! stdout and stderr interleaved as they came (what the UI and the run's output show), and
//! `<base>.stdout.log` / `<base>.stderr.log` each stream (as Kubernetes keeps them apart).
//! Readers take a range of a file ([`read_tail`]), so a step printing gigabytes costs disk,
//! not the server's memory.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::fs::File;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Mutex;

use crate::state::Shared;

/// How much of stdout a node keeps as `outputs.result`: Argo's executor truncates it at 256 KiB.
pub const RESULT_LIMIT: usize = 256 * 1024;

/// The interleaved log of the node whose log files start with `base`.
pub fn combined_path(base: &Path) -> PathBuf {
    PathBuf::from(format!("{}.log", base.display()))
}

/// One stream's log file of the node whose log files start with `base`.
pub fn stream_path(base: &Path, stream: Stream) -> PathBuf {
    PathBuf::from(format!("{}.{}.log", base.display(), stream.name()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// The interleaved log file both streams of one node write to.
pub struct Combined {
    file: Mutex<Option<File>>,
    path: PathBuf,
}

impl Combined {
    pub fn new(base: &Path) -> Arc<Self> {
        Arc::new(Self {
            file: Mutex::new(None),
            path: combined_path(base),
        })
    }

    async fn write(&self, chunk: &[u8]) {
        let mut file = self.file.lock().await;
        if file.is_none() {
            *file = open(&self.path).await;
        }
        if let Some(f) = file.as_mut() {
            if let Err(e) = f.write_all(chunk).await {
                tracing::warn!(path = %self.path.display(), "cannot write the node log: {e}");
            }
        }
    }

    pub async fn flush(&self) {
        if let Some(f) = self.file.lock().await.as_mut() {
            let _ = f.flush().await;
        }
    }
}

async fn open(path: &Path) -> Option<File> {
    match File::create(path).await {
        Ok(f) => Some(f),
        Err(e) => {
            tracing::warn!(path = %path.display(), "cannot create the node log: {e}");
            None
        }
    }
}

/// What one stream's reader hands back: its first `keep` bytes.
pub struct Pumped {
    pub head: Vec<u8>,
}

/// Copies one stream of the step to its file and to the combined log as it comes (files are
/// created on the first byte, so a silent stream leaves none), keeping only its first `keep`
/// bytes in memory; each chunk tells watchers the run's logs changed.
pub async fn pump<R: AsyncReadExt + Unpin>(
    mut reader: R,
    stream: Stream,
    base: PathBuf,
    combined: Arc<Combined>,
    shared: Arc<Shared>,
    keep: usize,
) -> Pumped {
    let mut head = Vec::new();
    let mut own: Option<File> = None;
    let path = stream_path(&base, stream);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let chunk = &buf[..n];
        if head.len() < keep {
            let room = keep - head.len();
            head.extend_from_slice(&chunk[..room.min(n)]);
        }
        if own.is_none() {
            own = open(&path).await;
        }
        if let Some(f) = own.as_mut() {
            if let Err(e) = f.write_all(chunk).await {
                tracing::warn!(path = %path.display(), "cannot write the node log: {e}");
            }
        }
        combined.write(chunk).await;
        shared.logs_grew();
    }
    if let Some(f) = own.as_mut() {
        let _ = f.flush().await;
    }
    Pumped { head }
}

/// The last `max` bytes of the file at `path` (from a character boundary) and the file's
/// whole length; `None` when there is no such file.
pub fn read_tail(path: &Path, max: u64) -> std::io::Result<Option<(String, u64)>> {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let len = file.metadata()?.len();
    let start = len.saturating_sub(max);
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::with_capacity(usize::try_from(len - start).unwrap_or(0));
    file.take(max).read_to_end(&mut bytes)?;
    // A cut in the middle of a UTF-8 sequence leaves continuation bytes first: drop them.
    let skip = if start > 0 {
        bytes
            .iter()
            .take(3)
            .take_while(|b| (**b & 0b1100_0000) == 0b1000_0000)
            .count()
    } else {
        0
    };
    bytes.drain(..skip);
    // Valid UTF-8 (the usual case) becomes the String without a copy.
    let text = String::from_utf8(bytes)
        .unwrap_or_else(|invalid| String::from_utf8_lossy(invalid.as_bytes()).into_owned());
    Ok(Some((text, len)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tail_starts_at_a_character_and_says_the_whole_length() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.log");
        std::fs::write(&path, "aé€z").unwrap(); // 1 + 2 + 3 + 1 bytes
        let (tail, len) = read_tail(&path, 3).unwrap().unwrap();
        assert_eq!((tail.as_str(), len), ("z", 7));
        let (tail, _) = read_tail(&path, 4).unwrap().unwrap();
        assert_eq!(tail, "€z");
        let (whole, _) = read_tail(&path, 100).unwrap().unwrap();
        assert_eq!(whole, "aé€z");
        assert!(read_tail(&dir.path().join("none"), 10).unwrap().is_none());
    }
}
