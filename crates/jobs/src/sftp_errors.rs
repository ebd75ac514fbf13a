//! Whether another attempt can get past an SSH or SFTP error, decided by the error's variant
//! (never its text): a refusal stays one, a broken connection may mend.

use crate::FailureKind;

/// Whether another attempt can get past an SSH error: not a refused host key or
/// authentication, nor a server that shares no algorithm with us or speaks no SSH; a
/// connection refused, reset, dropped or timed out (and a protocol error, which a corrupted
/// stream also causes) may pass.
pub(crate) fn ssh_kind(error: &russh::Error) -> FailureKind {
    use russh::Error;
    match error {
        Error::UnknownKey
        | Error::KeyChanged { .. }
        | Error::WrongServerSig
        | Error::NoCommonAlgo { .. }
        | Error::UnknownAlgo
        | Error::Version
        | Error::NotAuthenticated
        | Error::NoAuthMethod
        | Error::UnsupportedAuthMethod
        | Error::RequestDenied
        | Error::CouldNotReadKey
        | Error::Keys(_)
        | Error::SshKey(_)
        | Error::InvalidConfig(_) => FailureKind::Permanent,
        Error::IO(io) => FailureKind::of_io(io),
        _ => FailureKind::Transient,
    }
}

/// Whether another attempt can get past an SFTP error: not a missing file or a refused
/// permission or operation; a lost connection or a timeout may pass.
pub(crate) fn sftp_kind(error: &russh_sftp::client::error::Error) -> FailureKind {
    use russh_sftp::client::error::Error;
    use russh_sftp::protocol::StatusCode;
    match error {
        Error::Status(status) => match status.status_code {
            StatusCode::NoSuchFile | StatusCode::PermissionDenied | StatusCode::OpUnsupported => {
                FailureKind::Permanent
            }
            _ => FailureKind::Transient,
        },
        _ => FailureKind::Transient,
    }
}

pub(crate) fn is_no_such_file(error: &russh_sftp::client::error::Error) -> bool {
    matches!(error, russh_sftp::client::error::Error::Status(status)
        if status.status_code == russh_sftp::protocol::StatusCode::NoSuchFile)
}

#[cfg(test)]
mod tests {
    use super::*;
    use russh_sftp::client::error::Error as SftpError;
    use russh_sftp::protocol::{Status, StatusCode};

    fn status(code: StatusCode) -> SftpError {
        SftpError::Status(Status {
            id: 1,
            status_code: code,
            error_message: String::new(),
            language_tag: String::new(),
        })
    }

    #[test]
    fn ssh_refusals_are_permanent_and_broken_connections_transient() {
        for refused in [russh::Error::UnknownKey, russh::Error::NoAuthMethod] {
            assert_eq!(ssh_kind(&refused), FailureKind::Permanent, "{refused}");
        }
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        for broken in [
            russh::Error::IO(reset),
            russh::Error::Disconnect,
            russh::Error::ConnectionTimeout,
            russh::Error::KeepaliveTimeout,
        ] {
            assert_eq!(ssh_kind(&broken), FailureKind::Transient, "{broken}");
        }
    }

    #[test]
    fn sftp_statuses_of_missing_or_forbidden_files_are_permanent() {
        for code in [StatusCode::NoSuchFile, StatusCode::PermissionDenied] {
            assert_eq!(sftp_kind(&status(code)), FailureKind::Permanent);
        }
        for error in [
            status(StatusCode::Failure),
            status(StatusCode::ConnectionLost),
            SftpError::Timeout,
            SftpError::IO("broken pipe".into()),
        ] {
            assert_eq!(sftp_kind(&error), FailureKind::Transient, "{error}");
        }
        assert!(is_no_such_file(&status(StatusCode::NoSuchFile)));
    }
}
