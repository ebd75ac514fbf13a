//! The SFTP side of the jobs: connecting with a pinned host key, password or key auth, and
//! listing files under a root. Built on russh / russh-sftp (pure Rust, async).

use crate::sftp_errors::{is_no_such_file, sftp_kind, ssh_kind};
use crate::{FailureKind, JobContext, JobError};
use russh::client::{self, Handle};
use russh::keys::{HashAlg, PrivateKeyWithHashAlg, PublicKeyOrCertificate};
use russh::ChannelStream;
use russh_sftp::client::{RawSftpSession, SftpSession};
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Where and how to connect, from the config version and its secrets.
#[derive(Debug, Clone)]
pub struct SftpSettings {
    pub host: String,
    pub port: u16,
    pub username: String,
    /// `SHA256:…`: the server's host key must have this fingerprint.
    pub host_key_fingerprint: String,
    pub credential: Credential,
    /// Prefix of the config keys and secrets these came from (`deposit_`), for messages.
    pub prefix: &'static str,
}

#[derive(Clone)]
pub enum Credential {
    Password(SecretString),
    /// An OpenSSH private key (PEM), unencrypted.
    PrivateKey(SecretString),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Credential::Password(_) => "Password(…)",
            Credential::PrivateKey(_) => "PrivateKey(…)",
        })
    }
}

impl SftpSettings {
    /// The source host: `host`, `port`, `username`, `host_key_fingerprint`, the secret
    /// `private_key` or `password`.
    pub fn from_context(context: &JobContext) -> Result<Self, JobError> {
        Self::with_prefix(context, "")
    }

    /// A host whose config keys and secrets carry `prefix` (`deposit_host`, …).
    pub fn with_prefix(context: &JobContext, prefix: &'static str) -> Result<Self, JobError> {
        let required = |key: &str| {
            context
                .config_str(&format!("{prefix}{key}"))
                .map(str::to_owned)
                .ok_or_else(|| JobError::Config(format!("{prefix}{key} is not set")))
        };
        let port = context.config[format!("{prefix}port")]
            .as_u64()
            .unwrap_or(22);
        let secret = |name: &str| context.secret(&format!("{prefix}{name}"));
        let credential = match (secret("private_key"), secret("password")) {
            (Some(key), _) => Credential::PrivateKey(key.clone()),
            (None, Some(password)) => Credential::Password(password.clone()),
            (None, None) => {
                return Err(JobError::Config(format!(
                    "neither the secret {prefix}private_key nor the secret {prefix}password is set"
                )))
            }
        };
        Ok(Self {
            host: required("host")?,
            port: u16::try_from(port)
                .map_err(|_| JobError::Config(format!("{prefix}port {port} is out of range")))?,
            username: required("username")?,
            host_key_fingerprint: required("host_key_fingerprint")?,
            credential,
            prefix,
        })
    }

    /// `user@host:port`, for messages.
    pub fn address(&self) -> String {
        format!("{}@{}:{}", self.username, self.host, self.port)
    }
}

/// Accepts only a host key with the configured fingerprint, and remembers what was presented.
struct PinnedHostKey {
    expected: String,
    presented: Arc<Mutex<Option<String>>>,
}

impl client::Handler for PinnedHostKey {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        server_public_key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let fingerprint = match server_public_key {
            PublicKeyOrCertificate::PublicKey { key, .. } => key.fingerprint(HashAlg::Sha256),
            PublicKeyOrCertificate::Certificate(cert) => {
                cert.public_key().fingerprint(HashAlg::Sha256)
            }
        }
        .to_string();
        let matches = fingerprint == self.expected;
        if let Ok(mut presented) = self.presented.lock() {
            *presented = Some(fingerprint);
        }
        Ok(matches)
    }
}

/// An open SFTP session; the SSH connection lives as long as this.
pub struct SftpConnection {
    pub sftp: SftpSession,
    ssh: Handle<PinnedHostKey>,
    address: String,
}

impl SftpConnection {
    pub async fn connect(settings: &SftpSettings) -> Result<Self, JobError> {
        tokio::time::timeout(CONNECT_TIMEOUT, Self::connect_now(settings))
            .await
            .map_err(|_| {
                JobError::Transient(format!(
                    "SFTP {}: no answer within {}s",
                    settings.address(),
                    CONNECT_TIMEOUT.as_secs()
                ))
            })?
    }

    async fn connect_now(settings: &SftpSettings) -> Result<Self, JobError> {
        let address = settings.address();
        let mut ssh = handshake(settings).await?;
        authenticate(&mut ssh, settings).await?;
        let stream = open_sftp_channel(&ssh, &address).await?;
        let sftp = SftpSession::new(stream).await.map_err(|error| {
            JobError::of_kind(
                sftp_kind(&error),
                format!("SFTP {address}: SFTP start failed: {error}"),
            )
        })?;
        Ok(Self { sftp, ssh, address })
    }

    /// A second SFTP channel on this connection speaking the raw protocol, for the OpenSSH
    /// extensions the session does not offer (`posix-rename@openssh.com`), with the
    /// extensions the server announced.
    pub async fn raw_session(&self) -> Result<(RawSftpSession, HashMap<String, String>), JobError> {
        let stream = open_sftp_channel(&self.ssh, &self.address).await?;
        let raw = RawSftpSession::new(stream);
        let version = raw.init().await.map_err(|error| {
            JobError::of_kind(
                sftp_kind(&error),
                format!("SFTP {}: SFTP start failed: {error}", self.address),
            )
        })?;
        Ok((raw, version.extensions))
    }
}

