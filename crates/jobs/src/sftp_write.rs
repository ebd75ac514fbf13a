//! Writing on an SFTP host so that a reader never sees a half file: directories are made as
//! needed, and a finished upload is renamed over its final name. OpenSSH's
//! `posix-rename@openssh.com` replaces the name atomically; SFTP v3's own rename refuses an
//! existing name, so without the extension an older file is removed first (a reader may then
//! briefly find no file, but never a partial one).

use crate::sftp::{SftpConnection, SftpSettings};
use crate::sftp_errors::sftp_kind;
use crate::JobError;
use russh_sftp::client::error::Error as SftpError;
use russh_sftp::client::{RawSftpSession, SftpSession};
use russh_sftp::protocol::{Packet, StatusCode};
use std::collections::HashSet;
use std::sync::Mutex;

const POSIX_RENAME: &str = "posix-rename@openssh.com";

/// An SFTP connection to write files through.
pub struct SftpWriter {
    connection: SftpConnection,
    /// A second channel for `posix-rename@openssh.com`, when the server offers it.
    raw: Option<RawSftpSession>,
    /// Directories known to exist, so each is checked once per run.
    dirs: Mutex<HashSet<String>>,
}

impl SftpWriter {
    pub async fn connect(settings: &SftpSettings) -> Result<Self, JobError> {
        let connection = SftpConnection::connect(settings).await?;
        let (raw, extensions) = connection.raw_session().await?;
        let posix_rename = extensions.get(POSIX_RENAME).is_some_and(|v| v == "1");
        Ok(Self {
            connection,
            raw: posix_rename.then_some(raw),
            dirs: Mutex::new(HashSet::new()),
        })
    }

    pub fn sftp(&self) -> &SftpSession {
        &self.connection.sftp
    }

    fn known(&self, dir: &str) -> bool {
        self.dirs.lock().is_ok_and(|dirs| dirs.contains(dir))
    }

    fn remember(&self, dir: &str) {
        if let Ok(mut dirs) = self.dirs.lock() {
            dirs.insert(dir.to_owned());
        }
    }

    /// Makes the absolute directory `dir` and whichever of its parents are missing.
    pub async fn create_dir_all(&self, dir: &str) -> Result<(), JobError> {
        let sftp = self.sftp();
        let mut missing = Vec::new();
        let mut current = dir.trim_end_matches('/');
        while !current.is_empty() && !self.known(current) {
            match sftp.metadata(current).await {
                Ok(found) if found.is_dir() => {
                    self.remember(current);
                    break;
                }
                Ok(_) => {
                    return Err(JobError::Permanent(format!(
                        "{current} exists and is not a directory"
                    )))
                }
                Err(_) => {
                    missing.push(current);
                    current = parent(current);
                }
            }
        }
        for dir in missing.into_iter().rev() {
            if let Err(error) = sftp.create_dir(dir).await {
                // Another file in flight may have just made it.
                let made = sftp.metadata(dir).await.is_ok_and(|found| found.is_dir());
                if !made {
                    let what = format!("cannot create {dir}: {error}");
                    return Err(JobError::of_kind(sftp_kind(&error), what));
                }
            }
            self.remember(dir);
        }
        Ok(())
    }

    /// Renames `from` to `to`, replacing a file already there.
    pub async fn replace(&self, from: &str, to: &str) -> Result<(), JobError> {
        let failed = |error: SftpError| {
            JobError::of_kind(sftp_kind(&error), format!("cannot rename to {to}: {error}"))
        };
        if let Some(raw) = &self.raw {
            let mut data = Vec::with_capacity(8 + from.len() + to.len());
            for path in [from, to] {
                let length = u32::try_from(path.len())
                    .map_err(|_| JobError::Permanent(format!("{path}: path too long")))?;
                data.extend_from_slice(&length.to_be_bytes());
                data.extend_from_slice(path.as_bytes());
            }
            return match raw.extended(POSIX_RENAME, data).await {
                Ok(Packet::Status(status)) if status.status_code == StatusCode::Ok => Ok(()),
                Ok(Packet::Status(status)) => Err(failed(SftpError::Status(status))),
                Ok(_) => Err(failed(SftpError::UnexpectedPacket)),
                Err(error) => Err(failed(error)),
            };
        }
        let sftp = self.sftp();
        if sftp.metadata(to).await.is_ok() {
            sftp.remove_file(to).await.map_err(|error| {
                let what = format!("cannot rename to {to}: the older file stays: {error}");
                JobError::of_kind(sftp_kind(&error), what)
            })?;
        }
        sftp.rename(from, to).await.map_err(failed)
    }
}

/// The directory holding the absolute `path` (`""` for the root).
pub fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

#[cfg(test)]
mod tests {
    use super::parent;

    #[test]
    fn parent_of_an_absolute_path() {
        assert_eq!(parent("/srv/drop/run-1/a.gz"), "/srv/drop/run-1");
        assert_eq!(parent("/srv"), "");
    }
}
