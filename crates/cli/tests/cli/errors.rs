//! Usage errors (exit 2), help on every command, bad tokens and unreachable servers (exit 1).

use crate::harness::{command, run, Server};

#[test]
fn usage_errors_exit_2_and_every_command_has_help() {
    let unknown = run(
        {
            let mut c = command();
            c.arg("frobnicate");
            c
        },
        None,
    );
    assert_eq!(unknown.code, 2, "{unknown:#?}");
    for args in [
        &["configs", "update", "1"][..],
        &["runtime", "set", "1", "--interval", "soon"],
        &["runtime", "set", "1", "--disabled", "maybe"],
        &["configs", "show", "one"],
        &["events", "--project", "Not A Slug"],
    ] {
        let mut c = command();
        c.args(["--token", "t"]).args(args);
        let out = run(c, None);
        assert_eq!(out.code, 2, "{args:?}: {out:#?}");
    }
    for args in [
        &["--help"][..],
        &["workflows", "--help"],
        &["workflows", "show", "--help"],
        &["configs", "--help"],
        &["configs", "diff", "--help"],
        &["secrets", "set", "--help"],
        &["runtime", "set", "--help"],
        &["launch", "--help"],
        &["runs", "show", "--help"],
        &["status", "--help"],
        &["events", "--help"],
    ] {
        let mut c = command();
        c.args(args);
        let out = run(c, None);
        assert_eq!(out.code, 0, "{args:?}: {out:#?}");
        assert!(
            out.stdout.contains("Usage: polyphemus"),
            "{args:?}: {out:#?}"
        );
    }
}

#[test]
fn a_wrong_token_is_refused_with_401() {
    let server = Server::start();
    let out = server.cli(&["--token", "not-a-token", "configs", "list"]);
    assert_eq!(out.code, 1, "{out:#?}");
    assert!(
        out.stderr.starts_with("error: 401 Unauthorized"),
        "{out:#?}"
    );
    assert!(!out.stderr.contains("not-a-token"), "{out:#?}");
}

#[test]
fn a_missing_server_or_token_is_explained() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    drop(listener);
    let mut c = command();
    c.args(["--url", &url, "--token", "t", "status"]);
    let out = run(c, None);
    assert_eq!(out.code, 1, "{out:#?}");
    assert!(
        out.stderr
            .contains(&format!("cannot reach the Polyphemus server at {url}")),
        "{out:#?}"
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let mut c = command();
    c.args(["--url", &url, "--data-dir"])
        .arg(dir.path())
        .arg("status");
    let out = run(c, None);
    assert_eq!(out.code, 1, "{out:#?}");
    assert!(out.stderr.contains("no API token"), "{out:#?}");
}
