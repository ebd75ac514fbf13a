//! Personal tokens (made in the UI): bearer tokens with exactly the chosen roles, refused
//! beyond the maker's own roles with nothing stored, and dead once revoked — on both stores.

use crate::both_stores;
use crate::harness::{valid_config, TestApp};
use polyphemus_core::CoreError;
use polyphemus_model::Role;
use reqwest::StatusCode;
use serde_json::json;
use std::collections::BTreeMap;

both_stores!(personal_tokens_carry_the_chosen_roles_until_revoked);

async fn personal_tokens_carry_the_chosen_roles_until_revoked(app: TestApp) {
    let tokens = &app.services.tokens;
    let maker = tokens
        .verify(&app.token("labors", Role::Editor).await)
        .await
        .expect("maker");
    let too_much = BTreeMap::from([("labors".to_owned(), Role::Admin)]);
    let refused = tokens.issue_personal(&maker, "x", too_much, 30).await;
    assert!(
        matches!(&refused, Err(CoreError::Forbidden(m)) if m.contains("project labors")),
        "{refused:?}"
    );
    assert!(tokens.list_personal(&maker).await.expect("list").is_empty());

    let viewer = BTreeMap::from([("labors".to_owned(), Role::Viewer)]);
    let issued = tokens
        .issue_personal(&maker, "reader", viewer, 30)
        .await
        .expect("issued");
    let configs = "/projects/labors/configs";
    let body = json!({"workflow_type": "sftp-to-storage", "workflow_name": "x", "config": valid_config("h")});
    assert_eq!(app.get(configs, &issued.token).await.0, StatusCode::OK);
    assert_eq!(
        app.post(configs, &issued.token, body).await.0,
        StatusCode::FORBIDDEN,
        "exactly the chosen role, not the maker's editor"
    );
    let listed = tokens.list_personal(&maker).await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].label, "reader");

    tokens
        .revoke_personal(&maker, &issued.id)
        .await
        .expect("revoke");
    assert_eq!(
        app.get(configs, &issued.token).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert!(tokens.list_personal(&maker).await.expect("list").is_empty());
}
