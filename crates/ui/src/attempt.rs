//! The short-lived cookie that carries one sign-in attempt (state, nonce, PKCE verifier) from
//! the redirect to the provider to its callback. Signed with a key of this server so it cannot
//! be made up; SameSite=Lax because the callback is a cross-site top-level redirect; scoped to
//! the callback's path and gone after ten minutes or once used.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use polyphemus_core::auth::oidc::LoginAttempt;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

pub const ATTEMPT_COOKIE: &str = "polyphemus_oidc_attempt";
const LIFETIME_SECONDS: i64 = 600;
/// Keeps these MACs apart from the CSRF tokens made with the same key.
const PURPOSE: &[u8] = b"polyphemus oidc sign-in attempt\0";

#[derive(Serialize, Deserialize)]
struct Sealed {
    attempt: LoginAttempt,
    expires: i64,
}

fn mac(key: &[u8; 32], payload: &str) -> Hmac<Sha256> {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC-SHA256 takes keys of any length");
    mac.update(PURPOSE);
    mac.update(payload.as_bytes());
    mac
}

/// The cookie's value: base64url(JSON) "." base64url(MAC).
pub fn seal(key: &[u8; 32], attempt: &LoginAttempt) -> String {
    let sealed = Sealed {
        attempt: attempt.clone(),
        expires: chrono::Utc::now().timestamp() + LIFETIME_SECONDS,
    };
    let json = serde_json::to_vec(&sealed).unwrap_or_default();
    let payload = URL_SAFE_NO_PAD.encode(json);
    let tag = URL_SAFE_NO_PAD.encode(mac(key, &payload).finalize().into_bytes());
    format!("{payload}.{tag}")
}

/// The attempt in a cookie value this server made less than ten minutes ago.
pub fn open(key: &[u8; 32], value: &str) -> Option<LoginAttempt> {
    let (payload, tag) = value.split_once('.')?;
    let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
    mac(key, payload).verify_slice(&tag).ok()?;
    let json = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let sealed: Sealed = serde_json::from_slice(&json).ok()?;
    (sealed.expires > chrono::Utc::now().timestamp()).then_some(sealed.attempt)
}

pub fn set_cookie(value: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{ATTEMPT_COOKIE}={value}; Path=/signin/oidc; HttpOnly; SameSite=Lax; \
         Max-Age={LIFETIME_SECONDS}{secure}"
    )
}

pub fn cleared_cookie(secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{ATTEMPT_COOKIE}=; Path=/signin/oidc; HttpOnly; SameSite=Lax; Max-Age=0{secure}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_servers_unaltered_cookies_open() {
        let key = [7u8; 32];
        let attempt = LoginAttempt::new();
        let value = seal(&key, &attempt);
        assert_eq!(open(&key, &value), Some(attempt));
        assert_eq!(open(&[8u8; 32], &value), None, "another key");
        let (payload, tag) = value.split_once('.').expect("dot");
        let other = seal(&key, &LoginAttempt::new());
        let (_, other_tag) = other.split_once('.').expect("dot");
        assert_eq!(open(&key, &format!("{payload}.{other_tag}")), None);
        assert_eq!(open(&key, payload), None);
        assert!(open(&key, &format!("{payload}.{tag}")).is_some());
    }
}
