//! Connector secrets at rest: sealed with XChaCha20-Poly1305 under the server's secret key and
//! bound to their connector, so a database dump reveals none of them and a sealed value copied
//! onto another connector does not open. The API never returns a secret, only its hint.

use anyhow::Context;
use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use chacha20poly1305::{
    XChaCha20Poly1305, XNonce,
    aead::{Aead, AeadCore, KeyInit, OsRng, Payload},
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Seals and opens connector secrets. Cheap to clone.
#[derive(Clone)]
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
}

impl SecretBox {
    /// A box keyed by the configured secret key. Any long random text will do: it is hashed to
    /// the cipher's 256-bit key.
    pub fn new(secret_key: &str) -> Self {
        let key = Sha256::digest(secret_key.as_bytes());
        SecretBox {
            cipher: XChaCha20Poly1305::new(&key),
        }
    }

    /// `base64(nonce ‖ ciphertext)`, bound to `connector`.
    pub fn seal(&self, connector: Uuid, secret: &str) -> anyhow::Result<String> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: secret.as_bytes(),
                    aad: connector.as_bytes(),
                },
            )
            .map_err(|_| anyhow::anyhow!("sealing a connector secret failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(BASE64.encode(out))
    }

    /// The secret `seal` was given for `connector`; an error when the key changed or the value
    /// was tampered with or moved.
    pub fn open(&self, connector: Uuid, sealed: &str) -> anyhow::Result<String> {
        let bytes = BASE64
            .decode(sealed)
            .context("a sealed secret is not base64")?;
        const NONCE: usize = 24;
        anyhow::ensure!(bytes.len() > NONCE, "a sealed secret is too short");
        let (nonce, ciphertext) = bytes.split_at(NONCE);
        let nonce: [u8; NONCE] = nonce
            .try_into()
            .context("a sealed secret's nonce is cut short")?;
        let plain = self
            .cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: connector.as_bytes(),
                },
            )
            .map_err(|_| {
                anyhow::anyhow!("a connector secret does not open: was the secret key changed?")
            })?;
        String::from_utf8(plain).context("a connector secret is not UTF-8")
    }
}

/// What the API shows of a secret: its provider prefix (`whsec_`) and last four characters,
/// enough to tell two secrets apart and too little to use.
pub fn hint(secret: &str) -> String {
    let prefix = secret
        .split_once('_')
        .filter(|(prefix, _)| {
            prefix.len() <= 8 && prefix.chars().all(|c| c.is_ascii_alphanumeric())
        })
        .map(|(prefix, _)| format!("{prefix}_"))
        .unwrap_or_default();
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() < 12 {
        return format!("{prefix}…");
    }
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{prefix}…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_for_its_connector_and_key() {
        let boxed = SecretBox::new("server key");
        let connector = Uuid::now_v7();
        let sealed = boxed.seal(connector, "whsec_abc123").unwrap();
        assert!(!sealed.contains("abc123"));
        assert_eq!(boxed.open(connector, &sealed).unwrap(), "whsec_abc123");
        assert!(boxed.open(Uuid::now_v7(), &sealed).is_err());
        assert!(
            SecretBox::new("other key")
                .open(connector, &sealed)
                .is_err()
        );
    }

    #[test]
    fn hints_show_the_prefix_and_the_last_four_characters_only() {
        assert_eq!(hint("whsec_0123456789abcdef"), "whsec_…cdef");
        assert_eq!(hint("0123456789abcdef"), "…cdef");
        assert_eq!(hint("short"), "…");
    }
}
