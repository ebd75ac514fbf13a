//! The secret key: AES-256-GCM sealing of secret values and the token-signing key, both derived
//! from one 32-byte key (`POLYPHEMUS_SECRET_KEY` or `<data dir>/secret.key`) with HKDF-SHA256.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hkdf::Hkdf;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::Sha256;
use std::fmt;

const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("secret key must be base64 of exactly 32 bytes")]
    Malformed,
    #[error("a stored secret cannot be decrypted with this key (was the key changed?)")]
    Undecryptable,
}

/// The master key and the keys derived from it. Never printed.
pub struct SecretKeys {
    sealing: Aes256Gcm,
    signing: SecretBox<[u8; 32]>,
    ui_forms: SecretBox<[u8; 32]>,
}

impl fmt::Debug for SecretKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKeys(***)")
    }
}

impl SecretKeys {
    /// Parses the base64 form of a 32-byte key.
    pub fn from_base64(encoded: &str) -> Result<Self, KeyError> {
        let bytes = BASE64
            .decode(encoded.trim())
            .map_err(|_| KeyError::Malformed)?;
        let master: [u8; 32] = bytes.try_into().map_err(|_| KeyError::Malformed)?;
        Ok(Self::from_master(&master))
    }

    fn from_master(master: &[u8; 32]) -> Self {
        let hkdf = Hkdf::<Sha256>::new(Some(b"polyphemus"), master);
        let mut sealing = [0u8; 32];
        let mut signing = [0u8; 32];
        let mut ui_forms = [0u8; 32];
        // expand only fails for outputs longer than 255 * 32 bytes.
        hkdf.expand(b"secrets aes-256-gcm v1", &mut sealing)
            .expect("32 bytes is a valid HKDF output length");
        hkdf.expand(b"tokens hs256 v1", &mut signing)
            .expect("32 bytes is a valid HKDF output length");
        hkdf.expand(b"ui forms hmac-sha256 v1", &mut ui_forms)
            .expect("32 bytes is a valid HKDF output length");
        Self {
            sealing: Aes256Gcm::new(&sealing.into()),
            signing: SecretBox::new(Box::new(signing)),
            ui_forms: SecretBox::new(Box::new(ui_forms)),
        }
    }

    /// A fresh random key in base64, for `<data dir>/secret.key`.
    pub fn generate_base64() -> String {
        let mut master = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut master);
        BASE64.encode(master)
    }

    /// Encrypts one secret value; the name is bound in as associated data so a sealed value
    /// cannot be moved to another name. Output: base64(nonce || ciphertext).
    pub fn seal(&self, name: &str, value: &SecretString) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        let payload = Payload {
            msg: value.expose_secret().as_bytes(),
            aad: name.as_bytes(),
        };
        let ciphertext = self
            .sealing
            .encrypt(Nonce::from_slice(&nonce), payload)
            .expect("AES-GCM encryption cannot fail for in-memory inputs");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ciphertext);
        BASE64.encode(out)
    }

    pub fn open(&self, name: &str, sealed: &str) -> Result<SecretString, KeyError> {
        let bytes = BASE64.decode(sealed).map_err(|_| KeyError::Undecryptable)?;
        if bytes.len() < NONCE_LEN {
            return Err(KeyError::Undecryptable);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let payload = Payload {
            msg: ciphertext,
            aad: name.as_bytes(),
        };
        let plain = self
            .sealing
            .decrypt(Nonce::from_slice(nonce), payload)
            .map_err(|_| KeyError::Undecryptable)?;
        let text = String::from_utf8(plain).map_err(|_| KeyError::Undecryptable)?;
        Ok(SecretString::from(text))
    }

    pub(crate) fn signing_key(&self) -> &[u8; 32] {
        self.signing.expose_secret()
    }

    /// The web UI's key for the CSRF tokens of its forms (HMAC-SHA256 of the session).
    pub fn ui_forms_key(&self) -> &[u8; 32] {
        self.ui_forms.expose_secret()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> SecretKeys {
        SecretKeys::from_base64(&SecretKeys::generate_base64()).expect("generated key parses")
    }

    #[test]
    fn sealed_secret_opens_only_under_its_name_and_key() {
        let keys = keys();
        let sealed = keys.seal("password", &SecretString::from("hunter2"));
        assert!(!sealed.contains("hunter2"));
        let opened = keys.open("password", &sealed).expect("opens");
        assert_eq!(opened.expose_secret(), "hunter2");
        assert!(keys.open("token", &sealed).is_err());
        assert!(self::keys().open("password", &sealed).is_err());
    }

    #[test]
    fn sealing_twice_gives_different_ciphertexts() {
        let keys = keys();
        let value = SecretString::from("same");
        assert_ne!(keys.seal("a", &value), keys.seal("a", &value));
    }

    #[test]
    fn malformed_keys_are_refused() {
        assert!(SecretKeys::from_base64("not base64!").is_err());
        assert!(SecretKeys::from_base64("c2hvcnQ=").is_err());
    }
}
