//! TOTP secrets at rest: ChaCha20-Poly1305 under `MFA_ENCRYPTION_KEY`, bound to the user id.
//!
//! A sealed secret is `v1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>`: the key id (the
//! first 8 hex digits of the key's SHA-256) picks the key among the current one and
//! `MFA_PREVIOUS_ENCRYPTION_KEYS`, so keys can be rotated without a flag day; the user id is
//! the associated data, so a row copied onto another user does not decrypt.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;
use uuid::Uuid;

use super::settings::{KeyBytes, MfaSettings};

/// Why a sealed secret could not be opened or made.
#[derive(Debug, thiserror::Error)]
pub enum CipherError {
    /// Not in the `v1.<id>.<data>` form.
    #[error("a stored TOTP secret is malformed")]
    Malformed,
    /// Sealed under a key that is neither `MFA_ENCRYPTION_KEY` nor a previous key.
    #[error(
        "a stored TOTP secret was encrypted with an unknown key (id {0}); is MFA_ENCRYPTION_KEY or MFA_PREVIOUS_ENCRYPTION_KEYS missing a key?"
    )]
    UnknownKey(String),
    /// The tag did not verify (a tampered row, or a row of another user).
    #[error("a stored TOTP secret failed authentication")]
    Tampered,
}

/// Seals and opens TOTP secrets.
pub struct SecretCipher {
    current: (String, ChaCha20Poly1305),
    previous: Vec<(String, ChaCha20Poly1305)>,
}

impl std::fmt::Debug for SecretCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretCipher")
            .field("current", &self.current.0)
            .finish_non_exhaustive()
    }
}

fn keyed(key: &KeyBytes) -> (String, ChaCha20Poly1305) {
    let mut id = passport_actix::sha256_hex(key.expose());
    id.truncate(8);
    (id, ChaCha20Poly1305::new(&Key::from(*key.expose())))
}

impl SecretCipher {
    /// The cipher of `settings`' keys.
    pub fn new(settings: &MfaSettings) -> Self {
        Self {
            current: keyed(settings.key.bytes()),
            previous: settings.previous.iter().map(keyed).collect(),
        }
    }

    /// Encrypts `secret` for `user_id` under the current key.
    ///
    /// # Errors
    ///
    /// Never in practice (the AEAD refuses only absurd lengths).
    pub fn seal(&self, user_id: Uuid, secret: &[u8]) -> Result<String, CipherError> {
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let (id, cipher) = &self.current;
        let sealed = cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: secret,
                    aad: user_id.as_bytes(),
                },
            )
            .map_err(|_| CipherError::Tampered)?;
        let mut data = nonce.to_vec();
        data.extend_from_slice(&sealed);
        Ok(format!("v1.{id}.{}", URL_SAFE_NO_PAD.encode(data)))
    }

    /// Decrypts a sealed secret of `user_id`, with whichever configured key sealed it.
    ///
    /// # Errors
    ///
    /// [`CipherError`]: malformed, unknown key, or failed authentication.
    pub fn open(&self, user_id: Uuid, sealed: &str) -> Result<Vec<u8>, CipherError> {
        let mut parts = sealed.splitn(3, '.');
        let (Some("v1"), Some(id), Some(data)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(CipherError::Malformed);
        };
        let data = URL_SAFE_NO_PAD
            .decode(data)
            .map_err(|_| CipherError::Malformed)?;
        if data.len() < 12 {
            return Err(CipherError::Malformed);
        }
        let cipher = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|(key_id, _)| key_id == id)
            .map(|(_, cipher)| cipher)
            .ok_or_else(|| CipherError::UnknownKey(id.to_owned()))?;
        let (nonce, ciphertext) = data.split_at(12);
        let nonce = <[u8; 12]>::try_from(nonce).map_err(|_| CipherError::Malformed)?;
        cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: user_id.as_bytes(),
                },
            )
            .map_err(|_| CipherError::Tampered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mfa::MfaKey;

    fn settings(byte: u8) -> MfaSettings {
        let key = MfaSettings::from_lookup(&|name: &str| {
            (name == "MFA_ENCRYPTION_KEY")
                .then(|| "ab".repeat(16) + &format!("{byte:02x}").repeat(16))
        })
        .unwrap();
        assert!(matches!(key.key, MfaKey::Configured(_)));
        key
    }

    #[test]
    fn a_sealed_secret_opens_for_its_user_only_and_never_shows_the_secret() {
        let cipher = SecretCipher::new(&settings(1));
        let (ada, bob) = (Uuid::new_v4(), Uuid::new_v4());
        let sealed = cipher.seal(ada, b"12345678901234567890").unwrap();
        assert!(!sealed.contains("12345678901234567890"));
        assert_eq!(cipher.open(ada, &sealed).unwrap(), b"12345678901234567890");
        assert!(matches!(
            cipher.open(bob, &sealed),
            Err(CipherError::Tampered)
        ));
        assert_ne!(
            sealed,
            cipher.seal(ada, b"12345678901234567890").unwrap(),
            "fresh nonce"
        );
    }

    #[test]
    fn a_rotated_key_still_opens_what_the_previous_key_sealed() {
        let old = settings(1);
        let sealed = SecretCipher::new(&old)
            .seal(Uuid::nil(), b"secret-bytes-16b")
            .unwrap();
        let mut new = settings(2);
        assert!(matches!(
            SecretCipher::new(&new).open(Uuid::nil(), &sealed),
            Err(CipherError::UnknownKey(_))
        ));
        new.previous.push(old.key.bytes().clone());
        assert_eq!(
            SecretCipher::new(&new).open(Uuid::nil(), &sealed).unwrap(),
            b"secret-bytes-16b"
        );
    }
}
