//! The UI's sign-in routes against the real OpenID provider, driven over plain HTTP so a test
//! can do what an attacker would: a made-up `state`, a replayed code, a code from a sign-in
//! with another nonce or for another client. Also `--ui-token-signin=false`.

use crate::harness::block_on;
use crate::ui::oidc::set_up;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{StatusCode, Url};
use std::collections::BTreeMap;

/// An HTTP client that keeps cookies (all on 127.0.0.1, paths ignored) and never follows
/// redirects.
struct Agent {
    http: reqwest::Client,
    cookies: BTreeMap<String, String>,
}

impl Agent {
    fn new() -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Agent {
            http,
            cookies: BTreeMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        let pairs: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        pairs.join("; ")
    }

    fn keep_cookies(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all(SET_COOKIE) {
            let text = value.to_str().expect("cookie");
            let (pair, attributes) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').expect("name=value");
            if value.is_empty() || attributes.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> reqwest::Response {
        let response = request
            .header(COOKIE, self.cookie_header())
            .send()
            .await
            .expect("request");
        self.keep_cookies(&response);
        response
    }

    async fn get(&mut self, url: &str) -> reqwest::Response {
        let request = self.http.get(url);
        self.send(request).await
    }
}

fn location(response: &reqwest::Response, base: &Url) -> Url {
    let to = response.headers()[LOCATION].to_str().expect("location");
    base.join(to).expect("url")
}

/// Starts a sign-in at the server; the provider's authorization URL it redirects to.
async fn start(agent: &mut Agent, server: &str) -> Url {
    let response = agent.get(&format!("{server}/signin/oidc")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    location(&response, &Url::parse(server).expect("url"))
}

/// Logs `person` in at the provider from `authorize`; the callback URL (not followed).
async fn log_in(agent: &mut Agent, authorize: &Url, person: &str) -> Url {
    let response = agent.get(authorize.as_str()).await;
    let interaction = location(&response, authorize);
    let request = agent.http.post(interaction.as_str()).form(&[
        ("prompt", "login"),
        ("login", person),
        ("password", "any"),
    ]);
    let response = agent.send(request).await;
    let resume = location(&response, &interaction);
    let response = agent.get(resume.as_str()).await;
    let callback = location(&response, &resume);
    assert_eq!(callback.path(), "/signin/oidc/callback", "{callback}");
    callback
}

/// `url` with query parameter `name` set to `value`.
fn with_param(url: &Url, name: &str, value: &str) -> Url {
    let mut changed = url.clone();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == name { value.into() } else { v };
            (k.into_owned(), v.into_owned())
        })
        .collect();
    changed.query_pairs_mut().clear().extend_pairs(pairs);
    changed
}

async fn body(response: reqwest::Response) -> String {
    response.text().await.expect("body")
}

#[test]
fn the_callback_refuses_what_did_not_come_from_this_browsers_sign_in() {
    let Some(setup) = set_up(&[]) else { return };
    let server = setup.server.url.clone();
    block_on(async {
        // A full sign-in works, and the session opens pages.
        let mut agent = Agent::new();
        let authorize = start(&mut agent, &server).await;
        let callback = log_in(&mut agent, &authorize, "alice").await;
        let attempt_cookie = agent.cookies["polyphemus_oidc_attempt"].clone();
        let response = agent.get(callback.as_str()).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(agent.cookies.contains_key("polyphemus_session"));
        assert!(
            !agent.cookies.contains_key("polyphemus_oidc_attempt"),
            "used once"
        );
        let page = body(agent.get(&format!("{server}/")).await).await;
        assert!(page.contains("alice@labors.example (alice)"), "{page}");

        // The same code again, even with the attempt cookie kept: the provider refuses it.
        let mut replay = Agent::new();
        replay
            .cookies
            .insert("polyphemus_oidc_attempt".into(), attempt_cookie.clone());
        let response = replay.get(callback.as_str()).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(body(response).await.contains("invalid_grant"));
        assert!(!replay.cookies.contains_key("polyphemus_session"));

        // A state this browser did not start: 400, naming the state.
        let mut agent = Agent::new();
        let authorize = start(&mut agent, &server).await;
        let callback = log_in(&mut agent, &authorize, "alice").await;
        let forged = with_param(&callback, "state", "made-up");
        let response = agent.get(forged.as_str()).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(body(response).await.contains("state"));
        // Nor without the attempt cookie (another browser), nor with a tampered one.
        let mut other = Agent::new();
        assert_eq!(
            other.get(callback.as_str()).await.status(),
            StatusCode::BAD_REQUEST
        );
        other.cookies.insert(
            "polyphemus_oidc_attempt".into(),
            attempt_cookie.replace('.', "x."),
        );
        assert_eq!(
            other.get(callback.as_str()).await.status(),
            StatusCode::BAD_REQUEST
        );

        // A code from a sign-in with another nonce (injected into this browser's attempt).
        let mut agent = Agent::new();
        let authorize = start(&mut agent, &server).await;
        let tampered = with_param(&authorize, "nonce", "someone-elses-nonce");
        let callback = log_in(&mut agent, &tampered, "alice").await;
        let response = agent.get(callback.as_str()).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(body(response).await.contains("nonce"));
        assert!(!agent.cookies.contains_key("polyphemus_session"));

        // A code (and so an ID token) for another client of the same provider.
        let mut agent = Agent::new();
        let authorize = start(&mut agent, &server).await;
        let tampered = with_param(&authorize, "client_id", "other-ui");
        let callback = log_in(&mut agent, &tampered, "alice").await;
        let response = agent.get(callback.as_str()).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(!agent.cookies.contains_key("polyphemus_session"));

        // A code whose PKCE challenge was not this browser's.
        let mut agent = Agent::new();
        let authorize = start(&mut agent, &server).await;
        let tampered = with_param(
            &authorize,
            "code_challenge",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        );
        let callback = log_in(&mut agent, &tampered, "alice").await;
        let response = agent.get(callback.as_str()).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    });
}

#[test]
fn token_paste_can_be_turned_off() {
    let Some(setup) = set_up(&[("POLYPHEMUS_UI_TOKEN_SIGNIN", "false")]) else {
        return;
    };
    let server = setup.server.url.clone();
    let admin = std::fs::read_to_string(setup.server.data_dir.join("admin.token")).expect("token");
    block_on(async {
        let mut agent = Agent::new();
        let page = body(agent.get(&format!("{server}/signin")).await).await;
        assert!(page.contains("id=\"oidc-signin\""), "{page}");
        assert!(
            !page.contains("name=\"token\""),
            "the paste form is gone: {page}"
        );
        let request = agent
            .http
            .post(format!("{server}/signin"))
            .form(&[("token", admin.trim())]);
        let response = agent.send(request).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert!(!agent.cookies.contains_key("polyphemus_session"));
    });
}