/// Connects and checks the host key against the pinned fingerprint.
async fn handshake(settings: &SftpSettings) -> Result<Handle<PinnedHostKey>, JobError> {
    let address = settings.address();
    let config = Arc::new(client::Config {
        inactivity_timeout: Some(Duration::from_secs(120)),
        keepalive_interval: Some(Duration::from_secs(30)),
        // Wider windows than the default keep large reads streaming on fast links.
        window_size: 16 * 1024 * 1024,
        ..client::Config::default()
    });
    let presented = Arc::new(Mutex::new(None));
    let handler = PinnedHostKey {
        expected: settings.host_key_fingerprint.clone(),
        presented: presented.clone(),
    };
    let connected = client::connect(config, (settings.host.as_str(), settings.port), handler).await;
    let error = match connected {
        Ok(ssh) => return Ok(ssh),
        Err(error) => error,
    };
    let what = match &error {
        russh::Error::UnknownKey => {
            let presented = presented.lock().ok().and_then(|p| p.clone());
            format!(
                "host key mismatch: the server presented {}, the config expects {}; \
                 refusing to connect (check {}host_key_fingerprint)",
                presented.as_deref().unwrap_or("an unreadable key"),
                settings.host_key_fingerprint,
                settings.prefix
            )
        }
        russh::Error::IO(io) => format!("cannot connect: {io}"),
        other => format!("SSH handshake failed: {other}"),
    };
    Err(JobError::of_kind(
        ssh_kind(&error),
        format!("SFTP {address}: {what}"),
    ))
}

/// Logs in with the password or private key of `settings`; a refusal is permanent.
async fn authenticate(
    ssh: &mut Handle<PinnedHostKey>,
    settings: &SftpSettings,
) -> Result<(), JobError> {
    let address = settings.address();
    let failed = |error: russh::Error, what: &str| {
        JobError::of_kind(ssh_kind(&error), format!("SFTP {address}: {what}: {error}"))
    };
    let (method, authenticated) = match &settings.credential {
        Credential::Password(password) => (
            "password",
            ssh.authenticate_password(&settings.username, password.expose_secret())
                .await,
        ),
        Credential::PrivateKey(pem) => {
            let key =
                russh::keys::decode_secret_key(pem.expose_secret(), None).map_err(|error| {
                    JobError::Config(format!(
                        "the secret {}private_key is not usable: {error}",
                        settings.prefix
                    ))
                })?;
            let hash = ssh
                .best_supported_rsa_hash()
                .await
                .map_err(|error| failed(error, "SSH negotiation failed"))?
                .flatten();
            let key = PrivateKeyWithHashAlg::new(Arc::new(key), hash);
            (
                "private key",
                ssh.authenticate_publickey(&settings.username, key).await,
            )
        }
    };
    match authenticated {
        Ok(result) if result.success() => Ok(()),
        Ok(_) => Err(JobError::Permanent(format!(
            "SFTP {address}: authentication failed ({method} refused for user {})",
            settings.username
        ))),
        Err(error) => Err(failed(error, "authentication failed")),
    }
}

async fn open_sftp_channel(
    ssh: &Handle<PinnedHostKey>,
    address: &str,
) -> Result<ChannelStream<client::Msg>, JobError> {
    let failed = |error: russh::Error, what: &str| {
        JobError::of_kind(ssh_kind(&error), format!("SFTP {address}: {what}: {error}"))
    };
    let channel = ssh
        .channel_open_session()
        .await
        .map_err(|error| failed(error, "cannot open a session"))?;
    channel
        .request_subsystem(true, "sftp")
        .await
        .map_err(|error| failed(error, "the server refused the sftp subsystem"))?;
    Ok(channel.into_stream())
}

/// A regular file below the scanned root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteFile {
    /// Path below the root, `/`-separated, no leading slash.
    pub relative: String,
    pub size: u64,
    /// Modification time, seconds since the epoch.
    pub mtime: i64,
}

/// Lists regular files under `root` (depth-first, sorted), descending when `recursive`.
/// Symbolic links are not followed, so a link cannot pull in files outside the root.
pub async fn list_files(
    sftp: &SftpSession,
    root: &str,
    recursive: bool,
) -> Result<Vec<RemoteFile>, JobError> {
    let root = root.trim_end_matches('/');
    let mut pending = vec![String::new()];
    let mut files = Vec::new();
    while let Some(relative_dir) = pending.pop() {
        let dir = if relative_dir.is_empty() {
            if root.is_empty() {
                "/".to_owned()
            } else {
                root.to_owned()
            }
        } else {
            format!("{root}/{relative_dir}")
        };
        let entries = sftp.read_dir(dir.as_str()).await.map_err(|error| {
            // A directory below the root may have gone since it was seen: the next listing
            // will not look for it.
            let vanished = !relative_dir.is_empty() && is_no_such_file(&error);
            let kind = if vanished {
                FailureKind::Transient
            } else {
                sftp_kind(&error)
            };
            JobError::of_kind(kind, format!("cannot list {dir}: {error}"))
        })?;
        for entry in entries {
            let name = entry.file_name();
            if name == "." || name == ".." {
                continue;
            }
            let relative = if relative_dir.is_empty() {
                name
            } else {
                format!("{relative_dir}/{name}")
            };
            let metadata = entry.metadata();
            let file_type = entry.file_type();
            if file_type.is_dir() {
                if recursive {
                    pending.push(relative);
                }
            } else if file_type.is_file() {
                files.push(RemoteFile {
                    relative,
                    size: metadata.size.unwrap_or(0),
                    mtime: i64::from(metadata.mtime.unwrap_or(0)),
                });
            }
        }
    }
    files.sort_by(|a, b| a.relative.cmp(&b.relative));
    Ok(files)
}
