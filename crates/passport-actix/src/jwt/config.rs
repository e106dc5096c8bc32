//! One place for the key, algorithm, issuer, audience and lifetimes of tokens.

use std::fmt;
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use secrecy::{ExposeSecret, SecretSlice};

use crate::error::ConfigError;
use crate::jwt::issuer::TokenIssuer;
use crate::jwt::verifier::{DEFAULT_MAX_TOKEN_BYTES, JwtVerifier};

/// The shortest HMAC secret accepted, in bytes (RFC 7518 §3.2 for HS256).
pub const MIN_HMAC_SECRET_BYTES: usize = 32;

/// Token settings shared by the [`TokenIssuer`] and the [`JwtVerifier`], so that what is
/// signed is exactly what is accepted.
///
/// Defaults: HS256 only, lifetime 3600 s, leeway 30 s, tokens of at most 8 KiB.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use passport_actix::jwt::JwtConfig;
///
/// let config = JwtConfig::hmac(b"a secret of at least thirty-two bytes!", "my-issuer", "my-api")
///     .unwrap()
///     .ttl(Duration::from_secs(900));
/// let token = config.issuer().issue("user-1", ()).unwrap();
/// let claims = config.verifier().verify::<()>(&token.token).unwrap();
/// assert_eq!(claims.sub, "user-1");
/// assert_eq!(token.expires_in, 900);
///
/// assert!(JwtConfig::hmac(b"too short", "i", "a").is_err());
/// ```
#[derive(Clone)]
pub struct JwtConfig {
    secret: SecretSlice<u8>,
    algorithm: Algorithm,
    issuer: String,
    audience: String,
    ttl: Duration,
    leeway: Duration,
    max_token_bytes: usize,
}

impl fmt::Debug for JwtConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtConfig")
            .field("secret", &"[redacted]")
            .field("algorithm", &self.algorithm)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("ttl", &self.ttl)
            .field("leeway", &self.leeway)
            .finish()
    }
}

impl JwtConfig {
    /// HS256 with `secret` (at least 32 bytes), issuing and accepting only `issuer`/`audience`.
    pub fn hmac(
        secret: impl AsRef<[u8]>,
        issuer: impl Into<String>,
        audience: impl Into<String>,
    ) -> Result<Self, ConfigError> {
        let secret = secret.as_ref();
        if secret.len() < MIN_HMAC_SECRET_BYTES {
            return Err(ConfigError::WeakKey {
                min: MIN_HMAC_SECRET_BYTES,
                actual: secret.len(),
            });
        }
        Ok(Self {
            secret: SecretSlice::from(secret.to_vec()),
            algorithm: Algorithm::HS256,
            issuer: issuer.into(),
            audience: audience.into(),
            ttl: Duration::from_secs(3600),
            leeway: Duration::from_secs(30),
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
        })
    }

    /// Uses another HMAC algorithm (HS384 needs a 48-byte secret, HS512 a 64-byte one).
    /// It becomes the only algorithm accepted.
    pub fn algorithm(mut self, algorithm: Algorithm) -> Result<Self, ConfigError> {
        let min = match algorithm {
            Algorithm::HS256 => 32,
            Algorithm::HS384 => 48,
            Algorithm::HS512 => 64,
            other => {
                return Err(ConfigError::Algorithms(format!(
                    "{other:?} needs an asymmetric key; only HS256, HS384 and HS512 are supported"
                )));
            }
        };
        let actual = self.secret.expose_secret().len();
        if actual < min {
            return Err(ConfigError::WeakKey { min, actual });
        }
        self.algorithm = algorithm;
        Ok(self)
    }

    /// Sets how long issued tokens live (`exp - iat`).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Sets the clock-skew leeway for `exp`, `nbf` and `iat`.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Sets the largest token accepted, in bytes; larger ones are refused before any parsing.
    pub fn max_token_bytes(mut self, bytes: usize) -> Self {
        self.max_token_bytes = bytes;
        self
    }

    /// The lifetime of issued tokens.
    pub fn token_ttl(&self) -> Duration {
        self.ttl
    }

    /// A signer for these settings.
    pub fn issuer(&self) -> TokenIssuer {
        TokenIssuer::new(
            EncodingKey::from_secret(self.secret.expose_secret()),
            self.algorithm,
            self.issuer.clone(),
            self.audience.clone(),
            self.ttl,
        )
    }

    /// A verifier for these settings.
    pub fn verifier(&self) -> JwtVerifier {
        JwtVerifier::new(
            DecodingKey::from_secret(self.secret.expose_secret()),
            self.algorithm,
            &self.issuer,
            &self.audience,
            self.leeway,
            self.max_token_bytes,
        )
    }
}
