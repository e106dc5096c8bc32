//! `MFA_ENCRYPTION_KEY`, `MFA_PREVIOUS_ENCRYPTION_KEYS`, `MFA_ISSUER`.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretBox};

use crate::configuration::env::ConfigError;

/// A 256-bit key that encrypts TOTP secrets.
pub struct KeyBytes(SecretBox<[u8; 32]>);

impl KeyBytes {
    /// The key's bytes.
    pub fn expose(&self) -> &[u8; 32] {
        self.0.expose_secret()
    }
}

impl Clone for KeyBytes {
    fn clone(&self) -> Self {
        Self(SecretBox::new(Box::new(*self.0.expose_secret())))
    }
}

impl fmt::Debug for KeyBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyBytes([redacted])")
    }
}

/// The current key: configured, derived from the token signing material, or random for this
/// process.
#[derive(Debug, Clone)]
pub enum MfaKey {
    /// From `MFA_ENCRYPTION_KEY`.
    Configured(KeyBytes),
    /// `MFA_ENCRYPTION_KEY` unset: derived from the configured `JWT_SECRET` or the private
    /// signing key's file (see [`MfaSettings::derive_key_from`]), so it survives restarts and
    /// every instance with the same signing material has it.
    Derived(KeyBytes),
    /// Random, for this process only (`MFA_ENCRYPTION_KEY` unset and nothing to derive from:
    /// development with a random `JWT_SECRET`).
    Ephemeral(KeyBytes),
}

impl MfaKey {
    /// The key's bytes.
    pub fn bytes(&self) -> &KeyBytes {
        match self {
            Self::Configured(key) | Self::Derived(key) | Self::Ephemeral(key) => key,
        }
    }
}

/// The second factor's settings.
#[derive(Debug, Clone)]
pub struct MfaSettings {
    /// `MFA_ENCRYPTION_KEY`: 32 bytes, base64 (standard or URL-safe) or 64 hex digits.
    pub key: MfaKey,
    /// `MFA_PREVIOUS_ENCRYPTION_KEYS`: earlier keys (comma-separated), still decrypting
    /// secrets sealed before a rotation.
    pub previous: Vec<KeyBytes>,
    /// `MFA_ISSUER`: the name authenticator apps show (default `passport-server`).
    pub issuer: String,
}

impl Default for MfaSettings {
    fn default() -> Self {
        Self {
            key: MfaKey::Ephemeral(random_key()),
            previous: Vec::new(),
            issuer: "passport-server".to_owned(),
        }
    }
}

impl MfaSettings {
    /// Reads the variables through `get`.
    ///
    /// # Errors
    ///
    /// A key that is not 32 bytes in base64 or hex (the value is never echoed), or an issuer
    /// with a `:` (it separates issuer and account in an `otpauth://` label).
    pub fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut settings = Self::default();
        if let Some(key) = get("MFA_ENCRYPTION_KEY").filter(|k| !k.trim().is_empty()) {
            settings.key = MfaKey::Configured(parse_key("MFA_ENCRYPTION_KEY", &key)?);
        }
        if let Some(keys) = get("MFA_PREVIOUS_ENCRYPTION_KEYS") {
            settings.previous = keys
                .split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(|k| parse_key("MFA_PREVIOUS_ENCRYPTION_KEYS", k))
                .collect::<Result<_, _>>()?;
        }
        if let Some(issuer) = get("MFA_ISSUER") {
            let issuer = issuer.trim().to_owned();
            if issuer.is_empty() || issuer.contains(':') || issuer.len() > 64 {
                return Err(ConfigError::Invalid {
                    name: "MFA_ISSUER",
                    value: issuer,
                    expected: "1 to 64 characters without ':'",
                });
            }
            settings.issuer = issuer;
        }
        Ok(settings)
    }

    /// Without `MFA_ENCRYPTION_KEY`: the key becomes SHA-256 of a fixed label and `material`
    /// (the configured `JWT_SECRET`, or the private signing key's PEM), a secret of at least
    /// 256 bits that every instance shares and a restart keeps. Nothing changes when a key is
    /// configured or `material` is empty. Rotating that material then needs its old derived
    /// key kept: set `MFA_ENCRYPTION_KEY` instead before rotating (README "Two-factor").
    pub fn derive_key_from(&mut self, material: &[u8]) {
        use sha2::{Digest, Sha256};
        if !matches!(self.key, MfaKey::Ephemeral(_)) || material.is_empty() {
            return;
        }
        let mut digest = Sha256::new();
        digest.update(b"passport-server MFA_ENCRYPTION_KEY v1\0");
        digest.update(material);
        let bytes: [u8; 32] = digest.finalize().into();
        self.key = MfaKey::Derived(KeyBytes(SecretBox::new(Box::new(bytes))));
    }

    /// The production rule: a key that outlives the process (configured or derived).
    pub fn problems(&self, production: bool) -> Option<String> {
        (production && matches!(self.key, MfaKey::Ephemeral(_))).then(|| {
            "MFA_ENCRYPTION_KEY must be set when APP_ENV=production and there is no JWT_SECRET or \
             private key to derive one from (TOTP secrets are encrypted \
             with it); generate one with: openssl rand -base64 32"
                .to_owned()
        })
    }
}

