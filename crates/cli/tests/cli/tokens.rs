//! `polyphemus token create --role task`: a project task token (what Argo steps use) reaches
//! one config unless made with `--all-configs`, and `token list` shows it with its binding.

use crate::harness::{command, create_config, run, Output, Server};
use polyphemus_model::{ConfigId, ProjectName, VersionNumber};

/// `polyphemus token …` against the server's store (it opens the database directly).
fn token_command(server: &Server, args: &[&str]) -> Output {
    let database_url = format!(
        "sqlite://{}",
        server
            .data_dir
            .parent()
            .expect("dir")
            .join("p.db")
            .display()
    );
    let mut token = command();
    token
        .args(["--database-url", &database_url, "--data-dir"])
        .arg(&server.data_dir)
        .arg("token")
        .args(args);
    run(token, None)
}

fn create_task_token(server: &Server, project: &str, binding: &[&str]) -> Output {
    let mut args = vec![
        "create",
        "--name",
        "argo-steps",
        "--project",
        project,
        "--role",
        "task",
        "--ttl",
        "30d",
    ];
    args.extend_from_slice(binding);
    token_command(server, &args)
}

/// Whether `token` reads the secrets of version 1 of `config_id` (the route only task tokens
/// of that config may use).
fn reads_secrets(server: &Server, token: &str, config_id: &str) -> bool {
    let client =
        polyphemus_client::Client::new(&server.url, Some(token.to_owned())).expect("client");
    let id: ConfigId = config_id.parse().expect("id");
    let project = ProjectName::parse("default").expect("project name");
    crate::harness::block_on(async {
        client
            .get_task_secrets(&project, id, VersionNumber::FIRST)
            .await
            .is_ok()
    })
}

#[test]
fn a_project_task_token_needs_a_config_or_all_configs_and_is_bound_to_it() {
    let server = Server::start();
    let own = create_config(&server, "nightly");
    let other = create_config(&server, "weekly");

    let unbound = create_task_token(&server, "default", &[]);
    assert_eq!(unbound.code, 1, "{unbound:?}");
    assert!(unbound.stderr.contains("--config-id"), "{}", unbound.stderr);
    assert!(
        unbound.stderr.contains("--all-configs"),
        "{}",
        unbound.stderr
    );
    let everywhere = create_task_token(&server, "*", &["--all-configs"]);
    assert_eq!(everywhere.code, 1, "{everywhere:?}");
    assert!(
        everywhere.stderr.contains("one project"),
        "{}",
        everywhere.stderr
    );
    let unknown = create_task_token(&server, "default", &["--config-id", "999"]);
    assert_eq!(unknown.code, 1, "{unknown:?}");
    assert!(
        unknown.stderr.contains("no config 999"),
        "{}",
        unknown.stderr
    );
    let both = create_task_token(&server, "default", &["--config-id", &own, "--all-configs"]);
    assert_eq!(both.code, 2, "clap refuses both: {both:?}");
    let user = token_command(
        &server,
        &[
            "create",
            "--name",
            "ann",
            "--project",
            "default",
            "--role",
            "editor",
            "--config-id",
            &own,
        ],
    );
    assert_eq!(user.code, 1, "{user:?}");
    assert!(user.stderr.contains("--role task only"), "{}", user.stderr);

    let bound = create_task_token(&server, "default", &["--config-id", &own]).success();
    let bound = bound.stdout.trim();
    assert!(reads_secrets(&server, bound, &own));
    assert!(
        !reads_secrets(&server, bound, &other),
        "a token bound to one config reads no other config's secrets"
    );
    let all = create_task_token(&server, "default", &["--all-configs"]).success();
    let all = all.stdout.trim();
    assert!(reads_secrets(&server, all, &own) && reads_secrets(&server, all, &other));
}

#[test]
fn token_list_shows_project_task_tokens_with_their_binding_and_expiry() {
    let server = Server::start();
    let id = create_config(&server, "nightly");
    let bound = create_task_token(&server, "default", &["--config-id", &id]).success();
    create_task_token(&server, "default", &["--all-configs"]).success();
    let bound_id = bound
        .stderr
        .split_whitespace()
        .nth(2)
        .expect("`token id <id> for …`")
        .to_owned();

    let listed = token_command(&server, &["--output", "json", "list"])
        .success()
        .json();
    let listed = listed.as_array().expect("array");
    let bound = listed
        .iter()
        .find(|token| token["id"] == bound_id.as_str())
        .expect("the bound task token is listed");
    assert_eq!(bound["kind"], "task");
    assert_eq!(bound["reaches"], format!("project default, config {id}"));
    assert_eq!(bound["state"], "active");
    let expires = bound["expires_at"].as_str().expect("expiry");
    let expires = chrono::DateTime::parse_from_rfc3339(expires).expect("RFC 3339");
    let days = (expires.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_days();
    assert!((29..=30).contains(&days), "--ttl 30d: {expires}");
    assert!(
        listed
            .iter()
            .any(|token| token["reaches"] == "project default, all configs"),
        "{listed:?}"
    );

    let table = token_command(&server, &["list"]).success();
    assert!(table.stdout.contains("all configs"), "{}", table.stdout);
    assert!(table.stdout.contains(&bound_id), "{}", table.stdout);
}
