//! `polyphemus notifications`: a channel is added from a settings file kept out of the
//! command line, listed without its URL's secret, tested against a real receiver and removed.

use crate::harness::Server;
use polyphemus_testkit::WebhookReceiver;

#[test]
fn a_channel_is_added_listed_tested_and_removed() {
    let server = Server::start();
    let hook = WebhookReceiver::start();
    let settings = format!(
        r#"{{"kind": "webhook", "url": "{}?token=sEcReT", "secret": "0123456789abcdef-signing"}}"#,
        hook.url()
    );
    let added = server
        .cli_with_stdin(
            &[
                "--output",
                "json",
                "notifications",
                "add",
                "pager",
                "--events",
                "run_failed,schedule_paused",
                "--settings",
                "-",
            ],
            Some(&settings),
        )
        .success()
        .json();
    let id = added["id"].as_i64().expect("id").to_string();
    let listed = server.cli(&["notifications", "list"]).success();
    assert!(listed.stdout.contains("pager"), "{listed:#?}");
    assert!(
        listed.stdout.contains("signed webhook at 127.0.0.1"),
        "{listed:#?}"
    );
    assert!(!listed.stdout.contains("sEcReT"), "{listed:#?}");
    let tested = server.cli(&["notifications", "test", &id]).success();
    assert!(tested.stdout.contains("delivered"), "{tested:#?}");
    let got = hook.wait_for(1, std::time::Duration::from_secs(5));
    assert!(
        got[0]["title"]
            .as_str()
            .is_some_and(|t| t.contains("Test alert")),
        "{got:?}"
    );
    let bad = server.cli(&[
        "notifications",
        "add",
        "x",
        "--events",
        "run_exploded",
        "--settings",
        "-",
    ]);
    assert_eq!(bad.code, 2, "{bad:#?}");
    server.cli(&["notifications", "remove", &id]).success();
    let listed = server
        .cli(&["--output", "json", "notifications", "list"])
        .success()
        .json();
    assert_eq!(listed, serde_json::json!([]));
}