fn parse_key(name: &'static str, value: &str) -> Result<KeyBytes, ConfigError> {
    let value = value.trim();
    let decoded = if value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()) {
        (0..32)
            .map(|i| u8::from_str_radix(&value[2 * i..2 * i + 2], 16).ok())
            .collect::<Option<Vec<u8>>>()
    } else {
        STANDARD
            .decode(value)
            .or_else(|_| URL_SAFE_NO_PAD.decode(value.trim_end_matches('=')))
            .ok()
    };
    match decoded.and_then(|bytes| <[u8; 32]>::try_from(bytes).ok()) {
        Some(bytes) => Ok(KeyBytes(SecretBox::new(Box::new(bytes)))),
        None => Err(ConfigError::Key {
            name,
            message: "must be 32 bytes, as base64 (openssl rand -base64 32) or 64 hex digits"
                .to_owned(),
        }),
    }
}

fn random_key() -> KeyBytes {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    KeyBytes(SecretBox::new(Box::new(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<MfaSettings, ConfigError> {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        MfaSettings::from_lookup(&|name: &str| map.get(name).cloned())
    }

    #[test]
    fn keys_parse_from_base64_or_hex_and_are_never_echoed() {
        let b64 = STANDARD.encode([7u8; 32]);
        let s = read(&[("MFA_ENCRYPTION_KEY", &b64)]).unwrap();
        assert_eq!(s.key.bytes().expose(), &[7u8; 32]);
        let hex = "07".repeat(32);
        let s = read(&[
            ("MFA_ENCRYPTION_KEY", &hex),
            ("MFA_PREVIOUS_ENCRYPTION_KEYS", &b64),
        ])
        .unwrap();
        assert_eq!(s.key.bytes().expose(), &[7u8; 32]);
        assert_eq!(s.previous.len(), 1);
        let error = read(&[("MFA_ENCRYPTION_KEY", "c2hvcnQtc2VjcmV0")])
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("MFA_ENCRYPTION_KEY") && !error.contains("c2hvcnQ"),
            "{error}"
        );
    }

    #[test]
    fn production_requires_a_key() {
        let s = read(&[]).unwrap();
        assert!(s.problems(true).is_some());
        assert!(s.problems(false).is_none());
        let s = read(&[("MFA_ENCRYPTION_KEY", &STANDARD.encode([1u8; 32]))]).unwrap();
        assert!(s.problems(true).is_none());
    }

    #[test]
    fn without_a_key_one_is_derived_from_the_signing_material_and_a_set_key_wins() {
        let derive = |material: &[u8]| {
            let mut s = read(&[]).unwrap();
            s.derive_key_from(material);
            s
        };
        let (a, b) = (derive(b"a JWT secret"), derive(b"a JWT secret"));
        assert!(matches!(a.key, MfaKey::Derived(_)));
        assert!(
            a.problems(true).is_none(),
            "production starts with a derived key"
        );
        let bytes = |s: &MfaSettings| *s.key.bytes().0.expose_secret();
        assert_eq!(
            bytes(&a),
            bytes(&b),
            "every instance and restart derives the same key"
        );
        assert_ne!(bytes(&a), bytes(&derive(b"another secret")));
        assert!(
            matches!(derive(b"").key, MfaKey::Ephemeral(_)),
            "nothing to derive from"
        );
        let mut set = read(&[("MFA_ENCRYPTION_KEY", &STANDARD.encode([1u8; 32]))]).unwrap();
        set.derive_key_from(b"a JWT secret");
        assert_eq!(bytes(&set), [1u8; 32], "a configured key is never replaced");
    }
}
