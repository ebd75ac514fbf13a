//! `serve --oidc-*` (and their environment variables): the provider's access tokens work from
//! the CLI; a bad role mapping or a half-given configuration stops the server at start.

use crate::harness::{block_on, command, run, Server};
use polyphemus_testkit::OidcProvider;

const MAPPING: &str =
    "rules:\n  - claim: groups\n    contains: platform-admins\n    grant: { \"*\": admin }\n";

#[test]
fn the_providers_access_tokens_work_when_serve_is_given_the_issuer() {
    if let Some(why) = OidcProvider::unavailable() {
        assert!(!polyphemus_testkit::required_in_ci(), "{why}");
        return;
    }
    let provider = OidcProvider::start();
    let dir = tempfile::tempdir().expect("dir");
    let roles = dir.path().join("roles.yaml");
    std::fs::write(&roles, MAPPING).expect("roles");
    let roles = roles.to_string_lossy().into_owned();
    let server = Server::start_with_env(&[
        ("POLYPHEMUS_OIDC_ISSUER", &provider.issuer),
        ("POLYPHEMUS_OIDC_CLIENT_ID", "polyphemus"),
        ("POLYPHEMUS_OIDC_ROLES", &roles),
    ]);
    let paula = block_on(provider.access_token("paula", "urn:polyphemus:api"));
    let out = server.cli(&["--token", &paula, "configs", "list"]);
    assert_eq!(out.code, 0, "{out:#?}");
    let olaf = block_on(provider.access_token("olaf", "urn:polyphemus:api"));
    let out = server.cli(&["--token", &olaf, "--project", "default", "configs", "list"]);
    assert_ne!(out.code, 0, "olaf has no role: {out:#?}");
}

#[test]
fn a_bad_role_mapping_stops_serve_naming_the_rule() {
    let dir = tempfile::tempdir().expect("dir");
    let roles = dir.path().join("roles.yaml");
    std::fs::write(
        &roles,
        "rules:\n  - claim: groups\n    contains: a\n    grant: { labors: owner }\n",
    )
    .expect("roles");
    let mut serve = command();
    serve
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .args([
            "--oidc-issuer",
            "https://id.example.org",
            "--oidc-client-id",
            "p",
        ])
        .arg("--oidc-roles")
        .arg(&roles);
    let out = run(serve, None);
    assert_eq!(out.code, 1, "{out:#?}");
    assert!(
        out.stderr.contains("rule 1") && out.stderr.contains("owner"),
        "{out:#?}"
    );

    let mut half = command();
    half.args(["serve", "--oidc-issuer", "https://id.example.org"]);
    let out = run(half, None);
    assert_eq!(
        out.code, 2,
        "--oidc-client-id and --oidc-roles are required: {out:#?}"
    );
}
