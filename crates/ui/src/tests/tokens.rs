//! "Your API tokens": made with at most the person's own roles, shown once, listed without
//! the secret, revocable only by their owner.

use super::{app, App};
use axum::http::StatusCode;
use polyphemus_core::{CoreError, Principal};
use polyphemus_model::Role;
use std::collections::BTreeMap;

async fn user_token(app: &App, name: &str, roles: &[(&str, Role)]) -> String {
    let roles = roles.iter().map(|(p, r)| ((*p).to_owned(), *r)).collect();
    app.services
        .tokens
        .issue_user(name, roles, chrono::Duration::hours(1))
        .await
        .expect("token")
        .token
}

async fn principal(app: &App, token: &str) -> Principal {
    app.services.tokens.verify(token).await.expect("principal")
}

/// The secret from the answer page's one-time field.
fn shown_secret(body: &str) -> String {
    let at = body
        .find("id=\"new-token-value\"")
        .expect("the new token is shown");
    let rest = &body[at..];
    let start = rest.find("value=\"").expect("value") + "value=\"".len();
    let end = rest[start..].find('"').expect("end of value");
    rest[start..start + end].to_owned()
}

async fn make(app: &App, session: &str, fields: &[(&str, &str)]) -> (StatusCode, String) {
    let csrf = app.csrf(session);
    let mut all = vec![("_csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    app.post("/tokens", session, &all).await
}

#[tokio::test]
async fn a_token_is_shown_once_then_listed_without_its_secret() {
    let app = app().await;
    let session = user_token(&app, "alice", &[("labors", Role::Editor)]).await;
    let (status, body) = make(
        &app,
        &session,
        &[
            ("name", "nightly script"),
            ("role:labors", "viewer"),
            ("days", "30"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let secret = shown_secret(&body);
    match principal(&app, &secret).await {
        Principal::User { name, roles, .. } => {
            assert_eq!(name, "alice", "events name the person");
            assert_eq!(roles, BTreeMap::from([("labors".to_owned(), Role::Viewer)]));
        }
        other => panic!("a user token, not {other:?}"),
    }
    let (status, page) = app.get("/tokens", &session).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("nightly script") && page.contains("labors: viewer"),
        "{page}"
    );
    assert!(!page.contains(&secret), "the secret is shown only once");
    let (_, home) = app.get("/", &session).await;
    assert!(home.contains("href=\"/tokens\""), "linked from the header");
}

#[tokio::test]
async fn a_token_cannot_have_more_than_the_person_holds() {
    let app = app().await;
    let session = user_token(&app, "vera", &[("labors", Role::Viewer)]).await;
    for (field, project) in [
        ("role:labors", "editor"),
        ("role:other", "viewer"),
        ("role:*", "viewer"),
    ] {
        let (status, body) = make(&app, &session, &[("name", "x"), (field, project)]).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{field}={project}: {body}");
        let named = field.trim_start_matches("role:");
        assert!(body.contains(&format!("project {named}")), "{body}");
    }
    let stored = app
        .services
        .tokens
        .list_personal(&principal(&app, &session).await)
        .await
        .expect("list");
    assert!(stored.is_empty(), "nothing is stored when refused");
    let (_, page) = app.get("/tokens", &session).await;
    assert!(
        !page.contains("value=\"editor\""),
        "the form offers only held roles"
    );
}

#[tokio::test]
async fn bad_days_and_a_missing_csrf_token_are_refused() {
    let app = app().await;
    let session = user_token(&app, "alice", &[("labors", Role::Editor)]).await;
    let (status, body) = make(
        &app,
        &session,
        &[("name", "x"), ("role:labors", "viewer"), ("days", "400")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("/days"), "{body}");
    let (status, _) = app
        .post(
            "/tokens",
            &session,
            &[("name", "x"), ("role:labors", "viewer")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_revoked_token_stops_working_and_only_its_owner_may_revoke_it() {
    let app = app().await;
    let alice = user_token(&app, "alice", &[("labors", Role::Editor)]).await;
    let bob = user_token(&app, "bob", &[("labors", Role::Admin)]).await;
    let (_, body) = make(&app, &alice, &[("name", "ci"), ("role:labors", "editor")]).await;
    let secret = shown_secret(&body);
    let alice_principal = principal(&app, &alice).await;
    let listed = app
        .services
        .tokens
        .list_personal(&alice_principal)
        .await
        .expect("list");
    let id = listed.first().expect("alice's token").id.clone();
    let revoke = format!("/tokens/{id}/revoke");

    let (status, _) = app.post(&revoke, &bob, &[("_csrf", &app.csrf(&bob))]).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "bob cannot revoke alice's token"
    );
    let (_, bobs_page) = app.get("/tokens", &bob).await;
    assert!(!bobs_page.contains(&id), "bob does not see alice's token");
    principal(&app, &secret).await;

    let (status, _) = app
        .post(&revoke, &alice, &[("_csrf", &app.csrf(&alice))])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let refused = app.services.tokens.verify(&secret).await;
    assert!(
        matches!(refused, Err(CoreError::Unauthenticated(_))),
        "{refused:?}"
    );
    let (_, page) = app.get("/tokens", &alice).await;
    assert!(!page.contains(&id), "a revoked token is no longer listed");
}

#[tokio::test]
async fn session_tokens_are_not_listed() {
    let app = app().await;
    let roles = BTreeMap::from([("labors".to_owned(), Role::Editor)]);
    let session = app
        .services
        .tokens
        .issue_session("alice", roles, chrono::Duration::hours(1))
        .await
        .expect("session");
    let (_, page) = app.get("/tokens", &session.token).await;
    assert!(page.contains("You have no personal tokens."), "{page}");
    assert!(!page.contains(&session.id));
}
