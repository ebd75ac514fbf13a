//! A real OpenID provider: npm `oidc-provider` under Node (installed by
//! `scripts/install-deps.sh` into the tools directory), running `oidc/provider.mjs` on a free
//! loopback port. Its script clients `<person>-script` (secret `<person>-secret`) get JWT
//! access tokens carrying the person's email and groups; see the script for the people.

use crate::{free_port, wait_for_port};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

pub struct OidcProvider {
    pub issuer: String,
    _child: Child,
}

/// Where `scripts/install-deps.sh` installs the npm package.
fn package_dir() -> PathBuf {
    let tools = std::env::var_os("POLYPHEMUS_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/polyphemus-tools")
        });
    tools.join("oidc-provider")
}

impl OidcProvider {
    /// `None` when Node and the package are installed, else why not.
    pub fn unavailable() -> Option<String> {
        let entry = package_dir().join("node_modules/oidc-provider/package.json");
        let node = Command::new("node").arg("--version").output();
        match (entry.exists(), node) {
            (true, Ok(out)) if out.status.success() => None,
            _ => Some(format!(
                "node or oidc-provider missing ({}; scripts/install-deps.sh)",
                entry.display()
            )),
        }
    }

    /// The provider shared by this test binary (started once; it exits with the binary,
    /// whose end closes its stdin).
    pub fn shared() -> &'static OidcProvider {
        static SHARED: OnceLock<OidcProvider> = OnceLock::new();
        SHARED.get_or_init(OidcProvider::start)
    }

    /// A second, unrelated provider: its tokens come from another issuer.
    pub fn other() -> &'static OidcProvider {
        static OTHER: OnceLock<OidcProvider> = OnceLock::new();
        OTHER.get_or_init(OidcProvider::start)
    }

    pub fn start() -> OidcProvider {
        let port = free_port();
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("oidc/provider.mjs");
        let child = Command::new("node")
            .arg(script)
            .arg(port.to_string())
            .arg(package_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("node starts");
        wait_for_port(port, "oidc-provider", Duration::from_secs(30));
        OidcProvider {
            issuer: format!("http://127.0.0.1:{port}"),
            _child: child,
        }
    }

    /// A JWT access token for `person` (alice, vera, olaf, paula) and `resource`
    /// (`urn:polyphemus:api` has aud `polyphemus`; `urn:polyphemus:short` lives 1 s;
    /// `urn:other:api` is for another API).
    pub async fn access_token(&self, person: &str, resource: &str) -> String {
        let client_id = format!("{person}-script");
        let response: serde_json::Value = reqwest::Client::new()
            .post(format!("{}/token", self.issuer))
            .basic_auth(&client_id, Some(format!("{person}-secret")))
            .form(&[
                ("grant_type", "client_credentials"),
                ("scope", "api"),
                ("resource", resource),
            ])
            .send()
            .await
            .expect("token request")
            .json()
            .await
            .expect("token response");
        response["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no access token: {response}"))
            .to_owned()
    }

    /// Replaces the provider's signing key with a new one (its tokens name a new `kid`).
    pub async fn rotate_keys(&self) {
        let status = reqwest::Client::new()
            .post(format!("{}/admin/rotate", self.issuer))
            .send()
            .await
            .expect("rotate")
            .status();
        assert!(status.is_success(), "rotate: {status}");
    }
}
