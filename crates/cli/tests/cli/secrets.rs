//! Secrets: read from stdin, shown only as `***`, never printed.

use crate::harness::{create_config, Server};
use serde_json::json;

#[test]
fn secrets_come_from_stdin_and_are_never_printed() {
    let server = Server::start();
    let id = create_config(&server, "nightly");
    let secret = "hunter2-very-secret";

    let out = server
        .cli_with_stdin(
            &["secrets", "set", &id, "password", "-"],
            Some(&format!("{secret}\n")),
        )
        .success();
    assert!(
        out.stdout.contains("secret password set on config"),
        "{out:#?}"
    );
    let out = server
        .cli_with_stdin(&["secrets", "set", &id, "storage_secret_key"], Some(secret))
        .success();
    let mut printed = out.stdout + &out.stderr;

    let out = server.cli(&["configs", "show", &id]).success();
    assert!(out.stdout.contains("password: ***"), "{out:#?}");
    assert!(out.stdout.contains("storage_secret_key: ***"), "{out:#?}");
    printed += &out.stdout;
    let out = server
        .cli(&["--output", "json", "configs", "show", &id])
        .success();
    assert_eq!(out.json()["secrets"]["password"], "***");
    printed += &out.stdout;
    let out = server.cli(&["--output", "json", "events"]).success();
    printed += &out.stdout;
    assert!(
        !printed.contains(secret),
        "a secret value was printed: {printed}"
    );

    let out = server.cli(&["secrets", "unset", &id, "password"]).success();
    assert!(out.stdout.contains("secret password removed"), "{out:#?}");
    let out = server
        .cli(&["--output", "json", "configs", "show", &id])
        .success();
    assert_eq!(out.json()["secrets"], json!({"storage_secret_key": "***"}));

    let out = server.cli_with_stdin(&["secrets", "set", &id, "password"], Some(""));
    assert_eq!(out.code, 1, "{out:#?}");
    assert!(out.stderr.contains("empty"), "{out:#?}");
    let out = server.cli_with_stdin(&["secrets", "set", &id, "nope"], Some(secret));
    assert_eq!(out.code, 1, "{out:#?}");
    assert!(out.stderr.contains("/secrets/nope"), "{out:#?}");
    assert!(!out.stderr.contains(secret), "{out:#?}");
}
